"""Errors a caller can act on. Each maps to one HTTP status and the OpenAI error envelope."""

from __future__ import annotations

from typing import Any


class VocalisError(Exception):
    status_code = 400
    error_type = "invalid_request_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def envelope(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(VocalisError):
    code = "invalid_value"


class ModelNotFound(VocalisError):
    status_code = 404
    code = "model_not_found"

    def __init__(self, message: str, *, param: str | None = "model"):
        super().__init__(message, param=param)


class ModelIntegrityError(VocalisError):
    """A model file does not match its published checksum; it is never used."""

    status_code = 500
    error_type = "server_error"
    code = "model_integrity_error"


class InvalidAudio(VocalisError):
    code = "invalid_file_format"

    def __init__(self, message: str):
        super().__init__(message, param="file")


class PayloadTooLarge(VocalisError):
    status_code = 413
    code = "file_too_large"

    def __init__(self, message: str):
        super().__init__(message, param="file")


class ServerBusy(VocalisError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "queue_full"

    def __init__(self, message: str, retry_after: int, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ShuttingDown(ServerBusy):
    """The server is draining before a restart: another instance should take the request."""

    status_code = 503
    error_type = "server_error"
    code = "shutting_down"


class ModelLoadFailed(VocalisError):
    """A model's files are there but its engine refused them: damaged, or the wrong format."""

    status_code = 500
    error_type = "server_error"
    code = "model_load_failed"

    def __init__(self, model: str, reason: BaseException):
        first_line = (str(reason).strip().splitlines() or [type(reason).__name__])[0][:300]
        first_line = first_line.rstrip(".")
        super().__init__(
            f"The model '{model}' could not be loaded: {first_line}. Its files may be damaged "
            "or of another format: delete its folder in the models directory (or fix the "
            "directory in VOCALIS_LOCAL_MODELS) and run `vocalis models pull` for it again.",
            param="model",
        )
