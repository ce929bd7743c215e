"""API keys: issue, authenticate, list, revoke."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from greffier.errors import AuthenticationFailed, InvalidRequest, NotFound
from greffier.store.identity import IdentityStore, KeyRecord

KEY_PREFIX = "grf_"
ROLES = ("admin", "member")
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the identity every service call is made on behalf of."""

    user_id: int
    user: str
    role: str
    key_id: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    record_id: int
    prefix: str


class IdentityService:
    def __init__(self, store: IdentityStore):
        self.store = store

    def issue_key(self, user: str, role: str = "member", label: str = "") -> IssuedKey:
        if role not in ROLES:
            raise InvalidRequest(f"Unknown role '{role}': use one of {', '.join(ROLES)}.")
        if not user.strip():
            raise InvalidRequest("A key needs a user name.")
        user_id = self.store.ensure_user(user.strip(), role)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        prefix = key[: len(KEY_PREFIX) + 6]
        record_id = self.store.add_key(user_id, key, label, prefix)
        return IssuedKey(key, record_id, prefix)

    def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise AuthenticationFailed(
                "No API key given. Send it as 'Authorization: Bearer <key>'; an admin "
                "creates keys with `greffier admin create-key`.",
                code="missing_api_key",
            )
        record = self.store.find_key(key) if key.startswith(KEY_PREFIX) else None
        if record is None or not record.active:
            # One message for unknown, revoked and disabled: no hint about which keys exist.
            raise AuthenticationFailed("Invalid API key: it is unknown, revoked or disabled.")
        if record.last_used_at is None or _older_than(record.last_used_at, _TOUCH_EVERY):
            self.store.touch_key(record.id)
        return Principal(record.user_id, record.user, record.role, record.id)

    def list_keys(self) -> list[KeyRecord]:
        return self.store.list_keys()

    def revoke_key(self, key_id: int) -> None:
        if not self.store.revoke_key(key_id):
            raise NotFound(f"No active key with id {key_id}.")

    def has_admin_key(self) -> bool:
        return self.store.count_active_admin_keys() > 0


def _older_than(timestamp: str, age: timedelta) -> bool:
    when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return datetime.now(UTC) - when > age
