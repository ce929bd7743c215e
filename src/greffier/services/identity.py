"""People and their credentials: users (admin or member, disabled or not), API keys (shown
once, stored as SHA-256 digests, revocable, rotatable, optionally expiring) and passwords
for the web interface (Argon2id hashes)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from greffier.errors import AuthenticationFailed, InvalidRequest, NotFound
from greffier.store.identity import IdentityStore, KeyRecord, UserRecord

KEY_PREFIX = "grf_"
ROLES = ("admin", "member")
MIN_PASSWORD = 12
NAME_PATTERN = r"^[\w.@-][\w .@-]{0,62}[\w.@-]$|^[\w.@-]$"
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

    def issue_key(
        self, user: str, role: str = "member", label: str = "", expires_days: int | None = None
    ) -> IssuedKey:
        """A new key for ``user``, creating the user (with ``role``) if new."""
        _check_role(role)
        if not user.strip():
            raise InvalidRequest("A key needs a user name.")
        user_id = self.store.ensure_user(user.strip(), role)
        return self.key_for(user_id, label, expires_days)

    def key_for(self, user_id: int, label: str = "", expires_days: int | None = None) -> IssuedKey:
        if self.store.user(user_id) is None:
            raise NotFound(f"No user with id {user_id}.", param="user_id")
        if expires_days is not None and expires_days < 1:
            raise InvalidRequest("A key expires after 1 day or more.", param="expires_days")
        expires = (
            (datetime.now(UTC) + timedelta(days=expires_days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            if expires_days
            else None
        )
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        prefix = key[: len(KEY_PREFIX) + 6]
        record_id = self.store.add_key(user_id, key, label, prefix, expires)
        return IssuedKey(key, record_id, prefix)

    def rotate_key(self, key_id: int) -> IssuedKey:
        """Revoke a key and issue its replacement (same user and label) in one step."""
        old = self.store.key(key_id)
        if old is None or old.revoked_at is not None:
            raise NotFound(f"No active key with id {key_id}.", param="key_id")
        issued = self.key_for(old.user_id, old.label)
        self.store.revoke_key(key_id)
        return issued

    # --- users ---------------------------------------------------------------------------

    def create_user(self, name: str, role: str = "member", password: str | None = None):
        import re

        _check_role(role)
        name = name.strip()
        if not re.match(NAME_PATTERN, name):
            raise InvalidRequest(
                "A user name is 1 to 64 letters, digits, spaces or . @ _ -.", param="name"
            )
        if self.store.user_by_name(name):
            raise InvalidRequest(
                f"A user named '{name}' exists already.", param="name", code="already_exists"
            )
        user_id = self.store.create_user(name, role)
        if password is not None:
            self.set_password(user_id, password)
        return self.store.user(user_id)

    def user(self, user_id: int) -> UserRecord:
        record = self.store.user(user_id)
        if record is None:
            raise NotFound(f"No user with id {user_id}.", param="user_id")
        return record

    def user_named(self, name: str) -> UserRecord:
        record = self.store.user_by_name(name)
        if record is None:
            raise NotFound(f"No user named '{name}'.", param="user")
        return record

    def users(self) -> list[UserRecord]:
        return self.store.users()

    def update_user(
        self, user_id: int, *, role: str | None = None, disabled: bool | None = None
    ) -> UserRecord:
        self.user(user_id)
        fields: dict = {}
        if role is not None:
            _check_role(role)
            fields["role"] = role
        if disabled is not None:
            fields["disabled_at"] = _now() if disabled else None
        if fields:
            self.store.update_user(user_id, **fields)
        return self.user(user_id)

    def set_password(self, user_id: int, password: str) -> None:
        from argon2 import PasswordHasher

        self.user(user_id)
        if len(password) < MIN_PASSWORD:
            raise InvalidRequest(
                f"A password has at least {MIN_PASSWORD} characters.", param="password"
            )
        self.store.update_user(user_id, password_hash=PasswordHasher().hash(password))

    def sign_in(self, name: str, password: str) -> Principal:
        """The person behind a user name and password (web sign-in); one error for every
        failure, so it tells nothing about which names exist."""
        from argon2 import PasswordHasher
        from argon2.exceptions import Argon2Error

        failed = AuthenticationFailed(
            "Unknown user name or wrong password.", code="invalid_credentials"
        )
        found = self.store.password_hash(name.strip())
        if found is None or found[1] is None:
            PasswordHasher().hash(password)  # same time as a real check
            raise failed
        user_id, stored = found
        try:
            PasswordHasher().verify(stored, password)
        except Argon2Error:
            raise failed from None
        record = self.store.user(user_id)
        if record.disabled_at is not None:
            raise failed
        return Principal(user_id, record.name, record.role, 0)

    def principal(self, user_id: int) -> Principal:
        """The Principal of an active user (a web session re-checks it on every request)."""
        record = self.store.user(user_id)
        if record is None or record.disabled_at is not None:
            raise AuthenticationFailed("This account is disabled or no longer exists.")
        return Principal(record.id, record.name, record.role, 0)

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

    def list_keys(self, user_id: int | None = None) -> list[KeyRecord]:
        return self.store.list_keys(user_id)

    def revoke_key(self, key_id: int) -> None:
        if not self.store.revoke_key(key_id):
            raise NotFound(f"No active key with id {key_id}.")

    def has_admin_key(self) -> bool:
        return self.store.count_active_admin_keys() > 0


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidRequest(f"Unknown role '{role}': use one of {', '.join(ROLES)}.", param="role")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _older_than(timestamp: str, age: timedelta) -> bool:
    when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return datetime.now(UTC) - when > age
