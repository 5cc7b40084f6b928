"""Stopping speech mid-piece: onnxruntime's terminate flag, set from another thread.

A piece of text is one engine call (up to a few seconds of CPU for a long Kokoro piece);
checking between pieces leaves that call running after its client has gone. Both engines
run an onnxruntime session, and a run given `RunOptions` stops within milliseconds once
their `terminate` flag is set. `StoppableSession` hands each run the options of the
`StopSwitch` that the calling thread is working for; `StopSwitch.stop()` flips them.

Every run's options also let onnxruntime's memory arena shrink back when the run ends: it
otherwise keeps, for the life of the process, the buffers of the longest piece it has spoken
(the soak in tests/robustness/ then stayed 130-200 MiB higher and drifted up to 5.1%).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import onnxruntime

_working_for = threading.local()


class Stopped(Exception):
    """The request was stopped while the engine worked on it."""


class StopSwitch:
    """One request's switch: `stop()` from any thread ends its engine runs now and later."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: set[onnxruntime.RunOptions] = set()
        self.stopped = False

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            for options in self._runs:
                options.terminate = True

    @contextmanager
    def engaged(self) -> Iterator[None]:
        """Runs of a StoppableSession in this block, on this thread, obey this switch."""
        previous = getattr(_working_for, "switch", None)
        _working_for.switch = self
        try:
            yield
        except Exception as exc:
            if self.stopped:  # onnxruntime's "terminate flag" error, or what it caused
                raise Stopped from exc
            raise
        finally:
            _working_for.switch = previous

    @contextmanager
    def _run(self) -> Iterator[onnxruntime.RunOptions]:
        options = shrinking_options()
        with self._lock:
            options.terminate = self.stopped
            self._runs.add(options)
        try:
            yield options
        finally:
            with self._lock:
                self._runs.discard(options)


def shrinking_options() -> onnxruntime.RunOptions:
    """A run's options: its memory arena gives back what the run grew it by once the run
    ends, so a long piece does not keep its buffers for the life of the process."""
    options = onnxruntime.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


class StoppableSession:
    """An onnxruntime session whose runs the current thread's StopSwitch can end."""

    def __init__(self, session: onnxruntime.InferenceSession) -> None:
        self._session = session

    def run(self, output_names: Any, inputs: Any, run_options: Any = None) -> Any:
        switch: StopSwitch | None = getattr(_working_for, "switch", None)
        if switch is None or run_options is not None:
            return self._session.run(output_names, inputs, run_options or shrinking_options())
        with switch._run() as options:
            return self._session.run(output_names, inputs, options)

    def __getattr__(self, name: str) -> Any:
        # Everything else (get_inputs, get_providers, ...) is the session's own.
        return getattr(self._session, name)
