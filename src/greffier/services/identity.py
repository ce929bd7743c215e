"""People and their credentials: users (admin or member, disabled or not), API keys (shown
once, stored as SHA-256 digests, revocable, rotatable, optionally expiring) and passwords
for the web interface (Argon2id hashes).

Managing people is for admins: every such operation takes the caller, checks the role,
and writes its audit row here, whichever door (API, web page, CLI) it came through.
Signing in and authenticating a key need no caller.

Admins cannot act as someone else on their own (docs/security.md). An admin may give a
person their first credential; a new key for, a rotated key of, or a new password for a
person who already has credentials or can read any collection or meeting is only a
*request* until a second admin approves it (four eyes). The operator at the console is
trusted with the whole server and acts at once. Whoever did it, the person finds it in
their account's notices, and a password set by someone else ends their web sessions.
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
from greffier.store.interfaces import AccessStore, CredentialStore, IdentityStore, SessionStore
from greffier.store.records import (
    AccountNotice,
    CredentialRequest,
    KeyRecord,
    UserRecord,
    now_text,
)

__all__ = ["OPERATOR", "IdentityService", "IssuedKey", "Pending", "Principal"]

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


@dataclass(frozen=True)
class Pending:
    """Nothing done yet: a second admin must approve this request."""

    request: CredentialRequest


@dataclass(frozen=True)
class UserChange:
    user: UserRecord
    pending: Pending | None = None  # the password, when it waits for a second admin


@dataclass(frozen=True)
class Account:
    user: UserRecord
    notices: list[AccountNotice]


class IdentityService:
    def __init__(
        self,
        store: IdentityStore,
        sessions: SessionStore,
        audit: AuditService,
        credentials: CredentialStore,
        access: AccessStore,
    ):
        self.store = store
        self.sessions = sessions
        self.audit = audit
        self.credentials = credentials
        self.access = access

    # --- keys ----------------------------------------------------------------------------

    def issue_key(
        self,
        who: Principal,
        user: str,
        role: str | None = None,
        label: str = "",
        expires_days: int | None = None,
    ) -> IssuedKey | Pending:
        """A new key for ``user``, creating the user if new: a member unless ``role`` says
        otherwise. For an existing user, a ``role`` other than theirs is refused (it would
        not change it)."""
        _admin(who)
        if not user.strip():
            raise InvalidRequest("A key needs a user name.")
        user_id = self._ensure_user(who, user.strip(), role)
        return self.key_for(who, user_id, label, expires_days)

    def key_for(
        self, who: Principal, user_id: int, label: str = "", expires_days: int | None = None
    ) -> IssuedKey | Pending:
        """A new key for the user, or, when a second admin must approve it, the request."""
        _admin(who)
        self.user(user_id)
        if expires_days is not None and expires_days < 1:
            raise InvalidRequest("A key expires after 1 day or more.", param="expires_days")
        held = self._held(who, user_id, "key")
        if held and who != OPERATOR:
            return self._request(who, user_id, "key", label=label, expires_days=expires_days)
        return self._make_key(who, user_id, label, expires_days, notable=held)

    def _make_key(
        self,
        who: Principal,
        user_id: int,
        label: str,
        expires_days: int | None,
        approved_by: Principal | None = None,
        *,
        notable: bool = True,
    ) -> IssuedKey:
        issued = self._new_key(user_id, label, expires_days)
        self.audit.record(who, "key.create", query=f"user {user_id}, key {issued.record_id}")
        self._tell(user_id, "key.created", who, approved_by, issued.prefix, notable=notable)
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

    def rotate_key(self, who: Principal, key_id: int) -> IssuedKey | Pending:
        """Revoke a key and issue its replacement (same user and label) in one step; a
        request for a second admin when the new key would let this admin act as someone
        who has content or other credentials."""
        _admin(who)
        old = self.store.key(key_id)
        if old is None or old.revoked_at is not None:
            raise NotFound(f"No active key with id {key_id}.", param="key_id")
        held = self._held(who, old.user_id, "key", replacing=key_id)
        if held and who != OPERATOR:
            return self._request(who, old.user_id, "key", label=old.label, replaces=key_id)
        return self._rotate(who, old, notable=held)

    def _rotate(
        self,
        who: Principal,
        old: KeyRecord,
        approved_by: Principal | None = None,
        *,
        notable: bool = True,
    ) -> IssuedKey:
        issued = self._new_key(old.user_id, old.label, None)
        self.store.revoke_key(old.id)
        self.audit.record(who, "key.rotate", query=f"key {old.id} -> {issued.record_id}")
        self._tell(old.user_id, "key.rotated", who, approved_by, issued.prefix, notable=notable)
        return issued

    def revoke_key(self, who: Principal, key_id: int) -> None:
        _admin(who)
        if not self.store.revoke_key(key_id):
            raise NotFound(f"No active key with id {key_id}.")
        self.audit.record(who, "key.revoke", query=f"key {key_id}")

    # --- four eyes: credentials of someone who has something to lose ----------------------

    def _held(self, who: Principal, user_id: int, kind: str, replacing: int | None = None) -> bool:
        """Whether this credential, made by ``who``, would let them act as a person who can
        read something or signs in some other way: then an admin's request waits for a
        second admin, and the person's notice is flagged until they have read it. People
        acting on their own account hold nothing of anyone else's."""
        if who.user_id == user_id and who != OPERATOR:
            return False
        return self._has_something(user_id, kind, replacing)

    def _has_something(self, user_id: int, kind: str, replacing: int | None = None) -> bool:
        """The person holds another active credential than the one being made or
        replaced, or can read a collection or a meeting (owned or shared)."""
        keys = [k for k in self.store.list_keys(user_id) if k.active and k.id != replacing]
        if keys or (kind == "key" and self.user(user_id).has_password):
            return True
        return bool(
            self.access.collection_ids(user_id, "read", None)
            or self.access.meeting_ids(user_id, "read")
        )

    def _request(
        self,
        who: Principal,
        user_id: int,
        kind: str,
        *,
        label: str = "",
        expires_days: int | None = None,
        replaces: int | None = None,
        password: str | None = None,
    ) -> Pending:
        request_id = self.credentials.add_request(
            user_id,
            kind,
            who.user_id,
            label=label,
            expires_days=expires_days,
            replaces_key_id=replaces,
            password_hash=_hash(password) if password is not None else None,
        )
        self.audit.record(
            who, "credential.request", query=f"{kind} for user {user_id}, request {request_id}"
        )
        return Pending(self.credentials.request(request_id))

    def requests(self, who: Principal) -> list[CredentialRequest]:
        """Credential requests waiting for a second admin."""
        _admin(who)
        return self.credentials.pending()

    def approve(self, who: Principal, request_id: int) -> IssuedKey | None:
        """A second admin approves a request: the key is made and returned (once, to the
        approver, who hands it over), or the password is set. The admin who asked cannot
        approve their own request."""
        _admin(who)
        request = self._pending(request_id)
        if request.requested_by == who.user_id:
            raise PermissionDenied(
                "You asked for this credential: another admin must approve it.",
                code="second_admin_required",
            )
        asker = self._asker(request)
        digest = self.credentials.requested_password(request_id)
        # Closed first, and only once: two admins approving at the same moment make one key.
        if not self.credentials.decide(request_id, "approved", who.user_id):
            raise NotFound(f"No pending credential request with id {request_id}.")
        if request.kind == "password":
            self._set_password_hash(request.user_id, digest)
            self.audit.record(asker, "user.change", query=f"user {request.user_id}, password")
            self._tell(request.user_id, "password.set", asker, who)
            issued = None
        elif request.replaces_key_id is not None:
            old = self.store.key(request.replaces_key_id)
            if old is None or old.revoked_at is not None:
                raise NotFound(f"Key {request.replaces_key_id} was revoked meanwhile.")
            issued = self._rotate(asker, old, who)
        else:
            issued = self._make_key(
                asker, request.user_id, request.label, request.expires_days, who
            )
        self.audit.record(who, "credential.approve", query=f"request {request_id}")
        return issued

    def cancel(self, who: Principal, request_id: int) -> None:
        _admin(who)
        self._pending(request_id)
        self.credentials.decide(request_id, "cancelled", who.user_id)
        self.audit.record(who, "credential.cancel", query=f"request {request_id}")

    def _pending(self, request_id: int) -> CredentialRequest:
        request = self.credentials.request(request_id)
        if request is None or request.status != "pending":
            raise NotFound(f"No pending credential request with id {request_id}.")
        return request

    def _asker(self, request: CredentialRequest) -> Principal:
        """The admin who asked, as the author of what the approval does."""
        if request.requested_by is None:
            return Principal(0, "(deleted admin)", "admin", 0)
        return Principal(request.requested_by, request.requested_by_name or "", "admin", 0)

    def _tell(
        self,
        user_id: int,
        kind: str,
        who: Principal,
        approved_by: Principal | None = None,
        prefix: str | None = None,
        *,
        notable: bool = True,
    ) -> None:
        """A notice in the person's account, unless they did it themselves. A credential
        made for someone who held nothing yet (their first) is listed as already read."""
        if who.user_id != user_id or who == OPERATOR:
            self.credentials.add_notice(
                user_id,
                kind,
                who.user,
                approved_by.user if approved_by else None,
                prefix,
                seen=not notable,
            )

    # --- one's own account ----------------------------------------------------------------

    def account(self, who: Principal, *, mark_seen: bool = False) -> Account:
        """The caller's account and what was done to their credentials, newest first;
        ``mark_seen``: the person is looking at them now (they stay listed)."""
        found = Account(self.user(who.user_id), self.credentials.notices(who.user_id))
        if mark_seen:
            self.credentials.mark_seen(who.user_id)
        return found

    def unseen_notices(self, who: Principal) -> int:
        return self.credentials.unseen(who.user_id) if who.user_id else 0

    def acknowledge(self, who: Principal) -> None:
        """The person has read their notices (they stay listed)."""
        self.credentials.mark_seen(who.user_id)

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
        self.audit.record(who, "user.create", query=f"user {user_id}")  # an id, not a name
        if password is not None:
            self._set_password_hash(user_id, _hash(password))
            self._tell(user_id, "password.set", who, notable=False)
        return self.store.user(user_id)

    def _ensure_user(self, who: Principal, name: str, role: str | None) -> int:
        """The user named ``name``, created (a member unless ``role`` says otherwise) and
        audited if new. An existing user keeps their role: asking for another is refused."""
        if role is not None:
            _check_role(role)
        found = self.store.user_by_name(name)
        if found is None:
            return self.create_user(who, name, role or "member").id
        if role is not None and found.role != role:
            raise InvalidRequest(
                f"User '{name}' exists and is {_article(found.role)}, not {_article(role)}: "
                "leave the role out, or change theirs first.",
                param="role",
                code="role_mismatch",
            )
        return found.id

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
    ) -> UserChange:
        """Change a user's role, disable or enable them, set their password. Admins cannot
        disable or demote themselves. Disabling, and a new password, end the person's web
        sessions at once. A password that lets an admin sign in as someone who has content
        or other credentials waits for a second admin (``UserChange.pending``)."""
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
            self.audit.record(who, "user.change", query=f"user {user_id}, {', '.join(fields)}")
        if disabled:
            self.sessions.delete_sessions_of(user_id)
        pending = None
        if password is not None:
            held = self._held(who, user_id, "password")
            if held and who != OPERATOR:
                pending = self._request(who, user_id, "password", password=password)
            else:
                self._set_password_hash(user_id, _hash(password))
                self.audit.record(who, "user.change", query=f"user {user_id}, password")
                self._tell(user_id, "password.set", who, notable=held)
        return UserChange(self.user(user_id), pending)

    def _set_password_hash(self, user_id: int, digest: str) -> None:
        """A new password ends every web session of the person (theirs or an intruder's)."""
        self.store.update_user(user_id, password_hash=digest)
        self.sessions.delete_sessions_of(user_id)

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

    def local_principal(self, name: str, role: str | None = None) -> Principal:
        """The operator's console acting as a named person (``greffier ingest --user``):
        the user, created (a member unless ``role`` says otherwise, audited) if new; an
        existing user with another role than ``role`` is refused."""
        record = self.user(self._ensure_user(OPERATOR, name.strip(), role))
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


def _article(role: str) -> str:
    return "an admin" if role == "admin" else "a member"


def _hash(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(
            f"A password has at least {MIN_PASSWORD} characters.", param="password"
        )


def _older_than(timestamp: str, age: timedelta) -> bool:
    when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return datetime.now(UTC) - when > age
