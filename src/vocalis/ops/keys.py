"""The API keys a server accepts: from the settings and a keys file, re-read on SIGHUP.

Keys are compared in constant time, and a presented key is compared with every key, so
neither the time nor the order says which key, or how much of one, matched.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)


def parse_keys(text: str, separator: str | None = None) -> frozenset[str]:
    """Keys split by `separator` (any whitespace line by line when None); blanks and `#`
    comment lines are skipped."""
    parts = text.split(separator) if separator else text.splitlines()
    stripped = (part.strip() for part in parts)
    return frozenset(part for part in stripped if part and not part.startswith("#"))


class KeyRing:
    """The accepted keys. Enabled when keys are configured at all: a keys file that is
    emptied later locks every keyed route rather than opening them."""

    def __init__(self, keys: Iterable[str] = (), keys_file: Path | None = None):
        self._fixed = frozenset(keys)
        self.keys_file = keys_file
        self.enabled = bool(self._fixed) or keys_file is not None
        self._keys = self._fixed | (_read(keys_file) if keys_file else frozenset())

    def __len__(self) -> int:
        return len(self._keys)

    def reload(self) -> bool:
        """Read the keys file again; an unreadable file keeps the keys in force."""
        if self.keys_file is None:
            return False
        try:
            from_file = _read(self.keys_file)
        except OSError as exc:
            log.warning("keeping the API keys in force: cannot read %s (%s)", self.keys_file, exc)
            return False
        self._keys = self._fixed | from_file
        log.info("reloaded API keys from %s: %d keys", self.keys_file, len(self._keys))
        return True

    def accepts(self, presented: str | None) -> bool:
        if not presented:
            return False
        given = presented.encode()
        matched = False
        for key in self._keys:  # no early exit: every key costs the same comparison
            matched |= hmac.compare_digest(given, key.encode())
        return matched


def _read(path: Path) -> frozenset[str]:
    return parse_keys(path.read_text(encoding="utf-8"))


@contextlib.contextmanager
def reload_on_hangup(ring: KeyRing) -> Iterator[None]:
    """While the block runs, SIGHUP re-reads the keys file (call inside the event loop).

    Signals reach only the main thread's loop; elsewhere (a test client's thread) this
    does nothing.
    """
    if ring.keys_file is None:
        yield
        return
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, ring.reload)
    except (ValueError, RuntimeError, NotImplementedError, AttributeError):
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
