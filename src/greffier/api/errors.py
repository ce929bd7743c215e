"""The one place where errors become HTTP responses, in the OpenAI error shape::

    {"error": {"message": "...", "type": "...", "param": null, "code": "..."}}

Every 4xx and 5xx the server sends, including FastAPI's own validation and routing
errors, goes through :func:`error_response`.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from greffier.errors import GreffierError

log = logging.getLogger(__name__)

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


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


def from_domain(exc: GreffierError) -> JSONResponse:
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(
        exc.status, exc.message, type_=exc.type, param=exc.param, code=exc.code, headers=headers
    )


def sse_error(exc: GreffierError) -> str:
    """An error that happens after a stream has started, as a final SSE event."""
    body = error_body(exc.message, exc.type, exc.param, exc.code)
    return f"data: {json.dumps(body)}\n\n"


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None, str]:
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        detail = first.get("ctx", {}).get("error", "")
        return f"The request body is not valid JSON: {detail}".rstrip(": "), None, "invalid_json"
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    if first.get("type") == "missing":
        return f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    if first.get("type") == "model_attributes_type":
        return "The request body must be a JSON object.", None, "invalid_type"
    message = first.get("msg", "Invalid request.")
    return f"Invalid value for '{param}': {message}." if param else message, param, "invalid_value"


def install(app: FastAPI) -> None:
    @app.exception_handler(GreffierError)
    async def _domain(request: Request, exc: GreffierError) -> JSONResponse:
        if exc.status >= 500:
            log.warning("%s %s failed: %s", request.method, request.url.path, exc.message)
        return from_domain(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param, code = _validation_message(exc)
        return error_response(400, message, param=param, code=code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        if exc.status_code == 404:
            message = f"Unknown URL: {request.method} {request.url.path}."
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("Unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, "Internal error: the server log has the details.", code="internal_error"
        )
