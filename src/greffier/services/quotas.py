"""Quotas per API key or group: requests per minute and tokens per day.

Requests are counted in memory over a sliding minute (per key, and per group for all its
members together); tokens per UTC day are counted in the database. Over a limit, the
request gets a 429 with ``Retry-After`` and a message naming the limit.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta

from greffier.errors import InvalidRequest, NotFound, PermissionDenied, QuotaExceeded
from greffier.services.principal import Principal
from greffier.store.interfaces import AccessStore, IdentityStore, QuotaStore
from greffier.store.records import Quota

WINDOW = 60.0


class QuotaService:
    def __init__(self, store: QuotaStore, access: AccessStore, identity: IdentityStore):
        self.store = store
        self.access = access
        self.identity = identity
        self._recent: dict[tuple[str, int], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    # --- admin ---------------------------------------------------------------------------

    def set(
        self,
        who: Principal,
        *,
        key_id: int | None = None,
        group: str | None = None,
        requests_per_minute: int | None = None,
        tokens_per_day: int | None = None,
    ) -> None:
        """Set (or, with both limits None, remove) the quota of a key or a group."""
        if not who.is_admin:
            raise PermissionDenied("Quotas are set by admins.", code="admin_only")
        if (key_id is None) == (group is None):
            raise InvalidRequest("Name either a key_id or a group.", param="key_id")
        for name, value in (
            ("requests_per_minute", requests_per_minute),
            ("tokens_per_day", tokens_per_day),
        ):
            if value is not None and value < 1:
                raise InvalidRequest(f"{name} must be 1 or more (or null for none).", param=name)
        if key_id is not None:
            if self.identity.key(key_id) is None:
                raise NotFound(f"No key with id {key_id}.", param="key_id")
            subject = ("key", key_id)
        else:
            row = self.access.group_by_name(group)
            if row is None:
                raise NotFound(f"No group named '{group}'.", param="group", code="unknown_group")
            subject = ("group", row.id)
        self.store.set(*subject, requests_per_minute, tokens_per_day)

    def quotas(self, who: Principal) -> list[Quota]:
        if not who.is_admin:
            raise PermissionDenied("Quotas are for admins.", code="admin_only")
        return self.store.all()

    # --- enforcement ---------------------------------------------------------------------

    def admit(self, who: Principal) -> None:
        """Count one request, or refuse it if a limit is reached."""
        quotas = self.store.applying_to(who.user_id, who.key_id)
        if not quotas:
            return
        day = _today()
        now = time.monotonic()
        with self._lock:
            for q in quotas:
                subject = (q.subject_type, q.subject_id)
                what = self._name(subject)
                tpd = q.tokens_per_day
                if tpd is not None:
                    used = (
                        self.store.tokens_of_key(day, subject[1])
                        if subject[0] == "key"
                        else self.store.tokens_of_group(day, subject[1])
                    )
                    if used >= tpd:
                        raise QuotaExceeded(
                            f"Quota reached: {what} may use {tpd} tokens a day and has used "
                            f"{used}. It resets at midnight UTC.",
                            retry_after=_until_midnight(),
                        )
                rpm = q.requests_per_minute
                if rpm is not None:
                    recent = self._recent[subject]
                    while recent and now - recent[0] >= WINDOW:
                        recent.popleft()
                    if len(recent) >= rpm:
                        raise QuotaExceeded(
                            f"Quota reached: {what} may make {rpm} requests a minute.",
                            retry_after=max(1, int(WINDOW - (now - recent[0])) + 1),
                        )
            for q in quotas:
                if q.requests_per_minute is not None:
                    self._recent[(q.subject_type, q.subject_id)].append(now)

    def _name(self, subject: tuple[str, int]) -> str:
        if subject[0] == "key":
            return f"API key {subject[1]}"
        row = self.access.group(subject[1])
        return f"group '{row.name if row else subject[1]}'"

    def record_tokens(self, who: Principal, tokens: int) -> None:
        if tokens > 0:
            self.store.add_tokens(_today(), who.user_id, who.key_id, tokens)


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _until_midnight() -> int:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))
