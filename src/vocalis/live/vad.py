"""Silero VAD over audio that arrives in pieces: one speech probability per 32-ms frame.

The ONNX model is the one faster-whisper ships (and uses for files, `audio/vad.py`); its
recurrent state and 64-sample context are carried from call to call, so a stream fed in
any pieces gives the same probabilities as the whole array at once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from faster_whisper.vad import get_vad_model

from vocalis.audio.decode import SAMPLE_RATE, Samples

FRAME = 512  # samples: 32 ms at 16 kHz
FRAME_SECONDS = FRAME / SAMPLE_RATE
_CONTEXT = 64


class StreamingVad:
    def __init__(self) -> None:
        self._session = get_vad_model().session
        self._state = np.zeros((2, 1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def probabilities(self, samples: Samples) -> npt.NDArray[np.float32]:
        """Probabilities for every frame completed by `samples`; the rest waits for more."""
        audio = np.concatenate([self._pending, samples])
        count = len(audio) // FRAME
        self._pending = audio[count * FRAME :]
        if not count:
            return np.zeros(0, dtype=np.float32)
        frames = audio[: count * FRAME].reshape(count, FRAME)
        contexts = np.concatenate([self._context[None], frames[:-1, -_CONTEXT:]])
        self._context = frames[-1, -_CONTEXT:].copy()
        batch = np.concatenate([contexts, frames], axis=1)
        out, h, c = self._session.run(
            None, {"input": batch, "h": self._state[0], "c": self._state[1]}
        )
        self._state = np.stack([h, c])
        return np.asarray(out, dtype=np.float32).reshape(-1)
