"""Groups, memberships and grants, and the SQL that decides what a person may reach.

The rule lives in one SQL fragment, ``ALLOWED``, used inside the queries that list and
search collections and meetings: a row is reachable when its owner is the caller, or when
a grant of the needed level reaches the caller (directly or through a group, groups nest)
and no ``deny`` reaches the caller. Nothing is filtered after the fact.
"""

from __future__ import annotations

from greffier.store.database import Database
from greffier.store.records import Grant, Group, ScopeEntry, from_row
from greffier.store.sqlite import id_list

LEVELS = {"read": 1, "write": 2, "manage": 3}

# The groups a user belongs to, directly or through nested groups. A group that contains
# group B counts every member of B among its own members.
MY_GROUPS = """
    WITH RECURSIVE my_groups(id) AS (
        SELECT group_id FROM group_members WHERE user_id = :user
        UNION
        SELECT gm.group_id FROM group_members gm JOIN my_groups g ON gm.member_group_id = g.id
    )
"""

# The group :outer and every group nested in it, at any depth.
GROUP_AND_NESTED = """
    WITH RECURSIVE inside(id) AS (
        SELECT CAST(:outer AS BIGINT)
        UNION
        SELECT gm.member_group_id FROM group_members gm JOIN inside i
            ON gm.group_id = i.id WHERE gm.member_group_id IS NOT NULL
    )
"""

_REACHES = """(
    (g.subject_type = 'user' AND g.subject_id = :user)
    OR (g.subject_type = 'group' AND g.subject_id IN (SELECT id FROM my_groups))
)"""


def allowed(resource_type: str, resource_id: str, owner: str) -> str:
    """SQL condition: the caller (``:user``) has level ``:level`` or more on the resource
    named by the two column expressions. Needs ``MY_GROUPS`` in the statement."""
    return f"""(
        {owner} = :user OR (
            NOT EXISTS (
                SELECT 1 FROM grants g WHERE g.resource_type = {resource_type}
                AND g.resource_id = {resource_id} AND g.permission = 'deny' AND {_REACHES}
            )
            AND EXISTS (
                SELECT 1 FROM grants g WHERE g.resource_type = {resource_type}
                AND g.resource_id = {resource_id} AND g.permission != 'deny'
                AND CASE g.permission WHEN 'read' THEN 1 WHEN 'write' THEN 2 ELSE 3 END
                    >= :level
                AND {_REACHES}
            )
        )
    )"""


# A meeting's transcript is indexed in a collection of its own (collections.meeting_id):
# access to that collection is access to the meeting.
_COLLECTION_ALLOWED = allowed(
    "CASE WHEN c.meeting_id IS NULL THEN 'collection' ELSE 'meeting' END",
    "coalesce(c.meeting_id, c.id)",
    "c.owner_id",
)
_MEETING_ALLOWED = allowed("'meeting'", "m.id", "m.owner_id")


class AccessStore:
    def __init__(self, db: Database):
        self.db = db

    # --- the rule ------------------------------------------------------------------------

    def collection_ids(self, user_id: int, level: str = "read", meetings: bool | None = False):
        """Collections the user may reach at ``level``: document collections only
        (``meetings=False``), meeting transcripts only (True) or both (None)."""
        kind = {False: "c.meeting_id IS NULL", True: "c.meeting_id IS NOT NULL", None: "TRUE"}
        rows = self.db.query(
            f"{MY_GROUPS} SELECT c.id FROM collections c "
            f"WHERE {kind[meetings]} AND {_COLLECTION_ALLOWED} ORDER BY c.id",
            {"user": user_id, "level": LEVELS[level]},
        )
        return [r[0] for r in rows]

    def scope_entries(self, ids) -> dict[int, ScopeEntry]:
        """Name, sensitivity, meeting and owner of each collection, by id."""
        rows = self.db.query(
            "SELECT id, name, sensitivity, meeting_id, owner_id FROM collections "
            f"WHERE id IN ({id_list(ids)})"
        )
        return {r["id"]: from_row(ScopeEntry, r) for r in rows}

    def meeting_ids(self, user_id: int, level: str = "read") -> list[int]:
        rows = self.db.query(
            f"{MY_GROUPS} SELECT m.id FROM meetings m WHERE {_MEETING_ALLOWED} ORDER BY m.id",
            {"user": user_id, "level": LEVELS[level]},
        )
        return [r[0] for r in rows]

    def can(self, user_id: int, resource_type: str, resource_id: int, level: str) -> bool:
        if resource_type == "collection":
            sql = f"SELECT 1 FROM collections c WHERE c.id = :id AND {_COLLECTION_ALLOWED}"
        else:
            sql = f"SELECT 1 FROM meetings m WHERE m.id = :id AND {_MEETING_ALLOWED}"
        row = self.db.query_one(
            f"{MY_GROUPS} {sql}", {"user": user_id, "level": LEVELS[level], "id": resource_id}
        )
        return row is not None

    # --- groups --------------------------------------------------------------------------

    def create_group(self, name: str, description: str) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "INSERT INTO groups (name, description) VALUES (?, ?) RETURNING id",
                (name, description),
            ).fetchone()[0]

    def group(self, group_id: int) -> Group | None:
        """The group with its direct members (user names, nested group names)."""
        row = self.db.query_one("SELECT * FROM groups WHERE id = ?", (group_id,))
        return self._with_members(row) if row else None

    def group_by_name(self, name: str) -> Group | None:
        row = self.db.query_one("SELECT * FROM groups WHERE name = ?", (name,))
        return self._with_members(row) if row else None

    def groups(self) -> list[Group]:
        return [self._with_members(r) for r in self.db.query("SELECT * FROM groups ORDER BY name")]

    def _with_members(self, row) -> Group:
        users = self.db.query(
            "SELECT u.name FROM group_members gm JOIN users u ON u.id = gm.user_id "
            "WHERE gm.group_id = ? ORDER BY u.name",
            (row["id"],),
        )
        groups = self.db.query(
            "SELECT g.name FROM group_members gm JOIN groups g ON g.id = gm.member_group_id "
            "WHERE gm.group_id = ? ORDER BY g.name",
            (row["id"],),
        )
        return from_row(
            Group, row, users=tuple(r[0] for r in users), groups=tuple(r[0] for r in groups)
        )

    def delete_group(self, group_id: int) -> None:
        with self.db.write() as conn:  # triggers drop its grants and quotas
            conn.execute("DELETE FROM groups WHERE id = ?", (group_id,))

    def contains_group(self, outer: int, inner: int) -> bool:
        """Whether ``inner`` is ``outer`` or nested in it, at any depth."""
        row = self.db.query_one(
            f"{GROUP_AND_NESTED} SELECT 1 FROM inside WHERE id = :inner",
            {"outer": outer, "inner": inner},
        )
        return row is not None

    def add_member(
        self, group_id: int, *, user_id: int | None = None, member_group_id: int | None = None
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO group_members (group_id, user_id, member_group_id) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (group_id, user_id, member_group_id),
            )

    def remove_member(
        self, group_id: int, *, user_id: int | None = None, member_group_id: int | None = None
    ) -> bool:
        with self.db.write() as conn:
            return (
                conn.execute(
                    "DELETE FROM group_members WHERE group_id = ? "
                    "AND user_id IS NOT DISTINCT FROM ? AND member_group_id IS NOT DISTINCT FROM ?",
                    (group_id, user_id, member_group_id),
                ).rowcount
                == 1
            )

    def user_groups(self, user_id: int) -> list[int]:
        rows = self.db.query(f"{MY_GROUPS} SELECT id FROM my_groups", {"user": user_id})
        return [r[0] for r in rows]

    # --- grants --------------------------------------------------------------------------

    def set_grant(
        self,
        resource_type: str,
        resource_id: int,
        subject_type: str,
        subject_id: int,
        permission: str,
        granted_by: int,
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO grants (resource_type, resource_id, subject_type, subject_id, "
                "permission, granted_by) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (resource_type, resource_id, subject_type, subject_id) "
                "DO UPDATE SET permission = excluded.permission, "
                "granted_by = excluded.granted_by",
                (resource_type, resource_id, subject_type, subject_id, permission, granted_by),
            )

    def remove_grant(
        self, resource_type: str, resource_id: int, subject_type: str, subject_id: int
    ) -> bool:
        with self.db.write() as conn:
            return (
                conn.execute(
                    "DELETE FROM grants WHERE resource_type = ? AND resource_id = ? "
                    "AND subject_type = ? AND subject_id = ?",
                    (resource_type, resource_id, subject_type, subject_id),
                ).rowcount
                == 1
            )

    def grants(self, resource_type: str, resource_id: int) -> list[Grant]:
        rows = self.db.query(
            "SELECT g.id, g.resource_type, g.resource_id, g.subject_type, g.subject_id, "
            "CASE g.subject_type WHEN 'user' THEN (SELECT name FROM users WHERE id = "
            "g.subject_id) ELSE (SELECT name FROM groups WHERE id = g.subject_id) END "
            "AS subject, g.permission, g.created_at FROM grants g "
            "WHERE g.resource_type = ? AND g.resource_id = ? ORDER BY g.id",
            (resource_type, resource_id),
        )
        return [from_row(Grant, r) for r in rows]

    # --- shares a person accepted into their default scope -------------------------------

    def accept(self, user_id: int, resource_type: str, resource_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO accepted_shares (user_id, resource_type, resource_id) "
                "VALUES (?, ?, ?) ON CONFLICT (user_id, resource_type, resource_id) DO NOTHING",
                (user_id, resource_type, resource_id),
            )

    def unaccept(self, user_id: int, resource_type: str, resource_id: int) -> bool:
        with self.db.write() as conn:
            return (
                conn.execute(
                    "DELETE FROM accepted_shares WHERE user_id = ? AND resource_type = ? "
                    "AND resource_id = ?",
                    (user_id, resource_type, resource_id),
                ).rowcount
                == 1
            )

    def accepted(self, user_id: int, resource_type: str) -> set[int]:
        """Ids of the resources of this type the user accepted (readable or not)."""
        rows = self.db.query(
            "SELECT resource_id FROM accepted_shares WHERE user_id = ? AND resource_type = ?",
            (user_id, resource_type),
        )
        return {r[0] for r in rows}
