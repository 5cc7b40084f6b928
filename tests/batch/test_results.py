"""A stored result renders the same as the transcription it came from."""

from __future__ import annotations

import json

from vocalis.batch import results
from vocalis.stt import formats
from vocalis.stt.base import Segment, TranscriptionInfo, Word


def test_a_result_survives_json_and_renders_the_same() -> None:
    info = TranscriptionInfo("en", 0.97, 12.5)
    segments = [
        Segment(
            0,
            0,
            0.0,
            4.2,
            " Ask not",
            [50, 51],
            0.0,
            -0.1,
            1.2,
            0.02,
            [
                Word(0.0, 0.5, " Ask", 0.93),
                Word(0.5, 1.0, " not", 0.88),
            ],
        ),
        Segment(1, 420, 4.2, 12.5, " what your country", [52], 0.2, -0.3, 1.4, 0.05),
    ]
    stored = json.loads(json.dumps(results.encode(info, segments)))
    assert results.decode(stored) == (info, segments)
    words = frozenset({"word", "segment"})
    for fmt in formats.RESPONSE_FORMATS:
        again = formats.render(fmt, *results.decode(stored), task="transcribe", granularities=words)
        assert again == formats.render(fmt, info, segments, task="transcribe", granularities=words)
