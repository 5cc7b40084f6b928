"""The key ring: parsing, constant-time matching, reloading the keys file, and SIGHUP."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from vocalis.config import Settings
from vocalis.ops.keys import KeyRing, parse_keys, reload_on_hangup


def test_keys_from_a_comma_list_and_from_a_file() -> None:
    assert parse_keys(" a, b ,,c ", ",") == {"a", "b", "c"}
    text = "# the household\nkitchen-key\n\n  office-key  \n# old-key\n"
    assert parse_keys(text) == {"kitchen-key", "office-key"}


def test_settings_keep_the_keys_secret(tmp_path: Path) -> None:
    settings = Settings(api_keys="sk-one,sk-two")  # type: ignore[arg-type]
    assert "sk-one" not in repr(settings) and "sk-one" not in str(settings.model_dump())
    with pytest.raises(ValueError, match="does not exist"):
        Settings(api_keys_file=tmp_path / "missing.txt")


def test_only_listed_keys_are_accepted() -> None:
    ring = KeyRing({"sk-one", "sk-two"})
    assert ring.enabled
    assert ring.accepts("sk-one") and ring.accepts("sk-two")
    for wrong in (None, "", "sk-on", "sk-one ", "SK-ONE", "sk-one,sk-two", "sk-é"):
        assert not ring.accepts(wrong), wrong


def test_no_keys_means_auth_is_off() -> None:
    assert not KeyRing().enabled
    assert not KeyRing().accepts("anything")


def test_reload_reads_the_file_again_and_keeps_the_fixed_keys(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("old-key\n")
    ring = KeyRing({"env-key"}, keys)
    assert ring.accepts("old-key") and ring.accepts("env-key")
    keys.write_text("new-key\n")
    assert not ring.accepts("new-key")  # only on reload
    assert ring.reload()
    assert ring.accepts("new-key") and ring.accepts("env-key")
    assert not ring.accepts("old-key")
    assert len(ring) == 2


def test_an_unreadable_file_keeps_the_keys_and_an_empty_one_locks(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("only-key\n")
    ring = KeyRing((), keys)
    keys.unlink()
    assert not ring.reload()
    assert ring.accepts("only-key")
    keys.write_text("# everyone revoked\n")
    assert ring.reload()
    assert ring.enabled and len(ring) == 0
    assert not ring.accepts("only-key")


def test_sighup_reloads_while_the_block_runs(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("first\n")
    ring = KeyRing((), keys)

    async def hang_up() -> None:
        with reload_on_hangup(ring):
            keys.write_text("second\n")
            os.kill(os.getpid(), signal.SIGHUP)
            for _ in range(50):
                if ring.accepts("second"):
                    break
                await asyncio.sleep(0.01)
        # Afterwards SIGHUP is no longer ours: the default handler is back.
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL

    asyncio.run(hang_up())
    assert ring.accepts("second") and not ring.accepts("first")
