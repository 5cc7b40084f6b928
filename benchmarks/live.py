"""Live transcription over `/ws/stt` at real-time pace, side by side with the file endpoint.

On a live Vocalis server (whisper-base, preloaded), with the public clips separated by
1.5 s of silence and sent in 20-ms frames at real-time pace:
  end of speech -> final   from the last speech sample (Silero VAD on the clip) being sent to
                           its transcript arriving; the default 500-ms silence rule;
  partials                 the gaps between partial results while someone speaks;
  4 streams                four such streams at once: finals p95 and the worst lag;
  flush                    2-4 s commands ended by an explicit flush: flush -> transcript,
                           against POST /v1/audio/transcriptions of the same clip;
  wer                      the finals against the references, next to the file endpoint.
Each configuration runs on a fresh server: the default, and partials on whisper-tiny.en.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import EVAL_DIR, LiveServer, start_server, stop_server, wer  # noqa: E402
from tests.live_client import RATE, LiveStream  # noqa: E402
from tests.recordings import _clips, wav_bytes  # noqa: E402
from vocalis.audio.vad import speech_spans  # noqa: E402

GAP = 1.5
ROUNDS = 3
COMMANDS = ("lamp", "light", "hello")


def clips() -> dict[str, tuple[np.ndarray, str]]:
    loaded = _clips(EVAL_DIR)
    names = ("jfk", "complaint", "lamp", "answer", "light", "jfk2", "hello")
    named = dict(zip(names, loaded, strict=True))
    named["horizon"] = named.pop("answer")
    return {k: v for k, v in named.items() if not k.startswith("jfk")}


def programme(named: dict[str, tuple[np.ndarray, str]]) -> tuple[np.ndarray, list[float], str]:
    """The stream: every clip ROUNDS times with gaps; each clip's last speech sample time."""
    parts, ends, texts, at = [np.zeros(RATE // 2, np.float32)], [], [], 0.5
    for _ in range(ROUNDS):
        for samples, text in named.values():
            spans = speech_spans(samples)
            ends.append(at + spans[-1][1] / RATE)
            parts += [samples, np.zeros(int(GAP * RATE), np.float32)]
            texts.append(text)
            at += len(samples) / RATE + GAP
    return np.concatenate(parts), ends, " ".join(texts)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one_stream(url: str, audio: np.ndarray, ends: list[float]) -> dict[str, Any]:
    with LiveStream.open(url, language="en") as live:
        live.send_audio(audio, pace=1.0)
        live.finish(timeout=60)
    finals = live.of_type("transcript")
    latencies = [f.at - (live.started_at + end) for f, end in zip(finals, ends, strict=False)]
    partial_times = [r.at for r in live.of_type("partial")]
    gaps: list[float] = []
    previous = 0.0
    for final in finals:  # the partials of each utterance: after the final before it
        inside = [t for t in partial_times if previous < t <= final.at]
        gaps += [b - a for a, b in itertools.pairwise(inside)]
        previous = final.at
    return {
        "finals": len(finals),
        "latencies": latencies,
        "gaps": gaps,
        "partials": len(partial_times),
        "text": " ".join(f.frame["text"] for f in finals),
        "send_lag": live.sent_until - live.started_at - len(audio) / RATE,
    }


def flush_commands(server: LiveServer, named: dict[str, tuple[np.ndarray, str]]) -> dict[str, Any]:
    live_times, file_times = [], []
    with server.client() as http:
        for _ in range(ROUNDS):
            for name in COMMANDS:
                spans = speech_spans(named[name][0])  # the flush right after the last word
                samples = named[name][0][: spans[-1][1]]
                with LiveStream.open(server.url, language="en") as live:
                    live.send_audio(samples, pace=1.0)
                    flushed = time.monotonic()
                    live.send({"type": "flush"})
                    arrived = live.wait_for("transcript", timeout=30)[0].at
                    live.finish()
                live_times.append(arrived - flushed)
                start = time.monotonic()
                http.post(
                    "/v1/audio/transcriptions",
                    files={"file": ("c.wav", wav_bytes(samples))},
                    data={"language": "en"},
                ).raise_for_status()
                file_times.append(time.monotonic() - start)
    return {"live": live_times, "file": file_times}


def file_wer(server: LiveServer, audio: np.ndarray, reference: str) -> float:
    with server.client() as http:
        response = http.post(
            "/v1/audio/transcriptions", files={"file": ("a.wav", wav_bytes(audio))}
        )
    return wer(reference, response.json()["text"])


def run(label: str, env: dict[str, str]) -> None:
    named = clips()
    audio, ends, reference = programme(named)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), VOCALIS_PRELOAD="true", **env)
        try:
            warm_up(server, named)
            single = one_stream(server.url, audio, ends)
            with ThreadPoolExecutor(4) as pool:
                many = list(pool.map(lambda _: one_stream(server.url, audio, ends), range(4)))
            flush = flush_commands(server, named)
            by_file = file_wer(server, audio, reference)
        finally:
            stop_server(server)
    lat = single["latencies"]
    all_lat = [x for m in many for x in m["latencies"]]
    print(f"-- {label}: {len(ends)} utterances, {len(audio) / RATE:.0f} s per stream")
    print(
        f"end of speech -> final (1 stream): p50 {percentile(lat, 0.5):.2f} s, "
        f"p95 {percentile(lat, 0.95):.2f} s, max {max(lat):.2f} s; finals {single['finals']}"
    )
    gaps = single["gaps"]
    if gaps:
        print(
            f"partials: {single['partials']}, gap median {statistics.median(gaps):.2f} s, "
            f"p95 {percentile(gaps, 0.95):.2f} s"
        )
    print(
        f"4 streams: finals p50 {percentile(all_lat, 0.5):.2f} s, p95 "
        f"{percentile(all_lat, 0.95):.2f} s, worst {max(all_lat):.2f} s; "
        f"finals {[m['finals'] for m in many]}; send lag max "
        f"{max(m['send_lag'] for m in many):.2f} s"
    )
    print(
        f"flush -> final ({', '.join(COMMANDS)}): p50 {percentile(flush['live'], 0.5):.2f} s, "
        f"p95 {percentile(flush['live'], 0.95):.2f} s; the same clip as a file: p50 "
        f"{percentile(flush['file'], 0.5):.2f} s"
    )
    print(f"wer: live {wer(reference, single['text']) * 100:.1f}%, file {by_file * 100:.1f}%")


def warm_up(server: LiveServer, named: dict[str, tuple[np.ndarray, str]]) -> None:
    """One utterance first, so model workers are warm before anything is timed."""
    with LiveStream.open(server.url, language="en") as live:
        live.send_audio(named["lamp"][0], pace=0)
        live.finish(timeout=60)


if __name__ == "__main__":
    print("model whisper-base, int8; real-time pace, 20-ms frames, 500-ms silence rule")
    run("default", {})
    run("partials on whisper-tiny.en", {"VOCALIS_LIVE_PARTIAL_MODEL": "whisper-tiny.en"})
