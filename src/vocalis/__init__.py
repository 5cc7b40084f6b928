"""Vocalis: a self-hosted speech server behind the OpenAI audio API."""

__version__ = "0.1.0"

__all__ = ["__version__"]
