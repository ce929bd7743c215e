"""Web sessions: sign in with an API key or a user name and password, then a cookie.

The cookie holds an opaque 256-bit token; the database keeps only its SHA-256 with the user
id, the key signed in with (if any), an anti-CSRF token and the expiry. Every request
re-checks the person (``IdentityService.principal``): disabling a user, deleting them or
revoking the key a session was opened with ends that session at once. HTTP (cookies,
headers, forms) stays in ``greffier.web``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from greffier.errors import AuthenticationFailed
from greffier.services.identity import IdentityService
from greffier.services.principal import Principal
from greffier.services.throttle import SignInThrottle
from greffier.store.interfaces import SessionStore


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str


@dataclass(frozen=True)
class Opened:
    token: str  # for the cookie; never stored
    session: Session
    notices: int = 0  # unread notices about the person's credentials (shown first)


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        identity: IdentityService,
        hours: float,
        throttle: SignInThrottle | None = None,
    ):
        self.store = store
        self.identity = identity
        self.lifetime = timedelta(hours=hours)
        self.throttle = throttle

    def open_with_key(self, key: str) -> Opened:
        return self._open(self.identity.authenticate(key.strip()))

    def open_with_password(self, name: str, password: str, address: str = "") -> Opened:
        """Sign in with a password from ``address`` (the client's, as the server sees it
        through trusted proxies): throttled per account and per address, checked before
        any hashing (services/throttle.py)."""
        if self.throttle is None:
            return self._open(self.identity.sign_in(name, password))
        self.throttle.check(name, address)
        try:
            principal = self.identity.sign_in(name, password)
        except AuthenticationFailed:
            self.throttle.failed(name, address)
            raise
        self.throttle.succeeded(name)
        return self._open(principal)

    def _open(self, principal: Principal) -> Opened:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = (datetime.now(UTC) + self.lifetime).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        key_id = principal.key_id or None
        self.store.add_session(token, principal.user_id, key_id, csrf, expires)
        return Opened(token, Session(principal, csrf), self.identity.unseen_notices(principal))

    def resolve(self, token: str) -> Session:
        """The session of a cookie value, checked against the user (and key) as they are
        now; AuthenticationFailed when it is unknown, expired or no longer allowed."""
        record = self.store.session(token) if token else None
        if record is None:
            raise AuthenticationFailed(
                "Your session has ended: sign in again.", code="session_expired"
            )
        try:
            principal = self.identity.principal(record.user_id, record.key_id)
        except AuthenticationFailed:
            self.store.delete_session(token)
            raise
        return Session(principal, record.csrf)

    def close(self, token: str) -> None:
        self.store.delete_session(token)
