"""The page at / in a real browser, against the session's server: speak, transcribe a file,
the live microphone, and status, as a person would use them, one page through them all."""

from __future__ import annotations

import io
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pysrt
import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import EVAL_DIR, LiveServer, references, wer
from tests.web.conftest import DESKTOP, PANELS, PHONE, open_page, shoot

SPEECH = (
    "Good morning. The kettle is on, and the post has come early today. "
    "Shall we read the letters together after breakfast?"
)
KOKORO_VOICE = "af_heart"


@pytest.fixture(scope="module")
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    requested: list[str] = []
    page = open_page(browser, server.url)
    page.on("request", lambda request: requested.append(request.url))
    page.requested = requested  # type: ignore[attr-defined]
    yield page
    page.context.close()


def duration_of(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        frames = sum(frame.samples for frame in container.decode(audio=0))
        return frames / container.streams.audio[0].rate


def test_the_page_is_served_by_the_server_with_every_asset(page: Page, server: LiveServer) -> None:
    assert "Vocalis" in page.title()
    page.reload()
    page.wait_for_function("document.getElementById('voice').options.length > 0")
    assets = httpx.get(f"{server.url}/").text
    for name in ("style.css", "app.js", "icon.svg"):
        assert f"/web/{name}" in assets
    # Nothing from a CDN: every request the page made went to this server.
    assert page.requested, "the page made no requests"  # type: ignore[attr-defined]
    outside = [u for u in page.requested if not u.startswith(server.url)]  # type: ignore[attr-defined]
    assert outside == []
    assert page.errors == []  # type: ignore[attr-defined]


def test_voices_are_grouped_by_engine_and_language_and_searchable(page: Page) -> None:
    groups = page.eval_on_selector_all("#voice optgroup", "gs => gs.map(g => g.label)")
    assert "kokoro · American English" in groups
    assert any(label.startswith("piper · ") for label in groups)
    page.get_by_label("Search voices").fill("british")
    shown = page.eval_on_selector_all("#voice option", "os => os.map(o => o.value)")
    assert shown and all(v.startswith(("bf_", "bm_", "en_GB")) for v in shown)
    page.get_by_label("Search voices").fill("")


def test_speak_plays_a_kokoro_voice_as_it_streams(page: Page, server: LiveServer) -> None:
    speak = page.get_by_role("region", name="Speak")
    speak.get_by_label("Voice", exact=True).select_option(KOKORO_VOICE)
    assert speak.get_by_label("Model").input_value() == "kokoro"
    speak.get_by_label("Text to speak").fill(SPEECH)
    speak.get_by_role("button", name="Speak", exact=True).click()
    result = page.locator("#speak-result")
    page.wait_for_function("document.getElementById('speak-result').dataset.audioSeconds")
    played = result.evaluate("e => ({...e.dataset})")
    # The first sound was scheduled while the rest of the text was still arriving.
    assert int(played["firstAudioMs"]) < int(played["responseEndMs"])
    assert played["contextState"] == "running"
    body = {"model": "kokoro", "input": SPEECH, "voice": KOKORO_VOICE, "response_format": "pcm"}
    pcm = httpx.post(f"{server.url}/v1/audio/speech", json=body, timeout=120).content
    expected = len(pcm) / 2 / 24_000
    assert float(played["audioSeconds"]) == pytest.approx(expected, abs=0.05)
    assert "First audio after" in result.inner_text()

    speak.get_by_label("Download format").select_option("wav")
    with page.expect_download() as download:
        speak.get_by_role("button", name="Download").click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename == "speech.wav"
    assert duration_of(saved.read_bytes()) == pytest.approx(expected, abs=0.05)


def test_a_blend_of_two_kokoro_voices_is_spoken(page: Page) -> None:
    page.get_by_text("Blend two Kokoro voices").click()
    page.get_by_label("Second voice", exact=True).select_option("am_michael")
    page.get_by_label("Text to speak").fill("Two voices, one sentence.")
    page.evaluate("delete document.getElementById('speak-result').dataset.audioSeconds")
    with page.expect_request("**/v1/audio/speech") as sent:
        page.get_by_role("button", name="Speak", exact=True).click()
    assert sent.value.post_data_json["voice"] == f"{KOKORO_VOICE}(70)+am_michael(30)"
    page.wait_for_function("document.getElementById('speak-result').dataset.audioSeconds")
    assert float(page.locator("#speak-result").get_attribute("data-audio-seconds") or 0) > 0.5
    page.get_by_label("Second voice", exact=True).select_option("")


def test_transcribe_shows_the_text_with_timestamps_that_seek(page: Page) -> None:
    clip = "jfk.wav"
    page.get_by_label("Audio file").set_input_files(EVAL_DIR / clip)
    page.get_by_label("Word timestamps").check()
    page.get_by_role("button", name="Transcribe").click()
    transcript = page.get_by_role("region", name="Transcript", exact=True)
    transcript.locator(".text").first.wait_for()
    shown = " ".join(transcript.locator(".text").all_inner_texts())
    assert wer(references()[clip][1], shown) <= 0.05
    # A word's timestamp seeks the player there.
    country = transcript.locator(".word", has_text="country").last
    start = float(country.get_attribute("title").split(" ")[0].split(":")[1])  # type: ignore[union-attr]
    country.click()
    position = page.eval_on_selector("#transcribe-player", "p => p.currentTime")
    assert position == pytest.approx(start, abs=1.0)
    assert 7 < position < 11
    assert "Done: 00:11" in page.locator("#transcribe-progress").inner_text()

    panel = page.get_by_role("region", name="Transcribe a file")
    panel.get_by_label("Download format").select_option("srt")
    with page.expect_download() as download:
        panel.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "jfk.srt"
    cues = pysrt.open(download.value.path(), error_handling=pysrt.ERROR_RAISE)
    assert wer(references()[clip][1], " ".join(cue.text for cue in cues)) <= 0.05


def test_the_live_microphone_transcribes_what_it_hears(
    page: Page, microphone_recording: tuple[Path, str, float]
) -> None:
    _, reference, seconds = microphone_recording
    page.get_by_role("button", name="Start microphone").click()
    page.wait_for_function(
        "document.getElementById('mic-result').textContent.startsWith('Listening')"
    )
    time.sleep(seconds + 1.5)
    page.get_by_role("button", name="Stop microphone").click()
    page.wait_for_function(
        "document.getElementById('mic-result').textContent.startsWith('Stopped')", timeout=30_000
    )
    live = page.get_by_role("region", name="Live transcript")
    finals = " ".join(live.locator(".final").all_inner_texts())
    assert wer(reference, finals) <= 0.10, finals
    assert int(live.get_attribute("data-partials") or 0) > 0  # words showed while spoken
    assert float(page.locator("#mic-level").get_attribute("data-peak") or 0) > 0.3


def test_status_shows_the_models_loaded_and_recent_requests(page: Page, server: LiveServer) -> None:
    page.wait_for_timeout(2500)  # one refresh after the requests above
    status = page.get_by_role("region", name="Status", exact=True)
    text = status.inner_text()
    assert "whisper-base" in text
    assert "kokoro" in text
    rows = status.locator("tbody tr, table tr").all_inner_texts()
    assert any("transcribe" in row and "whisper-base" in row for row in rows)
    assert any("speech" in row and "kokoro" in row for row in rows)
    assert page.locator("#server-state").inner_text() == "ready"
    assert page.get_by_role("link", name="API docs").get_attribute("href") == "/docs"


def test_screenshots_of_each_panel_at_desktop_and_phone_width(page: Page) -> None:
    taken = shoot(page, "page")
    assert len(taken) == 2 * len(PANELS)
    for path in taken:
        width = struct.unpack(">I", path.read_bytes()[16:20])[0]  # the PNG's IHDR
        limit = PHONE["width"] if path.stem.endswith("-phone") else DESKTOP["width"]
        assert 200 < width <= limit
    assert page.errors == []  # type: ignore[attr-defined]


def test_every_control_has_an_accessible_name(page: Page) -> None:
    for role, name in [
        ("textbox", "Text to speak"),
        ("button", "Speak"),
        ("button", "Transcribe"),
        ("region", "Transcript"),
        ("button", "Start microphone"),
        ("button", "Stop microphone"),
        ("region", "Live transcript"),
        ("region", "Status"),
    ]:
        assert page.get_by_role(role, name=name, exact=True).count() == 1, (role, name)  # type: ignore[arg-type]
    assert page.get_by_label("Audio file").get_attribute("type") == "file"
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('button, input, select, textarea, meter')]
            .filter(e => !(e.getAttribute('aria-label')
                           || [...(e.labels || [])].map(l => l.textContent.trim()).join('')
                           || e.textContent.trim()))
            .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_colours_meet_wcag_aa_contrast(
    browser: Browser, server: LiveServer, scheme: str
) -> None:
    context = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    try:
        view = context.new_page()
        view.goto(server.url + "/")
        colours = view.evaluate(
            """() => Object.fromEntries(['--bg', '--panel', '--text', '--muted', '--accent',
                '--accent-text', '--bad', '--good', '--partial'].map(
                n => [n, getComputedStyle(document.documentElement).getPropertyValue(n).trim()]))"""
        )
    finally:
        context.close()
    for text in ("--text", "--muted", "--accent", "--bad", "--good", "--partial"):
        for ground in ("--bg", "--panel"):
            assert _contrast(colours[text], colours[ground]) >= 4.5, (scheme, text, ground)
    assert _contrast(colours["--accent-text"], colours["--accent"]) >= 4.5
