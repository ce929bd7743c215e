"""What each answer cost: tokens, their English equivalent, estimated energy; daily totals.

English equivalent: a French question costs more tokens than the same question in English
with an English-centric tokenizer. When ``greffier tokens report`` has measured the model's
tokenizer, a response whose question is in a measured language also reports
``english_equivalent_tokens`` = its tokens ÷ the language's parity for that tokenizer.

Energy (joules) is an estimate, not a measurement of the wall socket: CPU seconds of the
process while the model worked × ``energy_cpu_watts_per_core`` for in-process models; wall
seconds × ``energy_upstream_watts`` for upstream servers.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from greffier.documents.analysis import guess_language
from greffier.errors import PermissionDenied
from greffier.models.backends.base import Finished, Generation
from greffier.services.principal import Principal
from greffier.store.interfaces import UsageStore
from greffier.store.records import UsageDay

log = logging.getLogger(__name__)


class ParityTable:
    """Parity per (tokenizer, language), read from the last ``tokens report``."""

    def __init__(self, path: Path):
        self.path = path
        self._stamp: float | None = None
        self._table: dict[tuple[str, str], float] = {}

    def get(self, tokenizer: str, language: str) -> float | None:
        try:
            stamp = self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        if stamp != self._stamp:
            try:
                rows = json.loads(self.path.read_text())["rows"]
                self._table = {(r["tokenizer"], r["language"]): r["parity"] for r in rows}
            except (OSError, ValueError, KeyError):
                log.warning("Ignoring unreadable parity table %s", self.path)
                self._table = {}
            self._stamp = stamp
        return self._table.get((tokenizer, language))


class UsageService:
    def __init__(self, store: UsageStore, parity: ParityTable):
        self.store = store
        self.parity = parity

    def describe(self, model: str, request: Generation, finished: Finished) -> dict:
        """The extension fields of `usage` for one answer."""
        extra: dict = {}
        if finished.energy_joules is not None:
            extra["energy_joules"] = round(finished.energy_joules, 3)
        text = request.prompt or next(
            (m.content for m in reversed(request.messages) if m.role == "user"), ""
        )
        if text:
            language = guess_language(text)
            extra["language"] = language
            parity = self.parity.get(model, language)
            if parity:
                total = finished.prompt_tokens + finished.completion_tokens
                extra["english_equivalent_tokens"] = round(total / parity)
                extra["token_parity"] = round(parity, 3)
        return extra

    def record(self, model: str, finished: Finished) -> None:
        day = datetime.now(UTC).date().isoformat()
        self.store.add(
            day,
            model,
            finished.prompt_tokens,
            finished.completion_tokens,
            finished.energy_joules or 0.0,
        )

    def totals(self, who: Principal, days: int = 30) -> list[UsageDay]:
        """Requests, tokens and energy per day and model (for admins)."""
        if not who.is_admin:
            raise PermissionDenied("Usage totals are for admins.", code="admin_only")
        first = (datetime.now(UTC).date() - timedelta(days=days - 1)).isoformat()
        return self.store.since(first)
