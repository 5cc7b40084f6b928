"""Markdown to speakable text: pure, whole or in the pieces an LLM streams."""

from __future__ import annotations

import random

import pytest

from vocalis.chat.markdown import Kind, MarkdownSpeech, classify, safe_end, speakable

DOCUMENT = """# Getting started

Here is **how** to do it, see [the docs](https://example.com/docs) or https://www.python.org/about.
1. Install the `vocalis` package
2) Run `pip install --editable .[dev,test] --no-build-isolation`
- [x] done
* another *item* with __strong__ words
+ and ~~struck~~ text

| Name | Age |
|------|----:|
| Alice | 30 |

```python
print("hi")  # a comment
```
After the code. C# and #5 and snake_case.
---
> A quote with ![a cat](cat.png) and <b>bold</b> and <https://x.org/a>.
***
~~~
more code
~~~
Done"""

SPOKEN = [
    "Getting started.",
    "Here is how to do it, see the docs or python.org.",
    "Install the vocalis package.",
    "Run code.",
    "done.",
    "another item with strong words.",
    "and struck text.",
    "Name, Age.",
    "Alice, 30.",
    "Code omitted.",
    "After the code. C sharp and number 5 and snake case.",
    "A quote with a cat and bold and x.org.",
    "Code omitted.",
    "Done.",
]


def lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_a_whole_reply_reads_without_markup() -> None:
    assert lines(speakable(DOCUMENT)) == SPOKEN


@pytest.mark.parametrize("seed", range(60))
def test_any_split_into_pieces_says_the_same(seed: int) -> None:
    rng = random.Random(seed)
    speech, said, i = MarkdownSpeech(), [], 0
    while i < len(DOCUMENT):
        j = i + rng.randint(1, 8)
        said.append(speech.push(DOCUMENT[i:j]))
        i = j
    said.append(speech.flush())
    assert lines("".join(said)) == SPOKEN


def test_text_leaves_before_its_line_ends() -> None:
    speech = MarkdownSpeech()
    assert speech.push("- First, **bold") == "First, "
    assert speech.push(" words** and [a link](http://x") == "bold words and "
    assert speech.push(".org) go") == "a link "
    assert speech.flush() == "go.\n"


def test_a_code_fence_stays_open_until_it_closes() -> None:
    speech = MarkdownSpeech()
    assert speech.push("Look:\n``") == "Look:\n"
    assert speech.push("`js\nlet a = 1;\n\nlet b") == "Code omitted.\n"
    assert speech.push(" = 2;\n`") == ""
    assert speech.push("``\nAfter.") == ""
    assert speech.flush() == "After.\n"


def test_the_code_note_is_in_the_replys_language() -> None:
    assert speakable("```\nx\n```", "fr-FR") == "Code omis.\n"
    assert speakable("```\nx\n```", "de") == "Code omitted.\n"


@pytest.mark.parametrize(
    ("line", "final", "kind"),
    [
        ("-", False, None),
        ("1.", False, None),
        ("``", False, None),
        ("- y", False, (Kind.TEXT, 2)),
        ("12) y", False, (Kind.TEXT, 4)),
        ("  ## Title", False, (Kind.TEXT, 5)),
        ("**Bold** start", False, (Kind.TEXT, 0)),
        ("-5 degrees", False, (Kind.TEXT, 0)),
        ("```py", False, (Kind.FENCE, 5)),
        ("| a |", False, (Kind.TABLE, 0)),
        ("- - -", True, (Kind.RULE, 5)),
        ("", True, (Kind.BLANK, 0)),
    ],
)
def test_classify(line: str, final: bool, kind: tuple[Kind, int] | None) -> None:
    assert classify(line, final) == kind


def test_safe_end_stops_before_what_is_still_open() -> None:
    assert safe_end("one two") == 4
    assert safe_end("see `a b") == 4
    assert safe_end("see `a b` now") == 10
    assert safe_end("a [link text](http://x") == 2
    assert safe_end("a <b>bold</b> x") == 14
    assert safe_end("if a < b then") == 9
