"""What can go wrong between Vocalis and the LLM, each as the status a caller can act on."""

from __future__ import annotations

from vocalis.errors import VocalisError


class LLMNotConfigured(VocalisError):
    status_code = 503
    error_type = "server_error"
    code = "llm_not_configured"


class LLMUnavailable(VocalisError):
    """The LLM could not be reached, or kept failing, after every retry."""

    status_code = 503
    error_type = "server_error"
    code = "llm_unavailable"


class LLMTimeout(VocalisError):
    status_code = 504
    error_type = "server_error"
    code = "llm_timeout"


class LLMFailed(VocalisError):
    """The LLM answered, but not with a reply: a refusal (404 model, 401 key) or garbage."""

    status_code = 502
    error_type = "server_error"
    code = "llm_error"
