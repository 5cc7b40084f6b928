"""Every engine run gets options that stop it on request and let its memory arena shrink."""

from __future__ import annotations

from typing import Any

import onnxruntime
import pytest

from vocalis.tts.stopping import StoppableSession, Stopped, StopSwitch

SHRINK = "memory.enable_memory_arena_shrinkage"


class Recorded:
    """An onnxruntime session stand-in that keeps the options of each run."""

    def __init__(self) -> None:
        self.options: list[onnxruntime.RunOptions] = []

    def run(self, output_names: Any, inputs: Any, run_options: Any = None) -> list[int]:
        self.options.append(run_options)
        if run_options.terminate:
            raise RuntimeError("Exiting due to terminate flag being set to true.")
        return [1]


def test_a_run_lets_the_arena_shrink_with_or_without_a_switch() -> None:
    recorded = Recorded()
    session = StoppableSession(recorded)  # type: ignore[arg-type]
    session.run(None, {})
    with StopSwitch().engaged():
        session.run(None, {})
    assert [o.get_run_config_entry(SHRINK) for o in recorded.options] == ["cpu:0", "cpu:0"]


def test_a_stopped_switch_ends_the_run() -> None:
    recorded = Recorded()
    session = StoppableSession(recorded)  # type: ignore[arg-type]
    switch = StopSwitch()
    switch.stop()
    with pytest.raises(Stopped), switch.engaged():
        session.run(None, {})
    assert recorded.options[-1].terminate
