"""The zeroconf announcement: its address and record as pure logic, then the real thing, made
by `vocalis serve --wyoming ... --wyoming-zeroconf` on 127.0.0.1 and resolved over mDNS on the
loopback interface, as Home Assistant resolves it on a network."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from tests.conftest import free_port
from tests.wyoming.home_assistant import client, discover
from vocalis.wyoming.announce import (
    SERVICE_TYPE,
    ZeroconfMissing,
    announced_address,
    require_zeroconf,
    service_info,
)

NAME = f"vocalis.{SERVICE_TYPE}"


@pytest.mark.parametrize(
    ("host", "address"),
    [("127.0.0.1", "127.0.0.1"), ("192.168.1.20", "192.168.1.20"), ("0.0.0.0", "10.0.0.5"),
     ("", "10.0.0.5"), ("::", "10.0.0.5"), ("voice.local", "10.0.0.5")],
)  # fmt: skip
def test_the_address_announced(host: str, address: str) -> None:
    assert announced_address(host, lambda: "10.0.0.5") == address


def test_the_service_record() -> None:
    info = service_info("vocalis", "192.168.1.20", 10300)
    assert (info.type, info.name, info.port) == (SERVICE_TYPE, NAME, 10300)
    assert info.addresses == [socket.inet_aton("192.168.1.20")]


def test_a_missing_extra_says_how_to_install_it() -> None:
    require_zeroconf()  # installed here
    with pytest.raises(ZeroconfMissing, match=r"pip install 'vocalis\[zeroconf\]'"):
        require_zeroconf(lambda name: None)


async def resolve(timeout_ms: int) -> AsyncServiceInfo | None:
    """The announcement as a client on the loopback interface finds it; None when absent."""
    zeroconf = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    try:
        info = AsyncServiceInfo(SERVICE_TYPE, NAME)
        return info if await info.async_request(zeroconf.zeroconf, timeout_ms) else None
    finally:
        await zeroconf.async_close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """`vocalis serve` with the Wyoming flags; yields once its Wyoming port answers."""
    port, log = free_port(), tmp_path / "serve.log"
    env = {**os.environ, "VOCALIS_HOST": "127.0.0.1", "VOCALIS_PORT": str(free_port())}
    uri = f"tcp://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vocalis", "serve", "--wyoming", uri, "--wyoming-zeroconf"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "announced over zeroconf" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield process, port, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_announces_the_wyoming_server(
    served: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, log = served
    info = asyncio.run(resolve(3000))
    assert info is not None, log.read_text()
    assert info.port == port and info.parsed_addresses() == ["127.0.0.1"]
    assert asyncio.run(discover(port)).asr[0].name == "vocalis"

    async def open_through_shutdown() -> None:
        async with client(port) as connection:
            process.terminate()
            assert await asyncio.wait_for(connection.read_event(), 30) is None  # closed for it

    asyncio.run(open_through_shutdown())
    assert process.wait(timeout=30) == 0, log.read_text()
    assert asyncio.run(resolve(1500)) is None  # its goodbye went out
