"""Quotas per API key or group: requests per minute and tokens per day.

Requests are counted over a sliding minute (per key, and per group for all its members
together) and tokens per UTC day, both in the database, so that every API process counts
the same (store/counters.py, store/quotas.py). Over a limit, the request gets a 429 with
``Retry-After`` and a message naming the limit.

A key's quota binds its owner, not only the key: what they do signed in with a password
(the web interface) counts against, and is limited by, the quota of each of their keys.
Minutes written by the chat model are charged like chat answers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta

from greffier.errors import InvalidRequest, NotFound, PermissionDenied, QuotaExceeded
from greffier.services.audit import AuditService
from greffier.services.principal import Principal
from greffier.store.interfaces import AccessStore, CounterStore, IdentityStore, QuotaStore
from greffier.store.records import Quota

WINDOW = 60.0


class QuotaService:
    def __init__(
        self,
        store: QuotaStore,
        access: AccessStore,
        identity: IdentityStore,
        counters: CounterStore,
        audit: AuditService,
        atomic: Callable[[], AbstractContextManager] = nullcontext,
        clock: Callable[[], float] = time.time,
    ):
        """``atomic()``: a transaction the counters' writes join, so that a request refused
        by one of its quotas is counted by none."""
        self.store = store
        self.access = access
        self.identity = identity
        self.counters = counters
        self.audit = audit
        self.atomic = atomic
        self.clock = clock

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
        self.audit.record(
            who,
            "quota.set",
            query=f"{subject[0]} {subject[1]}: requests_per_minute={requests_per_minute}, "
            f"tokens_per_day={tokens_per_day}",
        )

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
        now = self.clock()
        for q in quotas:
            tpd = q.tokens_per_day
            if tpd is None:
                continue
            used = (
                self.store.tokens_of_key(day, q.subject_id)
                if q.subject_type == "key"
                else self.store.tokens_of_group(day, q.subject_id)
            )
            if used >= tpd:
                raise QuotaExceeded(
                    f"Quota reached: {self._name(q)} may use {tpd} tokens a day and has used "
                    f"{used}. It resets at midnight UTC.",
                    retry_after=_until_midnight(),
                )
        with self.atomic():
            for q in quotas:
                rpm = q.requests_per_minute
                if rpm is None:
                    continue
                oldest = self.counters.take(f"{q.subject_type}:{q.subject_id}", now, WINDOW, rpm)
                if oldest is not None:
                    raise QuotaExceeded(
                        f"Quota reached: {self._name(q)} may make {rpm} requests a minute.",
                        retry_after=max(1, math.ceil(oldest + WINDOW - now)),
                    )

    def _name(self, quota: Quota) -> str:
        if quota.subject_type == "key":
            return f"API key {quota.subject_id}"
        row = self.access.group(quota.subject_id)
        return f"group '{row.name if row else quota.subject_id}'"

    def record_tokens(self, who: Principal, tokens: int) -> None:
        if tokens > 0:
            self.store.add_tokens(_today(), who.user_id, who.key_id, tokens)


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _until_midnight() -> int:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))
