"""Subtitles people can read: cues laid out from word timestamps.

Whisper's segments are decoding units, not subtitles: one may run 20 s, carry 200
characters, or stop mid-phrase. A cue here follows the usual rules of subtitling (the
BBC's and Netflix's guidelines agree on them): at most 42 characters a line and 2 lines a
cue, about 17 characters a second of reading time, between 1 and 7 s on screen, broken where
a sentence or a clause ends rather than inside a phrase, and never overlapping the next.

The words are grouped over the whole transcript at once (dynamic programming): every run of
words that fits in a cue is a candidate, with a cost for where it breaks and how fast it
reads, and the cheapest sequence of cues wins. A segment without word timestamps is spread
over its span in proportion to the length of each word. Pure: segments in, cues out.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from vocalis.stt.base import Segment, Word

SENTENCE_END = tuple(".!?…。！？")  # noqa: RUF001 (the full-width forms are meant)
CLAUSE_END = tuple(",;:—–、，；：")  # noqa: RUF001
# Closing quotes and brackets after a full stop still end the sentence.
_CLOSERS = "\"'”’)]»」"  # noqa: RUF001
# English words a line should not end with (articles, prepositions, conjunctions,
# possessives, auxiliaries) but may well start with, and words that open a clause, so a
# break before them reads as one at a comma. Other languages break by punctuation and pauses alone.
WEAK_ENDINGS = frozenset({
    "a", "an", "the", "to", "of", "in", "on", "at", "for", "with", "from", "by", "into",
    "onto", "about", "as", "and", "or", "nor", "but", "if", "than", "that", "my", "your",
    "his", "her", "its", "our", "their", "this", "these", "those", "is", "are", "was",
    "were", "be", "been", "am", "i", "against", "over", "under", "after", "before",
    "behind", "between", "through", "during", "without", "within", "towards", "toward",
    "upon", "across", "around", "near", "like",
})  # fmt: skip
CLAUSE_OPENERS = frozenset({
    "and", "but", "or", "so", "because", "which", "who", "whom", "whose", "when", "where",
    "while", "although", "though", "then", "unless", "until", "since", "whereas",
})  # fmt: skip
# Costs, in units of "one more cue": where a cue breaks, a cue shown for under the
# minimum, reading over the speed, a long silence or a sentence end inside a cue.
CLAUSE_BREAK = 1.0
PHRASE_BREAK = 3.0
WEAK_BREAK = 2.0
BEFORE_WEAK_BREAK = 2.0  # before "the", "of", "and": the phrase starts with the next line
TOO_SHORT = 5.0
TOO_FAST = 4.0
SILENCE_INSIDE = 20.0
SENTENCE_INSIDE = 2.0
# A pause after a word this long makes any break there a good one.
PAUSE_BREAK_SECONDS = 0.6
# What a line break costs, in characters of imbalance between the two lines, by where it is.
LINE_AT_CLAUSE = 8
LINE_IN_PHRASE = 30
LINE_AFTER_WEAK = 15
LINE_BEFORE_WEAK = 18


@dataclass(frozen=True)
class Layout:
    max_line: int = 42
    max_lines: int = 2
    chars_per_second: float = 17.0
    min_seconds: float = 1.0
    max_seconds: float = 7.0
    # Silence this long between two words should not sit inside one cue.
    max_silence: float = 1.5

    @property
    def max_chars(self) -> int:
        return self.max_line * self.max_lines


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def layout(segments: Sequence[Segment], rules: Layout | None = None) -> list[Cue]:
    """The transcript as readable cues, in order, none overlapping the next."""
    rules = rules or Layout()
    words = transcript_words(segments, rules.max_line)
    return _timed(words, _group(words, rules), rules)


def transcript_words(segments: Sequence[Segment], max_line: int = 42) -> list[Word]:
    """Every word with text, in time order; spread over its segment where it has none."""
    words: list[Word] = []
    for segment in segments:
        own = [w for w in segment.words if w.word.strip()]
        words += own or spread(segment, max_line)
    return _monotonic(words)


def spread(segment: Segment, max_line: int = 42) -> list[Word]:
    """A segment's text as words timed in proportion to their length (no word timestamps).
    Text written without spaces (Chinese, Japanese) is spread character by character."""
    tokens = re.findall(r"\s*\S+", segment.text)
    if len(tokens) == 1 and len(tokens[0].strip()) > max_line:
        tokens = list(tokens[0].strip())
    total = sum(len(t.strip()) for t in tokens)
    words, at = [], segment.start
    span = max(0.0, segment.end - segment.start)
    for token in tokens:
        length = span * len(token.strip()) / total
        words.append(Word(at, at + length, token, 1.0))
        at += length
    return words


def _monotonic(words: list[Word]) -> list[Word]:
    """Each word starting no earlier than the one before and ending no earlier than it starts."""
    fixed: list[Word] = []
    for w in words:
        start = max(w.start, fixed[-1].start if fixed else 0.0)
        fixed.append(Word(start, max(w.end, start), w.word, w.probability))
    return fixed


def split_lines(words: Sequence[Word], rules: Layout) -> tuple[str, ...] | None:
    """The cue's text in one line, or two of at most `max_line` characters broken at a
    clause if one is near the middle, else as evenly as the words allow; None if it cannot fit."""
    text = _join(words)
    if len(text) <= rules.max_line:
        return (text,)
    if rules.max_lines < 2:
        return None
    best: tuple[float, tuple[str, ...]] | None = None
    for k in range(1, len(words)):
        top, bottom = _join(words[:k]), _join(words[k:])
        if len(top) > rules.max_line or len(bottom) > rules.max_line:
            continue
        cost = abs(len(top) - len(bottom)) + _line_break_cost(words[k - 1], words[k])
        if best is None or cost < best[0]:
            best = (cost, (top, bottom))
    return best[1] if best else None


def _line_break_cost(before: Word, after: Word) -> int:
    if _ends_sentence(before):
        return 0
    if _ends(before) or _opens(after):
        return LINE_AT_CLAUSE
    if _weak(before):
        return LINE_IN_PHRASE + LINE_AFTER_WEAK
    return LINE_BEFORE_WEAK if _bare(after) in WEAK_ENDINGS else LINE_IN_PHRASE


def _group(words: Sequence[Word], rules: Layout) -> list[tuple[int, int]]:
    """The cheapest split of the words into cues, as (first, past-last) index pairs."""
    text = _Text(words)
    n = len(words)
    cost = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        silence = 0.0  # the longest silence inside words[i:j]
        for i in range(j - 1, -1, -1):
            if i < j - 1:
                silence = max(silence, words[i + 1].start - words[i].end)
                if (
                    text.length(i, j) > rules.max_chars
                    or words[j - 1].end - words[i].start > rules.max_seconds
                ):
                    break
                if not text.fits(i, j, rules):
                    continue
            total = cost[i] + _cue_cost(words, text, i, j, silence, rules)
            if total < cost[j]:
                cost[j], back[j] = total, i
    groups, j = [], n
    while j > 0:
        groups.append((back[j], j))
        j = back[j]
    return groups[::-1]


class _Text:
    """Lengths of runs of words as `_join` writes them, from prefix sums: the layout
    weighs every run of words that could be a cue, a film's worth of them."""

    def __init__(self, words: Sequence[Word]):
        self.spaced = [1 if w.word[:1].isspace() else 0 for w in words]
        self.prefix = [
            0,
            *accumulate(len(w.word.strip()) + s for w, s in zip(words, self.spaced, strict=True)),
        ]
        self.sentences = [0, *accumulate(_ends_sentence(w) for w in words)]

    def length(self, i: int, j: int) -> int:
        return self.prefix[j] - self.prefix[i] - self.spaced[i]

    def fits(self, i: int, j: int, rules: Layout) -> bool:
        """Two lines can hold words[i:j]: the longest first line leaves a short enough second."""
        if self.length(i, j) <= rules.max_line:
            return True
        if rules.max_lines < 2:
            return False
        k = bisect_right(self.prefix, rules.max_line + self.prefix[i] + self.spaced[i]) - 1
        return i < k < j and self.length(k, j) <= rules.max_line


def _cue_cost(
    words: Sequence[Word], text: _Text, i: int, j: int, silence: float, rules: Layout
) -> float:
    nxt = words[j].start if j < len(words) else math.inf
    shown = min(rules.max_seconds, nxt - words[i].start)
    cost = 1.0 + _break_cost(words, j)
    if shown < rules.min_seconds:
        cost += TOO_SHORT
    speed = text.length(i, j) / max(shown, 1e-3)
    if speed > rules.chars_per_second:
        cost += TOO_FAST * (speed - rules.chars_per_second) / rules.chars_per_second
    if silence > rules.max_silence:
        cost += SILENCE_INSIDE
    return cost + SENTENCE_INSIDE * (text.sentences[j - 1] - text.sentences[i])


def _break_cost(words: Sequence[Word], j: int) -> float:
    """What ending a cue after word j - 1 costs: nothing at a sentence end or the end, less
    the longer the pause after it."""
    if j == len(words) or _ends_sentence(words[j - 1]):
        return 0.0
    if _ends(words[j - 1]) or _opens(words[j]):
        base = CLAUSE_BREAK
    elif _weak(words[j - 1]):
        base = PHRASE_BREAK + WEAK_BREAK
    elif _bare(words[j]) in WEAK_ENDINGS:
        base = BEFORE_WEAK_BREAK
    else:
        base = PHRASE_BREAK
    pause = words[j].start - words[j - 1].end
    return base * max(0.0, 1 - pause / PAUSE_BREAK_SECONDS)


def _timed(words: Sequence[Word], groups: list[tuple[int, int]], rules: Layout) -> list[Cue]:
    """Each group on screen from its first word for as long as it takes to read (1-7 s),
    into the silence after it but never past the next cue's start; a cue still too short
    starts earlier, in the silence before it."""
    cues: list[Cue] = []
    for index, (i, j) in enumerate(groups):
        lines = split_lines(words[i:j], rules) or (_join(words[i:j]),)
        previous_end = cues[-1].end if cues else 0.0
        start = max(words[i].start, previous_end)
        nxt = words[groups[index + 1][0]].start if index + 1 < len(groups) else math.inf
        nxt = max(nxt, start)
        need = max(rules.min_seconds, len("".join(lines)) / rules.chars_per_second)
        end = min(max(words[j - 1].end, start + need), start + rules.max_seconds, nxt)
        if end - start < rules.min_seconds:
            start = max(previous_end, end - rules.min_seconds)
        cues.append(Cue(start, end, lines))
    return cues


def _join(words: Sequence[Word]) -> str:
    return " ".join("".join(w.word for w in words).split())


def _ends(word: Word) -> bool:
    """The word ends a clause or a sentence."""
    return word.word.rstrip().rstrip(_CLOSERS).endswith(SENTENCE_END + CLAUSE_END)


def _ends_sentence(word: Word) -> bool:
    return word.word.rstrip().rstrip(_CLOSERS).endswith(SENTENCE_END)


def _bare(word: Word) -> str:
    return word.word.strip().strip(_CLOSERS + "".join(SENTENCE_END + CLAUSE_END)).lower()


def _weak(word: Word) -> bool:
    return not _ends(word) and _bare(word) in WEAK_ENDINGS


def _opens(word: Word) -> bool:
    return _bare(word) in CLAUSE_OPENERS
