"""A conversation's messages: the system prompt, earlier turns, the bound on history."""

from __future__ import annotations

from vocalis.chat.conversation import Conversation


def test_ask_puts_the_system_prompt_first_and_the_question_last() -> None:
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert Conversation(" Be brief. ", history).ask("Why?") == [
        {"role": "system", "content": "Be brief."},
        *history,
        {"role": "user", "content": "Why?"},
    ]


def test_a_history_with_its_own_system_message_keeps_it_alone() -> None:
    history = [{"role": "system", "content": "Pirate voice."}]
    assert Conversation("Be brief.", history).ask("Hi")[0] == history[0]
    assert Conversation("", []).ask("Hi") == [{"role": "user", "content": "Hi"}]


def test_answered_turns_are_kept_and_the_oldest_forgotten() -> None:
    conversation = Conversation(max_messages=4)
    for n in range(3):
        conversation.answered(f"q{n}", f"a{n}")
    conversation.answered("q3", "  ")  # nothing was said: only the question stays
    assert [m["content"] for m in conversation.history] == ["q1", "a1", "q2", "a2", "q3"][-4:]
    conversation.reset()
    assert conversation.ask("x") == [{"role": "user", "content": "x"}]
