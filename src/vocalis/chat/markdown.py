"""Markdown to what a voice should say, as an LLM streams it.

LLM replies are markdown; read aloud literally they are full of asterisks, hashes and URLs.
`MarkdownSpeech` takes the reply in pieces and hands back speakable text as soon as it is
safe to: a line's kind (heading, list item, table row, code fence) is known from its first
characters, and inline markup (emphasis, links, code spans) is cleaned up to the last space
outside an unfinished code span, link or tag. Headings, list items and table rows become
sentences of their own; code blocks are skipped with a short note; a fence stays open until
it closes, however the pieces fall. Pure: no I/O.
"""

from __future__ import annotations

import re
from enum import Enum

# What a skipped code block says instead, in the reply's language (English otherwise).
CODE_OMITTED = {
    "en": "Code omitted.",
    "es": "Código omitido.",
    "fr": "Code omis.",
    "it": "Codice omesso.",
    "pt": "Código omitido.",
    "hi": "कोड छोड़ा गया।",
    "ja": "コードは省略します。",
    "zh": "代码已省略。",
}
# Inline code longer than this is not read out, only named.
MAX_SPOKEN_CODE_CHARS = 40
INLINE_CODE = "code"


class Kind(Enum):
    TEXT = "text"  # a paragraph, heading, list item or quote: its markers dropped
    FENCE = "fence"
    TABLE = "table"
    RULE = "rule"  # ---, ***, ===: nothing to say
    BLANK = "blank"


_FENCE = re.compile(r"(`{3,}|~{3,})")
_HEADING = re.compile(r"#{1,6}(?:\s+|$)")
_QUOTE = re.compile(r"(?:>\s?)+")
_BULLET = re.compile(r"[-*+]\s+(?:\[[ xX]\](?:\s+|$))?")
_NUMBERED = re.compile(r"\d{1,3}[.)](?:\s+|$)")
_RULE = re.compile(r"([-*_=])(?:\s*\1){2,}\s*")
_MARKERS = frozenset("-*+_=#`~>0123456789.) [xX]")


def classify(line: str, final: bool) -> tuple[Kind, int] | None:
    """A line's kind and the length of its marker prefix (indentation included), from as
    much of the line as has arrived; None while its first characters leave it open."""
    body = line.lstrip()
    indent = len(line) - len(body)
    if not body:
        return (Kind.BLANK, len(line)) if final else None
    if not final and set(body) <= _MARKERS and len(body) < 12:
        return None  # "-", "1.", "``", "**", "- [": the next character decides
    if _FENCE.match(body):
        return Kind.FENCE, len(line)
    if body.startswith("|"):
        return Kind.TABLE, indent
    if _RULE.fullmatch(body):
        return Kind.RULE, len(line)
    for marker in (_HEADING, _QUOTE, _BULLET, _NUMBERED):
        if match := marker.match(body):
            return Kind.TEXT, indent + match.end()
    return Kind.TEXT, indent


# --- Inline markup -------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>])")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]^][^\]]*)\]\[[^\]]*\]")
_FOOTNOTE = re.compile(r"\[\^[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^>\s]+|[^>\s@]+@[^>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_URL = re.compile(r"\b(?:https?|ftp)://([^/\s?#]+)[^\s]*?(?=[.,;:!?)\]]*(?:\s|$))")
_SHARP = re.compile(r"(?<=\b[A-Za-z])#(?!\w)")
_NUMBER_SIGN = re.compile(r"#(?=\d)")
_EMPHASIS = re.compile(r"\*+|~~|(?<!\w)_+|_+(?!\w)")
_SYMBOLS = re.compile(r"[#_\[\]]")


def inline(text: str) -> str:
    """One stretch of a line without its markup: link and image text kept, URLs read as
    their host, short code spans read and long ones named, emphasis and tags dropped."""
    text = _CODE_SPAN.sub(_code_span, text)
    text = _ESCAPE.sub(r"\1", text)
    text = _IMAGE.sub(r"\1", text)
    text = _FOOTNOTE.sub("", text)
    text = _LINK.sub(lambda m: m[1] or m[2], text)
    text = _AUTOLINK.sub(lambda m: _host(m[1]), text)
    text = _TAG.sub("", text)
    text = _URL.sub(lambda m: m[1].removeprefix("www."), text)
    text = _SHARP.sub(" sharp", text)
    text = _NUMBER_SIGN.sub("number ", text)
    text = _EMPHASIS.sub("", text)
    return _SYMBOLS.sub(" ", text)


def _code_span(match: re.Match[str]) -> str:
    code = match[2].strip()
    return code if len(code) <= MAX_SPOKEN_CODE_CHARS else INLINE_CODE


def _host(target: str) -> str:
    if "://" not in target:
        return target.removeprefix("mailto:")  # an e-mail address reads as it is
    return target.split("://", 1)[1].split("/", 1)[0].removeprefix("www.")


def safe_end(text: str) -> int:
    """How much of an unfinished line can be cleaned now: up to its last whitespace before
    any code span, link or tag that has not closed yet (the last word may still grow)."""
    safe, i = 0, 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            safe = i + 1
        elif char in "`[<":
            end = _construct_end(text, i)
            if end is None:
                return safe
            i = end
            continue
        i += 1
    return safe


def _construct_end(text: str, start: int) -> int | None:
    """Where the code span, link or tag opened at `start` ends; None if not yet."""
    char = text[start]
    if char == "`":
        run = len(text[start:]) - len(text[start:].lstrip("`"))
        close = text.find("`" * run, start + run)
        return None if close < 0 else close + run
    if char == "<":
        if not re.match(r"</?[A-Za-z]", text[start:]) and not text.startswith("<http", start):
            return start + 1  # "a < b": not a tag
        close = text.find(">", start)
        return None if close < 0 else close + 1
    close = text.find("]", start)
    if close < 0:
        return None
    if close + 1 == len(text):
        return None  # "(" or "[" may follow
    opener = text[close + 1]
    if opener not in "([":
        return close + 1
    end = text.find(")" if opener == "(" else "]", close + 1)
    return None if end < 0 else end + 1


# --- Lines ---------------------------------------------------------------------------------

_ENDS_SENTENCE = re.compile(r"[.!?…:;\u3002\uff01\uff1f]$")
_TABLE_SEPARATOR = re.compile(r"[\s|:\-]*")


class MarkdownSpeech:
    """Markdown in pieces, speakable text out. `push` each piece, `flush` at the end."""

    def __init__(self, language: str = "en") -> None:
        primary = language.strip().lower().replace("_", "-").split("-")[0]
        self.code_note = CODE_OMITTED.get(primary, CODE_OMITTED["en"])
        self._line = ""  # the current line's text so far
        self._kind: tuple[Kind, int] | None = None
        self._done = 0  # how much of the line has been said
        self._said = ""  # what the line has said so far, for its closing full stop
        self._fence: str | None = None  # the open code block's fence

    def push(self, text: str) -> str:
        out: list[str] = []
        for piece in text.splitlines(keepends=True):
            self._line += piece.rstrip("\r\n")
            if piece.endswith(("\n", "\r")):
                out.append(self._end_line())
            else:
                out.append(self._partial())
        return "".join(out)

    def flush(self) -> str:
        return self._end_line() if self._line else ""

    def _partial(self) -> str:
        if self._fence is not None:
            return ""
        if self._kind is None:
            self._kind = classify(self._line, final=False)
        if self._kind is None or self._kind[0] is not Kind.TEXT:
            return ""
        start = max(self._done, self._kind[1])
        cut = safe_end(self._line[start:])
        self._done = start + cut
        return self._say(inline(self._line[start : self._done]))

    def _end_line(self) -> str:
        line, done, said = self._line, self._done, self._said
        kind = self._kind or classify(line, final=True)
        self._line, self._kind, self._done, self._said = "", None, 0, ""
        if self._fence is not None:
            if self._closes_fence(line):
                self._fence = None
            return ""
        assert kind is not None
        if kind[0] is Kind.FENCE:
            fence = _FENCE.match(line.lstrip())
            self._fence = fence[0] if fence else "```"
            return self.code_note + "\n"
        if kind[0] is Kind.TABLE:
            return _table_row(line)
        if kind[0] is not Kind.TEXT:
            return ""
        rest = inline(line[max(done, kind[1]) :])
        return rest + _full_stop(said + rest) + "\n"

    def _closes_fence(self, line: str) -> bool:
        assert self._fence is not None
        body = line.strip()
        return len(body) >= len(self._fence) and not body.strip(self._fence[0])

    def _say(self, text: str) -> str:
        self._said += text
        return text


def _full_stop(said: str) -> str:
    """A line that ends without punctuation still ends a sentence: say so, for the prosody."""
    said = said.rstrip()
    if not said or _ENDS_SENTENCE.search(said) or not (said[-1].isalnum() or said[-1] in ")\"'"):
        return ""
    return "\u3002" if "\u2e80" <= said[-1] <= "\u9fff" else "."


def _table_row(line: str) -> str:
    if _TABLE_SEPARATOR.fullmatch(line):
        return ""
    cells = [inline(cell).strip() for cell in line.strip().strip("|").split("|")]
    spoken = ", ".join(cell for cell in cells if cell)
    return spoken + _full_stop(spoken) + "\n" if spoken else ""


def speakable(markdown: str, language: str = "en") -> str:
    """A whole reply at once."""
    speech = MarkdownSpeech(language)
    return speech.push(markdown) + speech.flush()
