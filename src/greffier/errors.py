"""Domain exceptions.

Each carries the HTTP status and OpenAI error ``type``/``code`` it maps to, and a message
that tells the user what to do. They know nothing of HTTP frameworks: the API layer turns
them into the OpenAI error shape in one place (``greffier.api.errors``), the CLI prints them.

An error may carry a ``detail`` for the people who run the server: a file path, an
upstream's address, the command that fixes it. People who only use the server see the
``message``; admins, the console and the log see both (``full_message``).
"""

from __future__ import annotations


class GreffierError(Exception):
    status: int = 500
    type: str = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        detail: str | None = None,
    ):
        super().__init__(f"{message} {detail}" if detail else message)
        self.message = message
        self.param = param
        self.detail = detail  # for admins and the log only
        if code is not None:
            self.code = code

    @property
    def full_message(self) -> str:
        """The message with its operator's detail: for admins, the console and the log."""
        return f"{self.message} {self.detail}" if self.detail else self.message


class InvalidRequest(GreffierError):
    status = 400
    type = "invalid_request_error"


class ContextLengthExceeded(InvalidRequest):
    code = "context_length_exceeded"


class Unsupported(InvalidRequest):
    code = "unsupported_parameter"


class DatasetRefused(InvalidRequest):
    """A data set that does not match its card (damaged or altered), or is not one."""

    code = "dataset_refused"


class Conflict(InvalidRequest):
    """The request is well formed but clashes with what exists (a name already taken)."""

    status = 409
    code = "already_exists"


class AuthenticationFailed(GreffierError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(GreffierError):
    status = 403
    type = "permission_error"
    code = "permission_denied"


class NotFound(GreffierError):
    status = 404
    type = "not_found_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class PayloadTooLarge(GreffierError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class RateLimited(GreffierError):
    """Too many requests for now; the client should retry after ``retry_after`` s."""

    status = 429
    type = "rate_limit_error"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        code: str | None = None,
        detail: str | None = None,
    ):
        super().__init__(message, code=code, detail=detail)
        self.retry_after = retry_after


class ModelBusy(RateLimited):
    """The model's wait queue is full."""

    code = "model_busy"


class QuotaExceeded(RateLimited):
    """A quota of the caller's key or group is used up (services/quotas.py)."""

    code = "quota_exceeded"


class SignInThrottled(RateLimited):
    """Too many failed sign-ins for an account or from an address (services/throttle.py)."""

    code = "too_many_sign_ins"


class ModelFileError(GreffierError):
    """A model file is missing or does not match its pinned checksum. The message says so
    to anyone; the detail (path, command that fixes it) is for admins and the log."""

    status = 503
    type = "server_error"
    code = "model_unavailable"


class ModelNotReady(ModelFileError):
    """A catalogue model this server cannot serve yet (its file or its runtime is not
    installed). People choosing a model in a client read ``message``, which names no
    server path and no command; ``detail`` (what the operator must do) goes to the log and
    the console."""

    code = "model_not_ready"

    def __init__(self, message: str, *, detail: str, param: str | None = "model"):
        super().__init__(message, param=param)
        self.detail = detail


class IndexNeedsReindex(GreffierError):
    """The document index was built with another embedder than the configured one: its
    vectors cannot be compared with the new embedder's (another length, or another space)
    until the documents are embedded again."""

    status = 503
    type = "server_error"
    code = "index_needs_reindex"


class CatalogueError(GreffierError):
    status = 500
    type = "server_error"
    code = "catalogue_error"


class UpstreamError(GreffierError):
    """An upstream OpenAI-compatible server failed or answered with an error."""

    status = 502
    type = "upstream_error"
    code = "upstream_error"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class ConfigError(GreffierError):
    status = 500
    type = "server_error"
    code = "config_error"


def public_message(exc: BaseException) -> str:
    """What people who are not admins may read of an error kept for them (a failed job): a
    domain error's message without its operator's detail; any other error as it is."""
    return exc.message if isinstance(exc, GreffierError) else str(exc)
