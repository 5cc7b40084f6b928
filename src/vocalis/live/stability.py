"""Which words of an utterance in progress are final: LocalAgreement-2. Pure.

Each new decode of the growing utterance is compared with the one before it; the words both
agree on, beyond those already stable, become stable. Stable words are never taken back, so
partial text only grows; words are compared without case or punctuation.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"[^\w']+")


def _key(word: str) -> str:
    return _KEY.sub("", word.lower())


class LocalAgreement:
    def __init__(self) -> None:
        self.stable: list[str] = []
        self._last: list[str] = []

    @property
    def text(self) -> str:
        return " ".join(self.stable)

    def update(self, hypothesis: str) -> list[str]:
        """The words that became stable with this decode (often none)."""
        words = hypothesis.split()
        agreed = _common_prefix(self._last, words)
        self._last = words
        done = len(self.stable)
        if len(agreed) <= done or [_key(w) for w in agreed[:done]] != [
            _key(w) for w in self.stable
        ]:
            return []
        new = agreed[done:]
        self.stable += new
        return new

    def reset(self) -> None:
        self.stable, self._last = [], []


def _common_prefix(a: list[str], b: list[str]) -> list[str]:
    n = 0
    while n < min(len(a), len(b)) and _key(a[n]) == _key(b[n]):
        n += 1
    return b[:n]
