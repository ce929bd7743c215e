"""People and their credentials: users (admin or member, disabled or not), API keys (shown
once, stored as SHA-256 digests, revocable, rotatable, optionally expiring) and passwords
for the web interface (Argon2id hashes).

Managing people is for admins: every such operation takes the caller, checks the role,
and writes its audit row here, whichever door (API, web page, CLI) it came through.
Signing in and authenticating a key need no caller.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from greffier.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from greffier.services.audit import AuditService
from greffier.services.principal import OPERATOR, Principal
from greffier.store.interfaces import IdentityStore, SessionStore
from greffier.store.records import KeyRecord, UserRecord, now_text

__all__ = ["OPERATOR", "IdentityService", "IssuedKey", "Principal"]

KEY_PREFIX = "grf_"
ROLES = ("admin", "member")
MIN_PASSWORD = 12
NAME_PATTERN = r"^[\w.@-][\w .@-]{0,62}[\w.@-]$|^[\w.@-]$"
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    record_id: int
    prefix: str


class IdentityService:
    def __init__(self, store: IdentityStore, sessions: SessionStore, audit: AuditService):
        self.store = store
        self.sessions = sessions
        self.audit = audit

    # --- keys ----------------------------------------------------------------------------

    def issue_key(
        self,
        who: Principal,
        user: str,
        role: str = "member",
        label: str = "",
        expires_days: int | None = None,
    ) -> IssuedKey:
        """A new key for ``user``, creating the user (with ``role``) if new."""
        _admin(who)
        _check_role(role)
        if not user.strip():
            raise InvalidRequest("A key needs a user name.")
        user_id = self.store.ensure_user(user.strip(), role)
        return self.key_for(who, user_id, label, expires_days)

    def key_for(
        self, who: Principal, user_id: int, label: str = "", expires_days: int | None = None
    ) -> IssuedKey:
        _admin(who)
        self.user(user_id)
        if expires_days is not None and expires_days < 1:
            raise InvalidRequest("A key expires after 1 day or more.", param="expires_days")
        issued = self._new_key(user_id, label, expires_days)
        self.audit.record(who, "key.create", query=f"user {user_id}, key {issued.record_id}")
        return issued

    def _new_key(self, user_id: int, label: str, expires_days: int | None) -> IssuedKey:
        expires = (
            (datetime.now(UTC) + timedelta(days=expires_days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            if expires_days
            else None
        )
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        prefix = key[: len(KEY_PREFIX) + 6]
        return IssuedKey(key, self.store.add_key(user_id, key, label, prefix, expires), prefix)

    def rotate_key(self, who: Principal, key_id: int) -> IssuedKey:
        """Revoke a key and issue its replacement (same user and label) in one step."""
        _admin(who)
        old = self.store.key(key_id)
        if old is None or old.revoked_at is not None:
            raise NotFound(f"No active key with id {key_id}.", param="key_id")
        issued = self._new_key(old.user_id, old.label, None)
        self.store.revoke_key(key_id)
        self.audit.record(who, "key.rotate", query=f"key {key_id} -> {issued.record_id}")
        return issued

    def revoke_key(self, who: Principal, key_id: int) -> None:
        _admin(who)
        if not self.store.revoke_key(key_id):
            raise NotFound(f"No active key with id {key_id}.")
        self.audit.record(who, "key.revoke", query=f"key {key_id}")

    def list_keys(self, who: Principal, user_id: int | None = None) -> list[KeyRecord]:
        _admin(who)
        if user_id is not None:
            self.user(user_id)
        return self.store.list_keys(user_id)

    def has_admin_key(self) -> bool:
        return self.store.count_active_admin_keys() > 0

    # --- users ---------------------------------------------------------------------------

    def create_user(
        self, who: Principal, name: str, role: str = "member", password: str | None = None
    ) -> UserRecord:
        _admin(who)
        _check_role(role)
        name = name.strip()
        if not re.match(NAME_PATTERN, name):
            raise InvalidRequest(
                "A user name is 1 to 64 letters, digits, spaces or . @ _ -.", param="name"
            )
        if self.store.user_by_name(name):
            raise Conflict(f"A user named '{name}' exists already.", param="name")
        if password is not None:
            _check_password(password)
        user_id = self.store.create_user(name, role)
        if password is not None:
            self._store_password(user_id, password)
        self.audit.record(who, "user.create", query=f"user {user_id}")  # an id, not a name
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

    def users(self, who: Principal) -> list[UserRecord]:
        _admin(who)
        return self.store.users()

    def change_user(
        self,
        who: Principal,
        user_id: int,
        *,
        role: str | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> UserRecord:
        """Change a user's role, disable or enable them, set their password. Admins cannot
        disable or demote themselves. Disabling ends the person's web sessions at once."""
        _admin(who)
        self.user(user_id)
        if user_id == who.user_id and disabled:
            raise PermissionDenied("You cannot disable your own account.", code="self_change")
        if user_id == who.user_id and role == "member":
            raise PermissionDenied("You cannot remove your own admin role.", code="self_change")
        fields: dict = {}
        if role is not None:
            _check_role(role)
            fields["role"] = role
        if disabled is not None:
            fields["disabled_at"] = now_text() if disabled else None
        if password is not None:
            _check_password(password)
        if fields:
            self.store.update_user(user_id, **fields)
        if password is not None:
            self._store_password(user_id, password)
        if disabled:
            self.sessions.delete_sessions_of(user_id)
        self.audit.record(who, "user.change", query=f"user {user_id}")
        return self.user(user_id)

    def _store_password(self, user_id: int, password: str) -> None:
        from argon2 import PasswordHasher

        self.store.update_user(user_id, password_hash=PasswordHasher().hash(password))

    # --- signing in ----------------------------------------------------------------------

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

    def principal(self, user_id: int, key_id: int | None = None) -> Principal:
        """The Principal of an active user (a web session re-checks it on every request);
        with ``key_id``, that key must still be the user's and active."""
        record = self.store.user(user_id)
        if record is None or record.disabled_at is not None:
            raise AuthenticationFailed("This account is disabled or no longer exists.")
        if key_id is None:
            return Principal(record.id, record.name, record.role, 0)
        key = self.store.key(key_id)
        if key is None or key.user_id != user_id or not key.active:
            raise AuthenticationFailed(
                "The API key this session was opened with is no longer valid.",
                code="session_expired",
            )
        return Principal(record.id, record.name, record.role, key_id)

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

    def local_principal(self, name: str, role: str) -> Principal:
        """The operator's console acting as a named person (``greffier ingest --user``):
        the user, created with ``role`` if new."""
        _check_role(role)
        user_id = self.store.ensure_user(name.strip(), role)
        record = self.user(user_id)
        return Principal(record.id, record.name, record.role, 0)

    def delete_user(self, user_id: int) -> None:
        """Delete the account itself (erasure does this last, after what it owned)."""
        self.store.delete_user(user_id)


def _admin(who: Principal) -> None:
    if not who.is_admin:
        raise PermissionDenied("Managing people and keys is for admins.", code="admin_only")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidRequest(f"Unknown role '{role}': use one of {', '.join(ROLES)}.", param="role")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(
            f"A password has at least {MIN_PASSWORD} characters.", param="password"
        )


def _older_than(timestamp: str, age: timedelta) -> bool:
    when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return datetime.now(UTC) - when > age
