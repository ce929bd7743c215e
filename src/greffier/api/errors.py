"""The one place where errors become HTTP responses, in the OpenAI error shape::

    {"error": {"message": "...", "type": "...", "param": null, "code": "..."}}

Every 4xx and 5xx the server sends, including FastAPI's own validation and routing
errors, goes through :func:`error_response`. :func:`documented` states the same shape in the
OpenAPI document, for the statuses an operation can answer.

An id that fails validation (``greffier.http.inputs.Id``: too large for any database, zero,
not a number) gets the same 404 as a missing one, before any query.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from greffier.errors import GreffierError, QuotaExceeded
from greffier.http.inputs import UNKNOWN_ID

log = logging.getLogger(__name__)

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def _text(value: str | None) -> str | None:
    """Text that can be sent as UTF-8: a message may quote what the client sent, and what
    it sent may hold an unpaired surrogate (shown escaped, as ``\\ud800``)."""
    if value is None:
        return None
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict:
    return {
        "error": {"message": _text(message), "type": type_, "param": _text(param), "code": code}
    }


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """The OpenAI error shape, as the OpenAPI document states it."""

    error: ErrorDetail


_MEANINGS = {
    400: "Invalid request: a parameter is missing, malformed or out of range (`param` names it).",
    401: "No API key, or one that is unknown, revoked or expired.",
    403: "The caller may not do this (an admin operation, or a missing permission).",
    404: "No such resource, or one the caller may not see (the same answer for both).",
    409: "A name already taken.",
    413: "The request body is larger than the server accepts.",
    429: "Too many requests: the model is busy or a quota is used up (see `Retry-After`).",
    502: "The upstream model server failed.",
    503: "The model's files are missing or do not match their checksums.",
    504: "The upstream model server did not answer in time.",
}


def documented(*statuses: int) -> dict[int | str, dict]:
    """The ``responses=`` of an operation or router: each status with its meaning and the
    OpenAI error shape."""
    return {s: {"model": ErrorResponse, "description": _MEANINGS[s]} for s in statuses}


def error_response(
    status: int,
    message: str,
    *,
    type_: str | None = None,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = error_body(message, type_ or _TYPES.get(status, "server_error"), param, code)
    return JSONResponse(body, status_code=status, headers=headers)


def shown_message(exc: GreffierError, request: Request | None) -> str:
    """What the caller reads: the operator's detail (a path, an upstream's address, the
    command that fixes it) only for admins; members get the short reason."""
    principal = getattr(request.state, "principal", None) if request is not None else None
    return exc.full_message if principal is not None and principal.is_admin else exc.message


def from_domain(exc: GreffierError, request: Request | None = None) -> JSONResponse:
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(
        exc.status,
        shown_message(exc, request),
        type_=exc.type,
        param=exc.param,
        code=exc.code,
        headers=headers,
    )


def sse_error(exc: GreffierError, request: Request | None = None) -> str:
    """An error that happens after a stream has started, as a final SSE event."""
    if exc.detail:
        log.warning("%s", exc.full_message)
    body = error_body(shown_message(exc, request), exc.type, exc.param, exc.code)
    return f"data: {json.dumps(body)}\n\n"


# Errors of our own request types whose type is the code to send (api/bodies.py).
_OWN_CODES = frozenset({"invalid_language"})
# The tags pydantic puts in a location for the member of a union an error comes from.
_PLAIN_TAGS = frozenset({"str", "int", "float", "bool", "none", "list", "dict"})
# Errors that only say the value is not of a union member's kind: another member's error
# says more ("too short" rather than "not a list").
_KIND_MISMATCH = frozenset(
    {
        "string_type",
        "int_type",
        "float_type",
        "bool_type",
        "list_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "literal_error",
        "none_required",
    }
)


def _is_tag(part) -> bool:
    return isinstance(part, str) and (part in _PLAIN_TAGS or any(c in part for c in "[(-'"))


def _param(loc: tuple) -> str | None:
    """``messages.0.role`` from pydantic's location, without the place ("body", "query")
    and without the tags of union members ("list[int]", "constrained-str")."""
    parts = [str(p) for p in loc[1:] if not _is_tag(p)]
    return ".".join(parts) or None


def _primary(errors: list[dict]) -> dict:
    """The error to report: the first, unless it only says that a value is not of one
    union member's kind while another member's error, at the same place, says more."""
    first = errors[0] if errors else {}
    loc = tuple(first.get("loc", ()))
    tag = next((i for i, p in enumerate(loc) if _is_tag(p)), None)
    if tag is None or first.get("type") not in _KIND_MISMATCH:
        return first
    same_place = (e for e in errors if tuple(e.get("loc", ()))[:tag] == loc[:tag])
    return next((e for e in same_place if e.get("type") not in _KIND_MISMATCH), first)


def _unknown_id(exc: RequestValidationError) -> JSONResponse | None:
    """The 404 of a missing record, for an id no record can have. An id in the path comes
    first: a URL that names nothing is a 404 whatever its body holds."""
    errors = [e for e in exc.errors() if e.get("type") == UNKNOWN_ID]
    in_path = [e for e in errors if e.get("loc", ("",))[0] == "path"]
    primary = _primary(list(exc.errors()))
    chosen = in_path[0] if in_path else primary if primary.get("type") == UNKNOWN_ID else None
    if chosen is None:
        return None
    loc = chosen.get("loc", ())
    # The last name in the location: "collections" for retrieval.collections.0.
    names = [p for p in loc[1:] if isinstance(p, str) and p.isidentifier()]
    return error_response(404, chosen["msg"], param=names[-1] if names else None, code="not_found")


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None, str]:
    first = _primary(list(exc.errors()))
    if first.get("type") == "json_invalid":
        detail = first.get("ctx", {}).get("error", "")
        return f"The request body is not valid JSON: {detail}".rstrip(": "), None, "invalid_json"
    param = _param(tuple(first.get("loc", ())))
    if first.get("type") == "missing":
        return f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    if first.get("type") == "model_attributes_type":
        return "The request body must be a JSON object.", None, "invalid_type"
    message = first.get("msg", "Invalid request.")
    message = message if message.endswith(".") else message + "."
    code = first["type"] if first.get("type") in _OWN_CODES else "invalid_value"
    return f"Invalid value for '{param}': {message}" if param else message, param, code


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. (Starlette's own 405 names only the
    methods of the first route whose path matches, when several routes share a path.)
    Each method is tried against the router's routes, through their public ``matches``."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


def install(app: FastAPI) -> None:
    @app.exception_handler(GreffierError)
    async def _domain(request: Request, exc: GreffierError) -> JSONResponse:
        if isinstance(exc, QuotaExceeded):
            request.app.state.services.metrics.quota_refusals.inc()
        if exc.status >= 500 or exc.detail:
            log.warning("%s %s failed: %s", request.method, request.url.path, exc.full_message)
        return from_domain(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        unknown = _unknown_id(exc)
        if unknown is not None:
            return unknown
        message, param, code = _validation_message(exc)
        return error_response(400, message, param=param, code=code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404:
            message = f"Unknown URL: {request.method} {request.url.path}."
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            message = f"{request.method} is not allowed on {request.url.path}: use {allowed}."
            headers = {**(headers or {}), "Allow": allowed}
        return error_response(exc.status_code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("Unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, "Internal error: the server log has the details.", code="internal_error"
        )
