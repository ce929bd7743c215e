"""The audit log on PostgreSQL: the same table; resources are JSON text, read as jsonb."""

from __future__ import annotations

from greffier.store.audit import AuditStore


class PgAuditStore(AuditStore):
    naming_resource = (
        "resources::jsonb @> jsonb_build_array(jsonb_build_object('type', ?::text, 'id', "
        "?::bigint))"
    )
