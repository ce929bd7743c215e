"""Refuse request bodies over the configured size, with a 413 in the OpenAI error shape."""

from __future__ import annotations

import json

from greffier.api.errors import error_body


class BodySizeLimit:
    """Pure ASGI middleware, so streaming responses pass through untouched.

    A declared Content-Length over the limit is refused before any byte is read. A body
    sent without one (chunked) is read up to the limit first and replayed to the app, so
    the refusal never happens half-way through a handler.
    """

    def __init__(self, app, max_bytes: int, upload_bytes: int | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes

    def _limit(self, scope) -> int:
        is_upload = scope["method"] == "POST" and scope["path"].endswith(
            ("/documents", "/audio/transcriptions", "/meetings")
        )
        return self.upload_bytes if is_upload else self.max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self._limit(scope)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > limit:
                return await self._refuse(send, limit)
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                return await self._refuse(send, limit)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send, limit: int) -> None:
        setting = "max_upload_bytes" if limit == self.upload_bytes else "max_request_bytes"
        body = json.dumps(
            error_body(
                f"The request body is larger than the {limit} bytes this server "
                f"accepts here (setting {setting}).",
                "invalid_request_error",
                code="payload_too_large",
            )
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
