"""Ray Serve against the plain server, on this machine: what Serve's proxy adds to a request,
what a second replica buys, and what replicas cost in memory.

  overhead    p50 of a 3-s command (whisper-tiny.en) and of GET /health, through Serve's
              HTTP proxy (`vocalis ray-serve`) and straight to `vocalis serve`, interleaved
              in one run;
  throughput  a bounded batch of 3-s commands sent 4 at a time: the plain server (all
              cores), Serve with 1 replica of 2 CPUs, and with 2 replicas of 1 CPU each.
              The same two cores in each: on one machine a second replica only splits them;
              on real nodes each replica brings its own;
  memory      proportional set size (PSS) of the replicas and of Ray's own processes
              (controller, proxy, GCS, raylet, agents), before a model is loaded and after.
About 3 minutes on 2 cores. Run with `make bench` (or `python benchmarks/ray_serve.py`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.conftest import EVAL_DIR, start_server, stop_server  # noqa: E402
from tests.deploy.ray_support import (  # noqa: E402
    RayServe,
    descendants,
    pss_mib,
    start_ray_serve,
    stop_ray_serve,
)

MODEL = "whisper-tiny.en"
COMMAND = (EVAL_DIR / "turn_on_the_living_room_lamp.wav").read_bytes()
# Loaded on first use, so that the memory before any model can be measured.
SETTINGS = {"VOCALIS_DEFAULT_STT_MODEL": MODEL, "VOCALIS_PRELOAD": "false"}


def transcribe(client: httpx.Client) -> float:
    started = time.perf_counter()
    response = client.post(
        "/v1/audio/transcriptions", files={"file": ("c.wav", COMMAND)}, data={"model": MODEL}
    )
    response.raise_for_status()
    return time.perf_counter() - started


def health(client: httpx.Client) -> float:
    started = time.perf_counter()
    client.get("/health").raise_for_status()
    return time.perf_counter() - started


def throughput(url: str, requests: int, concurrency: int) -> float:
    """Requests a second for `requests` commands, `concurrency` at a time."""

    def one(_: int) -> float:
        with httpx.Client(base_url=url, timeout=300) as client:
            return transcribe(client)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency * 2)))  # every replica warm
        started = time.perf_counter()
        list(pool.map(one, range(requests)))
    return requests / (time.perf_counter() - started)


def memory(serve: RayServe) -> tuple[float, float]:
    """PSS of the replicas, and of every other process the command started (itself too)."""
    replicas = serve.replica_pids()
    others = descendants(serve.process.pid) - replicas | {serve.process.pid}
    return sum(map(pss_mib, replicas)), sum(map(pss_mib, others))


def p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="overhead: requests per path")
    parser.add_argument("--requests", type=int, default=24, help="throughput: batch size")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vocalis-bench-ray-"))
    plain = start_server(tmp, **SETTINGS)
    try:
        rows = run(tmp, plain.url, args)
    finally:
        stop_server(plain)
    print("| what | figure |\n|---|---|")
    for what, figure in rows:
        print(f"| {what} | {figure} |")


def run(tmp: Path, plain_url: str, args: argparse.Namespace) -> list[tuple[str, str]]:
    # One replica of both CPUs decodes on as many threads as the plain server: the
    # difference between the two is Serve's.
    one = start_ray_serve(tmp, "--replicas", "1", "--num-cpus", "2", **SETTINGS)
    try:
        timings = overhead(one.url, plain_url, args.rounds)
        rates = {"1 replica of 2 CPUs": throughput(one.url, args.requests, args.concurrency)}
    finally:
        stop_ray_serve(one)
    two = start_ray_serve(tmp, "--replicas", "2", "--num-cpus", "1", **SETTINGS)
    try:
        before = memory(two)
        rates["2 replicas of 1 CPU"] = throughput(two.url, args.requests, args.concurrency)
        after = memory(two)
    finally:
        stop_ray_serve(two)
    rates["plain server"] = throughput(plain_url, args.requests, args.concurrency)
    serve, plain = p50(timings["serve"]), p50(timings["plain"])
    health_serve, health_plain = p50(timings["serve_health"]), p50(timings["plain_health"])
    rows = [
        ("3-s command, p50: Serve (1 replica, 2 CPUs) / plain", f"{serve:.0f} / {plain:.0f} ms"),
        ("Serve's proxy adds to the command", f"{serve - plain:+.1f} ms"),
        ("GET /health, p50: Serve / plain", f"{health_serve:.1f} / {health_plain:.1f} ms"),
        ("Serve's proxy adds to /health", f"{health_serve - health_plain:+.1f} ms"),
        (
            "cluster start to serving: 1 / 2 replicas",
            f"{one.started_in:.1f} / {two.started_in:.1f} s",
        ),
    ]
    for label, rate in rates.items():
        rows.append((f"throughput, {args.concurrency} at a time: {label}", f"{rate:.2f} req/s"))
    rows += [
        ("PSS, 2 replicas: no model / warm", f"{before[0]:.0f} / {after[0]:.0f} MiB"),
        ("PSS, Ray's own processes: no model / warm", f"{before[1]:.0f} / {after[1]:.0f} MiB"),
    ]
    return rows


def overhead(serve_url: str, plain_url: str, rounds: int) -> dict[str, list[float]]:
    """The same requests to both, interleaved, after a warm-up that loads the model."""
    timings: dict[str, list[float]] = {
        k: [] for k in ("serve", "plain", "serve_health", "plain_health")
    }
    with (
        httpx.Client(base_url=serve_url, timeout=120) as served,
        httpx.Client(base_url=plain_url, timeout=120) as local,
    ):
        for client in (served, local):
            transcribe(client)
        for _ in range(rounds):
            timings["serve"].append(transcribe(served))
            timings["plain"].append(transcribe(local))
        for _ in range(rounds * 4):
            timings["serve_health"].append(health(served))
            timings["plain_health"].append(health(local))
    return timings


if __name__ == "__main__":
    main()
