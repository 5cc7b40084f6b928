"""The turns of one conversation, as the chat-completions `messages` list.

An HTTP request brings its own earlier turns; a WebSocket connection keeps its own, each
reply added as it is spoken (what was said of it, when the user cut in), the oldest turns
forgotten past `max_messages` so a long conversation cannot grow without bound.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Earlier turns kept per connection: 20 exchanges of a question and its answer.
MAX_MESSAGES = 40
INSTRUCTION_ROLES = frozenset({"system", "developer"})


class Conversation:
    def __init__(
        self,
        system_prompt: str = "",
        history: Iterable[dict[str, Any]] = (),
        max_messages: int = MAX_MESSAGES,
    ) -> None:
        self.system_prompt = system_prompt.strip()
        self.history = list(history)
        self.max_messages = max_messages

    def ask(self, text: str) -> list[dict[str, Any]]:
        """The messages for the LLM: the system prompt (unless the history brings its own),
        the earlier turns, then `text` as the user's."""
        system = self.history[:1] and self.history[0].get("role") in INSTRUCTION_ROLES
        prompt = (
            [] if system or not self.system_prompt else [_message("system", self.system_prompt)]
        )
        return [*prompt, *self.history, _message("user", text)]

    def answered(self, text: str, reply: str) -> None:
        """Keep a finished turn for the next question."""
        self.history += [_message("user", text)]
        if reply.strip():
            self.history += [_message("assistant", reply)]
        excess = len(self.history) - self.max_messages
        if excess > 0:
            del self.history[:excess]

    def reset(self) -> None:
        self.history.clear()


def _message(role: str, content: str) -> dict[str, Any]:
    return {"role": role, "content": content}
