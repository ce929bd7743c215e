"""Security headers on every API response: nothing the API returns is a page.

The API answers JSON, files and media. Whatever bytes a response carries (a recording, an
uploaded document, an export), a browser must neither sniff them into something else
(``nosniff``) nor run them: the Content-Security-Policy allows nothing and sandboxes the
response, so even a file opened directly in a tab has no script and no origin to act with.
"""

from __future__ import annotations

API_HEADERS = (
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; sandbox"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


class ApiSecurityHeaders:
    """Pure ASGI middleware (streamed responses pass untouched): adds ``API_HEADERS`` to
    every response under ``/v1``, replacing any a route set."""

    def __init__(self, app, prefix: str = "/v1"):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {name for name, _ in API_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + list(API_HEADERS)}
            await send(message)

        await self.app(scope, receive, with_headers)
