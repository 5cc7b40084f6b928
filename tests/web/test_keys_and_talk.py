"""The page against a server with API keys and an LLM: it says a key is needed, works once
it is given one (the key kept in the browser's storage), and talks back through the LLM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.chat.fake_llm import FakeLLM, running
from tests.conftest import (
    EVAL_DIR,
    LiveServer,
    normalise,
    references,
    start_server,
    stop_server,
    wer,
)
from tests.web.conftest import open_page

KEY = "page-test-key-7d1c"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, FakeLLM]]:
    with running() as llm:
        server = start_server(
            tmp_path_factory.mktemp("keyed"),
            VOCALIS_API_KEYS=KEY,
            VOCALIS_LLM_URL=llm.url,
            VOCALIS_LLM_MODEL="fake-model",
            VOCALIS_LLM_API_KEY="llm-secret-value",
            VOCALIS_PRELOAD="true",
        )
        try:
            yield server, llm
        finally:
            stop_server(server)


@pytest.fixture(scope="module")
def page(browser: Browser, keyed: tuple[LiveServer, FakeLLM]) -> Iterator[Page]:
    page = open_page(browser, keyed[0].url)
    yield page
    page.context.close()


def notice(page: Page) -> str:
    alert = page.get_by_role("alert")
    return alert.inner_text() if alert.is_visible() else ""


def test_without_a_key_the_page_says_one_is_needed(page: Page) -> None:
    page.wait_for_function("document.getElementById('server-state').textContent === 'key needed'")
    assert "This server needs an API key" in notice(page)
    # The voice list is open to every client, so Speak's choices are there already.
    assert page.locator("#voice option").count() > 10


def test_a_wrong_key_is_refused_with_a_clear_message(page: Page) -> None:
    page.get_by_label("API key").fill("not-the-key")
    page.get_by_role("button", name="Save key").click()
    page.wait_for_function("document.getElementById('notice').textContent.includes('not accepted')")
    assert "Incorrect API key provided" in notice(page)


def test_with_the_key_the_page_works_and_keeps_it(
    page: Page, keyed: tuple[LiveServer, FakeLLM]
) -> None:
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Save key").click()
    page.wait_for_function("document.getElementById('server-state').textContent === 'ready'")
    assert notice(page) == ""
    page.reload()  # the key survives a reload: it is in the browser's storage
    page.wait_for_function("document.getElementById('server-state').textContent === 'ready'")
    assert page.get_by_label("API key").input_value() == KEY
    status = page.get_by_role("region", name="Status", exact=True)
    assert "required" in status.inner_text()

    clip = "jfk.wav"
    page.get_by_label("Audio file").set_input_files(EVAL_DIR / clip)
    page.get_by_role("button", name="Transcribe").click()
    transcript = page.get_by_role("region", name="Transcript", exact=True)
    transcript.locator(".text").first.wait_for()
    assert wer(references()[clip][1], transcript.inner_text()) <= 0.10


def test_the_settings_shown_hold_no_secret(page: Page) -> None:
    page.get_by_text("Effective settings").click()
    settings = page.locator("#settings-table").inner_text()
    assert "VOCALIS_API_KEYS" in settings
    assert "VOCALIS_LLM_API_KEY" in settings
    assert KEY not in settings
    assert "llm-secret-value" not in settings
    assert '"(set)"' in settings


def test_the_live_microphone_works_with_the_key_as_subprotocol(page: Page) -> None:
    page.get_by_role("button", name="Start microphone").click()
    page.wait_for_function(
        "document.getElementById('mic-result').textContent.startsWith('Listening')"
    )
    page.wait_for_function(
        "document.querySelectorAll('#live-transcript .final').length > 0", timeout=30_000
    )
    page.get_by_role("button", name="Stop microphone").click()
    page.wait_for_function(
        "document.getElementById('mic-result').textContent.startsWith('Stopped')", timeout=30_000
    )
    first = page.get_by_role("region", name="Live transcript").locator(".final").first.inner_text()
    assert wer("And so my fellow Americans", first) <= 0.25, first


def test_talk_sends_what_was_said_and_speaks_the_reply(
    page: Page, keyed: tuple[LiveServer, FakeLLM], microphone_recording: tuple[Path, str, float]
) -> None:
    _, llm = keyed
    page.get_by_role("link", name="Talk").click()
    button = page.get_by_role("button", name="Hold to talk")
    button.focus()
    page.keyboard.down("Space")
    page.wait_for_timeout(5000)
    page.keyboard.up("Space")
    conversation = page.get_by_role("region", name="Conversation")
    page.wait_for_function(
        f"document.getElementById('conversation').textContent.includes({llm.reply!r})",
        timeout=60_000,
    )
    said = conversation.locator("p").first.inner_text()
    assert said.startswith("You: ")
    assert llm.requests, "the LLM was never asked"
    heard = llm.requests[-1].user_text
    # Five seconds of the recording, from its start: "And so my fellow Americans, ask not..."
    assert normalise(heard).startswith("and so my fellow americans"), heard
    assert said == f"You: {heard}"
    assert "Error" not in conversation.inner_text()
    page.wait_for_function("document.getElementById('conversation').dataset.replySeconds")
    assert float(conversation.get_attribute("data-reply-seconds") or 0) > 1.0  # spoken back
