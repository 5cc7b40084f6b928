"""Text preparation for speech: normalisation, sentence splitting and chunking.

Pure string handling, no I/O. Synthesizers speak text in small units so the first audio
can leave while the rest is still being synthesized, and so no engine gets a paragraph
longer than it handles well.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable

from num2words import CONVERTER_CLASSES, num2words

# Spaces, tabs and the like, but not line breaks: a line break ends a sentence.
_SPACES = re.compile(r"[^\S\n]+")
# "fifty percent ." after expanding "50%."; but "Hello. !!!" stays as written.
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<=\w) +(?=[,.;:!?](?:\s|$))")

# --- Numbers -----------------------------------------------------------------------------

# fmt: off
_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = (
    "", " thousand", " million", " billion", " trillion", " quadrillion", " quintillion",
    " sextillion", " septillion", " octillion", " nonillion", " decillion",
)
# fmt: on
# Longer digit runs (serial numbers, hashes) are read digit by digit.
_MAX_WORD_DIGITS = 3 * len(_SCALES)
_LOWERCASE_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def number_to_words(n: int) -> str:
    """American English cardinal: 1234 -> 'one thousand two hundred thirty-four'."""
    if n < 0:
        return "minus " + number_to_words(-n)
    groups: list[str] = []
    for scale in _SCALES:
        n, group = divmod(n, 1000)
        if group or (not groups and not n):
            groups.append(_below_thousand(group) + scale)
        if not n:
            return " ".join(reversed(groups))
    raise ValueError(f"numbers over {_MAX_WORD_DIGITS} digits are too large to read as words")


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _below_hundred(rest)
    return f"{_ONES[hundreds]} hundred" + (f" {_below_hundred(rest)}" if rest else "")


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def _ordinal_words(n: int) -> str:
    words = number_to_words(n)
    head = words.rstrip(_LOWERCASE_LETTERS)
    last = words[len(head) :]
    if last in _ORDINAL_WORDS:
        return head + _ORDINAL_WORDS[last]
    return head + (last[:-1] + "ieth" if last.endswith("y") else last + "th")


def _year_words(n: int) -> str:
    century, rest = divmod(n, 100)
    if not rest:
        return f"{number_to_words(century)} hundred"
    return f"{number_to_words(century)} {_two_digits(rest)}"


def _two_digits(n: int) -> str:
    """As in years and clock times: 5 -> 'oh five', 45 -> 'forty-five'."""
    return f"oh {_ONES[n]}" if n < 10 else number_to_words(n)


def _is_year(digits: str) -> bool:
    # 2000-2009 read best as plain numbers ("two thousand five"), 2100+ is rarely a year.
    return len(digits) == 4 and (1100 <= int(digits) <= 1999 or 2010 <= int(digits) <= 2099)


def _digit_words(digits: str) -> str:
    return " ".join(_ONES[int(d)] for d in digits)


def _integer_words(digits: str, *, year: bool = False) -> str:
    """digits has no separators; leading zeros ('007') and huge runs are read digit by digit."""
    if (len(digits) > 1 and digits[0] == "0") or len(digits) > _MAX_WORD_DIGITS:
        return _digit_words(digits)
    if year and _is_year(digits):
        return _year_words(int(digits))
    return number_to_words(int(digits))


def _decimal_words(integer: str, fraction: str | None) -> str:
    words = _integer_words(integer.replace(",", ""))
    return words + (f" point {_digit_words(fraction)}" if fraction else "")


def _plural(words: str) -> str:
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


# A minus sign only counts at the start of a token: in "5-10" or "COVID-19" it is a hyphen.
_SIGN = r"(?P<sign>(?<![\w-])[-\u2212])?"
_INTEGER = r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)"
_NUMBER = re.compile(_SIGN + rf"(?:{_INTEGER}(?:\.(?P<frac>[0-9]+))?|\.(?P<bare>[0-9]+))")
_CURRENCY = re.compile(
    _SIGN + r"(?P<symbol>[$€£])\s?" + _INTEGER + r"(?:\.(?P<frac>[0-9]+))?"
    r"(?:\s(?P<scale>thousand|million|billion|trillion)\b)?"
)
_ORDINAL = re.compile(r"\b([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_DECADE = re.compile(r"(?<![\w'\u2019])['\u2019]?([1-9]0|[0-9]{4})['\u2019]?s\b")
_TIME = re.compile(r"\b([01]?[0-9]|2[0-3]):([0-5][0-9])\b")
# "mp3" or "A4": a digit glued to a letter is read as a separate word.
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=[0-9])|(?<=[0-9])(?=[^\W\d_])")

# (unit, units, subunit, subunits)
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
}


def _expand_number(match: re.Match[str]) -> str:
    sign = "minus " if match["sign"] else ""
    if match["bare"]:
        # Leading space: in "1.2.3" the ".3" follows the words for "1.2".
        return f" {sign}point {_digit_words(match['bare'])}"
    if match["frac"] or "," in match["int"] or sign:
        return sign + _decimal_words(match["int"], match["frac"])
    return _integer_words(match["int"], year=True)


def _expand_currency(match: re.Match[str]) -> str:
    unit, units, subunit, subunits = _CURRENCIES[match["symbol"]]
    sign = "minus " if match["sign"] else ""
    fraction = match["frac"]
    # "$2.5 million" and "$0.125" are amounts, not dollars and cents.
    if match["scale"] or (fraction and len(fraction) != 2):
        scale = f" {match['scale']}" if match["scale"] else ""
        return f"{sign}{_decimal_words(match['int'], fraction)}{scale} {units}"
    digits = match["int"].replace(",", "")
    whole, cents = int(digits), int(fraction or 0)
    main = f"{_integer_words(digits)} {_pick(whole, unit, units)}"
    if not cents:
        return sign + main
    change = f"{number_to_words(cents)} {_pick(cents, subunit, subunits)}"
    return sign + (f"{main} {change}" if whole else change)


def _pick(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _expand_ordinal(match: re.Match[str]) -> str:
    digits = match[1].replace(",", "")
    return _ordinal_words(int(digits)) if len(digits) <= _MAX_WORD_DIGITS else match[0]


def _expand_decade(match: re.Match[str]) -> str:
    return _plural(_integer_words(match[1], year=True))


def _expand_time(match: re.Match[str]) -> str:
    hour, minute = int(match[1]), int(match[2])
    if minute:
        return f"{number_to_words(hour)} {_two_digits(minute)}"
    return f"{number_to_words(hour)} " + ("o'clock" if 1 <= hour <= 12 else "hundred")


# --- Abbreviations and symbols -----------------------------------------------------------

_ABBREVIATIONS = {
    "mr": "Mister",
    "mrs": "Missus",
    "ms": "Miz",
    "dr": "Doctor",
    "prof": "Professor",
    "jr": "Junior",
    "sr": "Senior",
    "mt": "Mount",
    "vs": "versus",
    "etc": "et cetera",
    "approx": "approximately",
    "e.g": "for example",
    "i.e": "that is",
}
_ABBREVIATION = re.compile(
    r"(?<![\w.])(?:(?P<word>mrs|mr|ms|dr|prof|jr|sr|mt|vs|etc|approx|e\.g|i\.e|st)\."
    r"|(?P<number>No)\.(?=\s?[0-9]))",
    re.IGNORECASE,
)
_CAPITALISED_WORD = re.compile(r"\s+[A-Z]")
_LINE_END = re.compile(r"[^\S\n]*(?:\n|$)")

_SYMBOLS = {
    "&": "and",
    "%": "percent",
    "$": "dollars",
    "€": "euros",
    "£": "pounds",
    "+": "plus",
    "@": "at",
    "°": "degrees",
    "°C": "degrees Celsius",
    "°F": "degrees Fahrenheit",
}
_SYMBOL = re.compile(r"°\s?[CF]\b|[&%$€£+@°]")


def _expand_abbreviation(match: re.Match[str]) -> str:
    if match["number"]:
        return "number"
    key = match["word"].lower()
    follows_name = _CAPITALISED_WORD.match(match.string, match.end()) is not None
    # "St. Louis" but "Baker St.": a guess, right far more often than not.
    saint_or_street = "Saint" if follows_name else "Street"
    word = saint_or_street if key == "st" else _ABBREVIATIONS[key]
    # Keep the full stop where the abbreviation also ends the sentence.
    ends_sentence = _LINE_END.match(match.string, match.end()) or (key == "etc" and follows_name)
    return word + "." if ends_sentence else word


def _expand_symbol(match: re.Match[str]) -> str:
    return f" {_SYMBOLS[match[0].replace(' ', '')]} "


# --- Public API --------------------------------------------------------------------------


def normalize(text: str, language: str = "en") -> str:
    """Make text speakable; for English also spell out numbers, symbols and abbreviations.

    Runs of spaces collapse to one space and line breaks are kept (one per run), because
    a line break ends a sentence for split_sentences. Other languages are only tidied:
    their numbers are left to the engine's own phonemizer.
    """
    text = _collapse_whitespace(text)
    if not _is_english(language):
        return _spell_out_locally(text, language)
    text = _ABBREVIATION.sub(_expand_abbreviation, text)
    text = _CURRENCY.sub(_expand_currency, text)
    text = _TIME.sub(_expand_time, text)
    text = _ORDINAL.sub(_expand_ordinal, text)
    text = _DECADE.sub(_expand_decade, text)
    text = _LETTER_DIGIT.sub(" ", text)
    text = _NUMBER.sub(_expand_number, text)
    text = _SYMBOL.sub(_expand_symbol, text)
    return _SPACE_BEFORE_PUNCTUATION.sub("", _collapse_whitespace(text))


def _is_english(language: str) -> bool:
    return _primary(language) == "en"


def _primary(language: str) -> str:
    return re.split(r"[-_]", language.strip().lower())[0]


# --- Other languages, through num2words ----------------------------------------------------

# Kokoro's other languages that num2words speaks; Hindi and Chinese it does not, so their
# digits are left to the engine's own phonemizer (espeak-ng reads them in the language).
_NUM2WORDS = {"es": "es", "fr": "fr", "it": "it", "pt": "pt", "ja": "ja"}
_PERCENT_WORDS = {
    "es": "por ciento", "fr": "pour cent", "it": "per cento", "pt": "por cento", "ja": "パーセント",
}  # fmt: skip
_CURRENCY_CODES = {"R$": "BRL", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
# These languages group thousands with "." or a no-break space and write decimals with ",";
# "1.5" is still a decimal (a group has three digits).
_LOCAL_AMOUNT = (
    r"(?P<sign>(?<![0-9A-Za-z\u00c0-\u024f-])[-\u2212](?=\d))?"
    r"(?P<int>\d{1,3}(?:[.\u00a0\u202f]\d{3})+(?![\d,.]\d)|\d+)(?:[.,](?P<frac>\d+))?"
)
# Japanese has no spaces between words: only Latin letters and digits glue to a number.
_NOT_GLUED_BEFORE = r"(?<![0-9A-Za-z\u00c0-\u024f.,])"
_NOT_GLUED_AFTER = r"(?![0-9A-Za-z\u00c0-\u024f])"
_LOCAL_NUMBER = re.compile(_NOT_GLUED_BEFORE + _LOCAL_AMOUNT + _NOT_GLUED_AFTER)
_AMOUNT_BEFORE_SYMBOL = _LOCAL_AMOUNT.replace("?P<", "?P<b_")  # names must differ
_LOCAL_CURRENCY = re.compile(
    rf"(?P<before>R\$|[$€£¥])\s?{_LOCAL_AMOUNT}"
    rf"|{_NOT_GLUED_BEFORE}{_AMOUNT_BEFORE_SYMBOL}\s?(?P<after>R\$|[$€£¥])"
)
_LOCAL_PERCENT = re.compile(rf"{_NOT_GLUED_BEFORE}{_LOCAL_AMOUNT}\s?%")
# 1er, 2e, 3ème (French); 1º, 2ª (Spanish, Italian, Portuguese).
_LOCAL_ORDINAL = re.compile(r"(?<![\w.,])(\d{1,6})(?:er|re|e|ème|ᵉ|º|ª|°(?![CF]))(?!\w)")


def _spell_out_locally(text: str, language: str) -> str:
    lang = _NUM2WORDS.get(_primary(language))
    if lang is None:
        return text
    text = _LOCAL_CURRENCY.sub(lambda m: _local_currency(m, lang), text)
    text = _LOCAL_PERCENT.sub(lambda m: f"{_local_words(m, lang)} {_PERCENT_WORDS[lang]}", text)
    if lang != "ja":
        text = _LOCAL_ORDINAL.sub(
            lambda m: str(num2words(int(m[1]), lang=lang, to="ordinal")), text
        )
    return _LOCAL_NUMBER.sub(lambda m: _local_words(m, lang), text)


def _local_value(sign: str | None, integer: str, fraction: str | None) -> float | int:
    whole = int(re.sub(r"\D", "", integer))
    value = float(f"{whole}.{fraction}") if fraction else whole
    return -value if sign else value


def _local_words(match: re.Match[str], lang: str, prefix: str = "") -> str:
    value = _local_value(match[prefix + "sign"], match[prefix + "int"], match[prefix + "frac"])
    return str(num2words(value, lang=lang))


def _local_currency(match: re.Match[str], lang: str) -> str:
    prefix = "" if match["before"] else "b_"
    symbol = match["before"] or match["after"]
    value = _local_value(match[prefix + "sign"], match[prefix + "int"], match[prefix + "frac"])
    code = _CURRENCY_CODES[symbol]
    converter = CONVERTER_CLASSES[lang]
    forms = getattr(converter, "CURRENCY_FORMS", {}).get(code)
    if forms is not None and value == int(value):  # "5 €": not "... and zero cents"
        with contextlib.suppress(NotImplementedError):  # Japanese has no plurals
            unit = converter.pluralize(abs(int(value)), forms[0])
            return f"{num2words(int(value), lang=lang)} {unit}"
    try:
        return str(num2words(value, lang=lang, to="currency", currency=code))
    except (NotImplementedError, KeyError, TypeError):  # a currency it does not name
        words = num2words(value, lang=lang)
        return f"{symbol} {words}" if match["before"] else f"{words} {symbol}"


def _collapse_whitespace(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# --- Sentences ---------------------------------------------------------------------------

_CLOSERS = "\"')]}\u00bb\u201d\u2019\u300d\u300f\uff09"
_CJK_END = "\u3002\uff01\uff1f"  # ideographic full stop, fullwidth exclamation and question
# Latin punctuation ends a sentence only before whitespace; CJK has no spaces to wait for.
_SENTENCE_END = re.compile(
    rf"[.!?\u2026]+[{re.escape(_CLOSERS)}]*(?=\s|$)|[{_CJK_END}]+[{re.escape(_CLOSERS)}]*"
)
# Words whose full stop does not end a sentence (titles, "e.g.", "vs.").
# fmt: off
_NON_BREAKING = frozenset((
    "mr", "mrs", "ms", "dr", "prof", "st", "mt", "rev", "gen", "capt", "sgt", "lt", "col",
    "gov", "sen", "rep", "vs", "e.g", "i.e", "cf", "fig", "approx",
))
# fmt: on
_INITIALS = re.compile(r"[A-Z]|(?:[A-Za-z]\.)+[A-Za-z]")
_WORD = re.compile(r"\w")


def split_sentences(text: str) -> list[str]:
    """Sentences in order, each keeping its closing punctuation and whitespace-collapsed.

    Lines always end sentences. Full stops after titles (Mr., Dr.), in "e.g.", after
    initials (J. R. R.) and before a lowercase word do not. A fragment with nothing to
    say ("...", "!!!") is kept with the sentence before it (or after it, at the start);
    text with no word character at all gives [].
    """
    sentences: list[str] = []
    pending = ""
    for piece in _pieces(text):
        if not _WORD.search(piece):
            if sentences:
                sentences[-1] += " " + piece
            else:
                pending += piece + " "
        else:
            sentences.append(pending + piece)
            pending = ""
    return sentences


def _pieces(text: str) -> list[str]:
    lines = (" ".join(line.split()) for line in text.splitlines())
    pieces = (piece.strip() for line in lines for piece in _split_line(line))
    return [piece for piece in pieces if piece]


def _split_line(line: str) -> list[str]:
    """line is whitespace-collapsed, so the next word starts one character after a match."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        if _is_boundary(line, match):
            pieces.append(line[start : match.end()])
            start = match.end()
    return [*pieces, line[start:]]


def _is_boundary(line: str, match: re.Match[str]) -> bool:
    if match[0][0] in _CJK_END:
        return True
    following = line[match.end() + 1 : match.end() + 2]
    if following.islower():
        return False  # "e.g. apples", "Wait... what": the sentence goes on.
    if match[0].rstrip(_CLOSERS) != ".":
        return True
    word_start = line.rfind(" ", 0, match.start()) + 1
    token = line[word_start : match.start()].lstrip("\"'([{\u201c\u2018")
    if token.lower() == "no" and following.isdigit():
        return False  # "No. 5"
    return token.lower() not in _NON_BREAKING and not _INITIALS.fullmatch(token)


# --- Chunks ------------------------------------------------------------------------------

# After a comma, semicolon, colon or dash followed by space; CJK clause marks need no space.
_CLAUSE_BREAK = re.compile(r"(?<=[,;:\u2014\u2013])\s+|(?<=[\uff0c\uff1b\uff1a\u3001])(?=\S)")
_WORD_BREAK = re.compile(r"\s+")


def chunk(text: str, max_chars: int) -> list[str]:
    """Split text into pieces of at most max_chars, at clause punctuation, then between words.

    Pieces are packed greedily so there are as few as possible. A word is only cut when it
    alone is longer than max_chars.
    """
    _check_limit("max_chars", max_chars)
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return [text] if text else []
    clauses = (p for clause in _CLAUSE_BREAK.split(text) for p in _fit(clause, max_chars))
    return _pack(clauses, max_chars)


def _fit(clause: str, max_chars: int) -> list[str]:
    if len(clause) <= max_chars:
        return [clause] if clause else []
    words = (piece for word in clause.split() for piece in _cut(word, max_chars))
    return _pack(words, max_chars)


def _cut(word: str, max_chars: int) -> list[str]:
    return [word[i : i + max_chars] for i in range(0, len(word), max_chars)]


def _pack(pieces: Iterable[str], max_chars: int) -> list[str]:
    packed: list[str] = []
    for piece in pieces:
        if packed and len(packed[-1]) + 1 + len(piece) <= max_chars:
            packed[-1] += " " + piece
        else:
            packed.append(piece)
    return packed


def stream_chunks(text: str, max_chars: int, first_chunk_chars: int | None = None) -> list[str]:
    """The pieces a streaming synthesizer speaks, in order: sentences chunked to max_chars.

    With first_chunk_chars, a longer first sentence is cut early (at its last clause break
    within the limit, else its last word break, else after its first word) so the first
    audio can be sent sooner.
    """
    sentences = split_sentences(text)
    if first_chunk_chars is not None:
        _check_limit("first_chunk_chars", first_chunk_chars)
        sentences[:1] = _split_head(sentences[0], first_chunk_chars) if sentences else []
    return [piece for sentence in sentences for piece in chunk(sentence, max_chars)]


# Words that lean on the next one: a first piece never ends with them ("It works from a").
_CLINGING = frozenset(
    {
        "a", "an", "the", "to", "of", "in", "on", "at", "by", "for", "from", "with", "and",
        "or", "but", "nor", "so", "as", "if", "than", "that", "my", "your", "his", "her",
        "its", "our", "their", "this", "these", "those", "is", "are", "was", "were", "be",
    }
)  # fmt: skip


def _split_head(sentence: str, limit: int) -> list[str]:
    # Cutting a sentence only a little longer than the limit gains little and costs prosody.
    if len(sentence) <= 2 * limit:
        return [sentence]
    cut = (
        _last_break(_CLAUSE_BREAK, sentence, limit)
        or _last_word_break(sentence, limit)
        or _WORD_BREAK.search(sentence)
    )
    if cut is None:
        return [sentence]
    return [sentence[: cut.start()], sentence[cut.end() :]]


def _last_word_break(text: str, limit: int) -> re.Match[str] | None:
    fitting = [m for m in _WORD_BREAK.finditer(text) if 0 < m.start() <= limit]
    free = [m for m in fitting if _last_word(text[: m.start()]) not in _CLINGING]
    candidates = free or fitting
    return candidates[-1] if candidates else None


def _last_word(text: str) -> str:
    return text.rsplit(maxsplit=1)[-1].strip(".,;:!?\"'").lower() if text.strip() else ""


def _last_break(pattern: re.Pattern[str], text: str, limit: int) -> re.Match[str] | None:
    fitting = [m for m in pattern.finditer(text) if 0 < m.start() <= limit]
    return fitting[-1] if fitting else None


def _check_limit(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


def pack(pieces: list[str], first_budget: int, max_chars: int) -> list[str]:
    """Join consecutive pieces into larger ones whose size limit doubles each time.

    The first piece stays as it is (short, so the first audio leaves early). After it, each
    piece may be twice as long as the one before, up to max_chars: engines speak long inputs
    faster and more naturally than single short sentences, and while a piece plays, the next
    one, at most twice its length, is ready before it ends whenever synthesis runs faster than
    half real time.
    """
    if not pieces:
        return []
    packed = [pieces[0]]
    budget = min(max(2 * len(pieces[0]), first_budget), max_chars)
    current = ""
    for piece in pieces[1:]:
        joined = f"{current} {piece}" if current else piece
        if current and len(joined) > budget:
            packed.append(current)
            budget = min(2 * budget, max_chars)
            joined = piece
        current = joined
    if current:
        packed.append(current)
    return packed
