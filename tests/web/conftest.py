"""A real browser for the page's tests: Debian's Chromium driven by Playwright.

Playwright's own browser download needs the internet, so the tests launch the system's
`chromium` (scripts/system-packages.sh installs it). Its fake capture device plays a
recording of known words into the page's microphone. Screenshots of every panel, at desktop
and phone widths, are kept in build/screenshots/ (VOCALIS_SCREENSHOTS to put them elsewhere).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests import recordings
from tests.conftest import EVAL_DIR, ROOT

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PANELS = ("speak", "transcribe", "microphone", "status")


def screenshots_dir() -> Path:
    folder = Path(os.environ.get("VOCALIS_SCREENSHOTS", ROOT / "build" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def microphone_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, float]:
    """What the fake microphone says: each public clip once, and its transcript."""
    wav, reference, seconds = recordings.short(EVAL_DIR)
    path = tmp_path_factory.mktemp("microphone") / "speech.wav"
    path.write_bytes(wav)
    return path, reference, seconds


# Package scope: Playwright's sync API runs an event loop in this thread while it is open,
# and the tests after these ones call asyncio.run().
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(
    playwright: Playwright, microphone_recording: tuple[Path, str, float]
) -> Iterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail(
            "The page's tests need Chromium: `make test` installs it as root on Debian "
            "(apt-get install chromium); elsewhere install Chromium and put it on PATH."
        )
    path, _, _ = microphone_recording
    launched = playwright.chromium.launch(
        executable_path=chromium,
        args=[
            "--use-fake-ui-for-media-stream",  # allow the microphone without asking
            "--use-fake-device-for-media-stream",
            # %noloop: the recording plays once, then the device is silent.
            f"--use-file-for-fake-audio-capture={path}%noloop",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield launched
    launched.close()


def open_page(browser: Browser, url: str, viewport: dict[str, int] = DESKTOP) -> Page:
    """A fresh profile (nothing in its storage) at the page, every script loaded."""
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
    page.goto(url + "/")
    page.wait_for_function("document.getElementById('voice').options.length > 0")
    return page


def shoot(page: Page, name: str) -> list[Path]:
    """Each panel on its own, at the page's width and then at a phone's."""
    taken = []
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        for panel in PANELS:
            target = screenshots_dir() / f"{name}-{panel}-{width}.png"
            page.locator(f"#{panel}").screenshot(path=target)
            taken.append(target)
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    return taken
