"""LocalAgreement: partial text only grows, by the words two decodes agree on."""

from __future__ import annotations

from vocalis.live.stability import LocalAgreement


def test_words_become_stable_when_two_decodes_agree() -> None:
    agreement = LocalAgreement()
    assert agreement.update("And so my") == []
    assert agreement.update("And so my fellow") == ["And", "so", "my"]
    assert agreement.update("and so, my fellow Americans") == ["fellow"]
    assert agreement.text == "And so my fellow"


def test_stable_words_are_never_taken_back() -> None:
    agreement = LocalAgreement()
    agreement.update("ask not what")
    agreement.update("ask not what your")
    assert agreement.update("as naught watt your") == []
    assert agreement.update("as naught watt your country") == []
    assert agreement.text == "ask not what"


def test_reset_starts_a_new_utterance() -> None:
    agreement = LocalAgreement()
    agreement.update("hello world")
    agreement.update("hello world")
    agreement.reset()
    assert agreement.text == ""
    assert agreement.update("turn on") == []
