"""Audit: who asked what, which documents and meetings were returned or cited, which model
answered. Admins read it filtered, and export it as JSON lines or CSV."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Iterator

from greffier.errors import PermissionDenied
from greffier.services.principal import Principal
from greffier.store.interfaces import AuditStore
from greffier.store.records import AuditEntry

COLUMNS = tuple(f.name for f in dataclasses.fields(AuditEntry) if f.name != "resources")

QUERY_CHARS = 2000  # longer questions are cut in the log


def resources_of(hits: Iterable) -> list[dict]:
    """The documents and meetings behind search hits or citations (dicts or Hit objects)."""
    seen: dict[tuple, dict] = {}
    for h in hits:
        get = h.get if isinstance(h, dict) else lambda k, h=h: getattr(h, k)
        if get("meeting_id") is not None:
            key = ("meeting", get("meeting_id"))
        else:
            key = ("document", get("document_id"))
        seen.setdefault(key, {"type": key[0], "id": key[1], "name": get("document")})
    return list(seen.values())


class AuditService:
    def __init__(self, store: AuditStore):
        self.store = store

    def record(
        self,
        who: Principal | None,
        action: str,
        *,
        status: int = 200,
        model: str | None = None,
        query: str | None = None,
        resources: list[dict] | None = None,
    ) -> None:
        self.store.record(
            user_id=who.user_id if who else None,
            user_name=who.user if who else None,
            key_id=who.key_id if who else None,
            action=action,
            status=status,
            model=model,
            query=query[:QUERY_CHARS] if query else query,
            resources=resources or [],
        )

    def entries(self, who: Principal, **filters) -> Iterator[AuditEntry]:
        if not who.is_admin:
            raise PermissionDenied("The audit log is for admins.", code="admin_only")
        return self.store.entries(**filters)

    def export(self, who: Principal, fmt: str, **filters) -> Iterator[str]:
        """The filtered log as JSON lines or CSV, streamed line by line."""
        entries = self.entries(who, **filters)
        if fmt == "jsonl":
            return (json.dumps(dataclasses.asdict(e), ensure_ascii=False) + "\n" for e in entries)
        return _csv(entries)

    def forget_user(self, user_id: int) -> int:
        """Erasure: keep that an access happened, drop who asked and what they asked."""
        return self.store.forget_user(user_id)

    def scrub(self, names: list[str], resources: list[tuple[str, int]]) -> int:
        """Erasure, in other people's rows: ``names`` (the erased person's) cut out of
        questions and targets, and the names of their resources dropped from what rows say
        was returned (the ids stay, pointing at nothing once the resources are gone)."""
        return self.store.scrub(names, resources)

    def mentions(self, names: list[str], resources: list[tuple[str, int]]) -> int:
        """Rows still naming the person or one of their resources (erasure's census)."""
        return self.store.mentions(names, resources)


# A cell a spreadsheet would read as a formula (=HYPERLINK(…), +cmd, -1+1, @SUM, or one
# hidden behind a tab or carriage return): OWASP's "CSV injection".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A cell as text a spreadsheet shows, never runs: a value that would start a formula
    gets a leading apostrophe (which spreadsheets hide). Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(entries: Iterable[AuditEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*COLUMNS, "resources"])
    for e in entries:
        resources = ";".join(f"{r['type']}:{r['id']}:{r['name']}" for r in e.resources)
        cells = [*(getattr(e, c) for c in COLUMNS), resources]
        writer.writerow([spreadsheet_safe(c) for c in cells])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
