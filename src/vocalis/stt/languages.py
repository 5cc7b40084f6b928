"""The languages Whisper knows, and the check a request's `language` goes through."""

from __future__ import annotations

from faster_whisper.tokenizer import _LANGUAGE_CODES

from vocalis.errors import InvalidRequest
from vocalis.models.catalog import ModelSpec

LANGUAGES = frozenset(_LANGUAGE_CODES)


def check_language(language: str | None, spec: ModelSpec) -> str | None:
    """An ISO-639-1 code the model can use, or None to detect; InvalidRequest otherwise."""
    if not language or language.strip().lower() == "auto":
        return None
    code = language.strip().lower()
    if code not in LANGUAGES:
        raise InvalidRequest(
            f"Unsupported language '{language}': give an ISO-639-1 code such as 'en' or 'fr', "
            "or omit it to detect the language.",
            param="language",
        )
    if spec.languages and code not in spec.languages:
        raise InvalidRequest(
            f"The model '{spec.id}' supports only {', '.join(spec.languages)}.", param="language"
        )
    return code
