"""Text preparation for speech: normalisation, sentences and chunks."""

from __future__ import annotations

import random

import pytest

from vocalis.tts.text import chunk, normalize, number_to_words, split_sentences, stream_chunks

# --- number_to_words ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (20, "twenty"),
        (42, "forty-two"),
        (100, "one hundred"),
        (101, "one hundred one"),
        (999, "nine hundred ninety-nine"),
        (1000, "one thousand"),
        (1001, "one thousand one"),
        (1234, "one thousand two hundred thirty-four"),
        (1_000_000, "one million"),
        (2_000_300_040, "two billion three hundred thousand forty"),
        (-15, "minus fifteen"),
    ],
)
def test_number_to_words(number: int, words: str) -> None:
    assert number_to_words(number) == words


def test_number_to_words_refuses_numbers_without_names() -> None:
    with pytest.raises(ValueError, match="too large"):
        number_to_words(10**40)


# --- normalize ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("I have 3 apples.", "I have three apples."),
        ("It is -5 outside.", "It is minus five outside."),
        ("About 1,234 people.", "About one thousand two hundred thirty-four people."),
        ("Pi is 3.14.", "Pi is three point one four."),
        ("Take .5 of it.", "Take point five of it."),
        ("Version 1.2.3", "Version one point two point three"),
        ("Agent 007", "Agent zero zero seven"),
        ("In 1984 and 1215.", "In nineteen eighty-four and twelve fifteen."),
        ("In 1066.", "In one thousand sixty-six."),
        ("By 2024 or 2010.", "By twenty twenty-four or twenty ten."),
        ("In 1900 and 1905.", "In nineteen hundred and nineteen oh five."),
        ("In 2005 and 2100.", "In two thousand five and two thousand one hundred."),
        ("It has 1,984 pages.", "It has one thousand nine hundred eighty-four pages."),
        ("Music of the 1980s and '90s.", "Music of the nineteen eighties and nineties."),
        ("The 1st, 2nd, 3rd and 4th.", "The first, second, third and fourth."),
        (
            "The 11th, 12th, 21st and 100th.",
            "The eleventh, twelfth, twenty-first and one hundredth.",
        ),
        ("It costs $5.50.", "It costs five dollars fifty cents."),
        ("Just $1 or $0.99 or $0.01.", "Just one dollar or ninety-nine cents or one cent."),
        ("Only $1,000.", "Only one thousand dollars."),
        ("A $2.5 million deal.", "A two point five million dollars deal."),
        ("Pay €3.20 or £1.", "Pay three euros twenty cents or one pound."),
        ("Lost -$4.", "Lost minus four dollars."),
        ("It rose 50%.", "It rose fifty percent."),
        ("A 3.5% rate.", "A three point five percent rate."),
        ("It is 20°C or 68°F.", "It is twenty degrees Celsius or sixty-eight degrees Fahrenheit."),
        ("Turn 90° now.", "Turn ninety degrees now."),
        ("R&D @ home + more", "R and D at home plus more"),
        ("Meet at 3:30 or 3:05.", "Meet at three thirty or three oh five."),
        ("At 12:00 or 14:00.", "At twelve o'clock or fourteen hundred."),
        ("Play mp3 on an A4 sheet.", "Play mp three on an A four sheet."),
        ("COVID-19 lasted 5-10 days.", "COVID-nineteen lasted five-ten days."),
    ],
)
def test_normalize_spells_out_numbers_and_symbols(text: str, spoken: str) -> None:
    assert normalize(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Mr. Smith met Mrs. Jones.", "Mister Smith met Missus Jones."),
        ("Dr. Who and Prof. X.", "Doctor Who and Professor X."),
        ("Ms. Lee vs. Mt. Fuji", "Miz Lee versus Mount Fuji"),
        ("Fruit, e.g. apples, i.e. food.", "Fruit, for example apples, that is food."),
        ("St. Louis is on Main St.", "Saint Louis is on Main Street."),
        ("Apples, pears, etc. Then more.", "Apples, pears, et cetera. Then more."),
        ("Apples, pears, etc. and more.", "Apples, pears, et cetera and more."),
        ("It is No. 5.", "It is number five."),
        ("Say no. Then go.", "Say no. Then go."),
        ("Sammy Davis Jr.", "Sammy Davis Junior."),
    ],
)
def test_normalize_expands_abbreviations(text: str, spoken: str) -> None:
    assert normalize(text) == spoken


def test_normalize_collapses_whitespace_but_keeps_line_breaks() -> None:
    assert normalize("  Hello \t  world  \n\n\n  next   line \r\n") == "Hello world\nnext line"


def test_normalize_tidies_space_before_punctuation_it_created() -> None:
    assert normalize("Up 5% , then 6% .") == "Up five percent, then six percent."
    assert normalize("Hello. !!! Bye.") == "Hello. !!! Bye."


def test_normalize_reads_very_long_digit_runs_digit_by_digit() -> None:
    assert normalize("1" * 40) == " ".join(["one"] * 40)


@pytest.mark.parametrize("language", ["de", "hi", "zh-CN"])
def test_normalize_only_collapses_whitespace_without_a_number_speller(language: str) -> None:
    assert normalize("  Il a  5 ans,  Mr. X  &  50%.\n\n x ", language) == (
        "Il a 5 ans, Mr. X & 50%.\nx"
    )


@pytest.mark.parametrize(
    ("language", "text", "spoken"),
    [
        ("fr", "Il a 5 ans, Mr. X & 50%.", "Il a cinq ans, Mr. X & cinquante pour cent."),
        ("fr-FR", "Le 1er mai 1984.", "Le premier mai mille neuf cent quatre-vingt-quatre."),
        ("fr", "Payé 3,50 € ou 20 €.", "Payé trois euros et cinquante centimes ou vingt euros."),
        ("fr", "Il fait -3 degrés.", "Il fait moins trois degrés."),
        (
            "es",
            "Cuesta $5.50, el 2º piso.",
            "Cuesta cinco dólares con cincuenta centavos, el segundo piso.",
        ),
        (
            "es-ES",
            "Son 10.000 personas y 1.5 metros.",
            "Son diez mil personas y uno punto cinco metros.",
        ),
        ("es", "Del 5-10, 3,5 %.", "Del cinco-diez, tres punto cinco por ciento."),
        ("it", "Il 3º posto, 1.000.000 di euro.", "Il terzo posto, un milione di euro."),
        ("it", "Costa 7 € e 3,14 metri.", "Costa sette euro e tre virgola uno quattro metri."),
        ("pt-BR", "São 2,5 kg por 5 €.", "São dois vírgula cinco kg por cinco euros."),
        ("ja", "価格は¥500、3.5メートル、1984年", "価格は五百円、三点五メートル、千九百八十四年"),
    ],
)
def test_normalize_spells_out_numbers_in_kokoros_other_languages(
    language: str, text: str, spoken: str
) -> None:
    assert normalize(text, language) == spoken


@pytest.mark.parametrize("language", ["en", "EN", "en-US", "en_GB"])
def test_normalize_recognises_english_variants(language: str) -> None:
    assert normalize("5", language) == "five"


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t"])
def test_normalize_of_blank_text_is_empty(text: str) -> None:
    assert normalize(text) == ""


def test_normalize_leaves_unicode_words_alone() -> None:
    assert normalize("Café naïve 東京 3") == "Café naïve 東京 three"


# --- split_sentences ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Hello there. How are you? Fine!", ["Hello there.", "How are you?", "Fine!"]),
        ("One.Two. Three", ["One.Two.", "Three"]),
        ("Wait… What?! Really...", ["Wait…", "What?!", "Really..."]),
        ('He said "Stop." Then (quietly.) Left.', ['He said "Stop."', "Then (quietly.)", "Left."]),
        ("Mr. Smith and Dr. Jones met. Then left.", ["Mr. Smith and Dr. Jones met.", "Then left."]),
        ("Fruit, e.g. Apples, i.e. Food. Yes.", ["Fruit, e.g. Apples, i.e. Food.", "Yes."]),
        ("Pi is 3.14 today. Yes.", ["Pi is 3.14 today.", "Yes."]),
        ("J. R. R. Tolkien wrote it. Yes.", ["J. R. R. Tolkien wrote it.", "Yes."]),
        ("In the U.S. Army. Done.", ["In the U.S. Army.", "Done."]),
        ("It is No. 5 here. Yes.", ["It is No. 5 here.", "Yes."]),
        ("Really... no. Fine.", ["Really... no.", "Fine."]),
        ("A title\nA line\n\nA paragraph.", ["A title", "A line", "A paragraph."]),
        ("  spaced   out .  ", ["spaced out ."]),
    ],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_split_sentences_splits_cjk_without_spaces() -> None:
    text = "今日は晴れです\u3002明日も\uff01本当\uff1fはい"
    assert split_sentences(text) == ["今日は晴れです\u3002", "明日も\uff01", "本当\uff1f", "はい"]


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "...", "?! …", "-- !"])
def test_split_sentences_of_nothing_to_say_is_empty(text: str) -> None:
    assert split_sentences(text) == []


def test_split_sentences_keeps_punctuation_only_fragments_with_a_sentence() -> None:
    assert split_sentences("... Hello. !!! Bye.") == ["... Hello. !!!", "Bye."]
    assert split_sentences("Title\n---\nBody.") == ["Title ---", "Body."]


def test_split_sentences_handles_unicode_words() -> None:
    assert split_sentences("Ça va? Très bien. Ümlaut!") == ["Ça va?", "Très bien.", "Ümlaut!"]


# --- chunk -------------------------------------------------------------------------------


def test_chunk_keeps_short_text_whole() -> None:
    assert chunk("  Short   text. ", 20) == ["Short text."]


def test_chunk_of_empty_text_is_empty() -> None:
    assert chunk("", 10) == []
    assert chunk("   ", 10) == []


def test_chunk_splits_at_clause_punctuation_first() -> None:
    text = "First part here, second part here; third part: and — the last one."
    assert chunk(text, 25) == [
        "First part here,",
        "second part here;",
        "third part: and —",
        "the last one.",
    ]


def test_chunk_falls_back_to_word_boundaries() -> None:
    text = "one two three four five six seven eight nine ten"
    assert chunk(text, 14) == ["one two three", "four five six", "seven eight", "nine ten"]


def test_chunk_cuts_only_words_longer_than_the_limit() -> None:
    assert chunk("a supercalifragilistic b", 8) == ["a", "supercal", "ifragili", "stic b"]


def test_chunk_never_exceeds_the_limit() -> None:
    text = "Well, this sentence, which is long; goes on: and on, and on — until the end."
    for limit in range(1, 40):
        assert all(len(piece) <= limit for piece in chunk(text, limit))


def test_chunk_splits_cjk_at_clause_marks() -> None:
    text = "今日はいい天気ですね\u3001散歩に行きましょう\u3001公園まで\u3002"
    assert chunk(text, 12) == [
        "今日はいい天気ですね\u3001",
        "散歩に行きましょう\u3001",
        "公園まで\u3002",
    ]


def test_chunk_rejects_a_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        chunk("text", 0)


# --- stream_chunks -----------------------------------------------------------------------


def test_stream_chunks_are_sentences_chunked() -> None:
    text = "Hello there. This second sentence is rather long, with a clause. End."
    assert stream_chunks(text, 30) == [
        "Hello there.",
        "This second sentence is rather",
        "long, with a clause.",
        "End.",
    ]


def test_stream_chunks_without_text_is_empty() -> None:
    assert stream_chunks("", 100, first_chunk_chars=10) == []
    assert stream_chunks(" ... ", 100) == []


def test_first_chunk_prefers_a_clause_break() -> None:
    text = "Well, I think we should go now and come back later. Second."
    assert stream_chunks(text, 200, first_chunk_chars=20) == [
        "Well,",
        "I think we should go now and come back later.",
        "Second.",
    ]


def test_first_chunk_falls_back_to_the_last_word_break_within_the_limit() -> None:
    text = "I think we should go now and come back later. Second one."
    assert stream_chunks(text, 200, first_chunk_chars=20) == [
        "I think we should go",
        "now and come back later.",
        "Second one.",
    ]


def test_first_chunk_never_ends_on_a_word_that_leans_on_the_next() -> None:
    text = "It works from a fresh clone of the repository on any machine."
    first, rest = stream_chunks(text, 200, first_chunk_chars=16)
    assert first == "It works"
    assert rest == "from a fresh clone of the repository on any machine."


def test_a_sentence_under_twice_the_limit_is_not_cut() -> None:
    assert stream_chunks("It works from a fresh clone.", 200, first_chunk_chars=16) == [
        "It works from a fresh clone."
    ]


def test_first_chunk_keeps_an_overlong_first_word_whole() -> None:
    text = "Extraordinarily long words come first. Then."
    assert stream_chunks(text, 200, first_chunk_chars=5) == [
        "Extraordinarily",
        "long words come first.",
        "Then.",
    ]


def test_first_chunk_leaves_a_short_first_sentence_and_later_sentences_alone() -> None:
    text = "Hi. A much longer second sentence that goes on."
    assert stream_chunks(text, 200, first_chunk_chars=10) == [
        "Hi.",
        "A much longer second sentence that goes on.",
    ]


def test_first_chunk_respects_max_chars_too() -> None:
    text = "Short start, then a tail that is longer than max chars allows here."
    pieces = stream_chunks(text, 25, first_chunk_chars=15)
    assert pieces[0] == "Short start,"
    assert all(len(piece) <= 25 for piece in pieces)


def test_first_chunk_chars_must_be_positive() -> None:
    with pytest.raises(ValueError, match="first_chunk_chars"):
        stream_chunks("Hello.", 10, first_chunk_chars=0)


def test_stream_chunks_of_cjk_rebuild_the_text() -> None:
    text = "今日はいい天気ですね\u3001散歩に行きましょう\u3002明日も行きます\u3002"
    assert "".join(stream_chunks(text, 12, first_chunk_chars=8)) == text


_VOCABULARY = [
    "the", "quick", "brown", "fox", "Mr.", "Dr.", "e.g.", "J.", "3.14", "1,234", "etc.",
    "Hello.", "Why?", "Stop!", "Wait…", "well,", "then;", "so:", "—", "...", "\"Quoted.\"",
    "(aside)", "café", "naïve", "extraordinarily", "U.S.", "No.", "5", "\n", "\n\n",
]  # fmt: skip


def _random_text(rng: random.Random) -> str:
    words = rng.choices(_VOCABULARY, k=rng.randint(0, 60))
    words.insert(rng.randint(0, len(words)), "word")  # something to say
    return " ".join(words) + rng.choice(["", ".", " ", "\n"])


@pytest.mark.parametrize("seed", range(200))
def test_stream_chunks_give_back_every_word_in_order(seed: int) -> None:
    rng = random.Random(seed)
    text = _random_text(rng)
    max_chars = rng.randint(len("extraordinarily"), 80)
    first = rng.choice([None, *range(1, 40)])
    pieces = stream_chunks(text, max_chars, first_chunk_chars=first)
    assert " ".join(pieces).split() == text.split()
    assert all(piece and len(piece) <= max_chars for piece in pieces)


def test_pack_grows_pieces_up_to_the_limit() -> None:
    from vocalis.tts.text import pack

    sentences = [f"Sentence number {n} is here." for n in range(12)]  # 26-27 characters each
    packed = pack(["Short start,", *sentences], first_budget=30, max_chars=120)
    assert packed[0] == "Short start,"
    assert " ".join(packed) == " ".join(["Short start,", *sentences])
    sizes = [len(p) for p in packed[1:]]
    assert all(size <= 120 for size in sizes)
    assert sizes[0] <= 30 and sizes[1] <= 60 and max(sizes) > 60
    assert pack([], 10, 100) == []
    assert pack(["One.", "x" * 150], 10, 100) == ["One.", "x" * 150]
