"""The access rule in SQL against a reference model of it, over random groups and grants
(hypothesis), on a real SQLite database and a real PostgreSQL one. Each example runs in a
transaction that is rolled back, so every world starts empty."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greffier.store.access import LEVELS, AccessStore
from greffier.store.database import Database

USERS = 4  # user 1 owns the resources
GROUPS = 3
PERMISSIONS = ("read", "write", "manage", "deny")


def reference(user, owner, members, nesting, grants, level) -> bool:
    """The rule as docs/access.md states it, in plain Python."""
    if user == owner:
        return True
    mine, frontier = set(), {g for g, u in members if u == user}
    while frontier:  # a group containing one of mine is mine too
        mine |= frontier
        frontier = {outer for outer, inner in nesting if inner in mine} - mine
    reaching = [
        p
        for (kind, who), p in grants.items()
        if (kind, who) in {("user", user), *(("group", g) for g in mine)}
    ]
    if "deny" in reaching:
        return False
    return any(LEVELS[p] >= LEVELS[level] for p in reaching)


world = st.fixed_dictionaries(
    {
        "members": st.sets(st.tuples(st.integers(1, GROUPS), st.integers(1, USERS)), max_size=8),
        # Only outer < inner: nesting without cycles (the service refuses cycles).
        "nesting": st.sets(
            st.tuples(st.integers(1, GROUPS), st.integers(1, GROUPS)).filter(lambda p: p[0] < p[1]),
            max_size=3,
        ),
        "grants": st.dictionaries(
            st.one_of(
                st.tuples(st.just("user"), st.integers(1, USERS)),
                st.tuples(st.just("group"), st.integers(1, GROUPS)),
            ),
            st.sampled_from(PERMISSIONS),
            max_size=6,
        ),
        "meeting_grants": st.dictionaries(
            st.tuples(st.just("user"), st.integers(1, USERS)),
            st.sampled_from(PERMISSIONS),
            max_size=3,
        ),
    }
)


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back(db):
    """Everything inside joins one transaction, undone at the end."""
    try:
        with db.write():
            yield
            raise _Rollback
    except _Rollback:
        pass


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    if request.param == "sqlite":
        return Database(tmp_path_factory.mktemp("rules") / "access.db")
    from greffier.store.postgres.database import PgDatabase
    from greffier.store.postgres.embedded import create_database

    url = request.getfixturevalue("postgres_url")
    return PgDatabase(create_database(url, "access_rules"))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(w=world)
def test_sql_rule_matches_the_reference(database, w):
    db, store = database, AccessStore(database)
    with rolled_back(db):
        with db.write() as conn:
            for u in range(1, USERS + 1):
                conn.execute(
                    "INSERT INTO users (id, name, role) VALUES (?, ?, 'member')", (u, f"u{u}")
                )
            for g in range(1, GROUPS + 1):
                conn.execute("INSERT INTO groups (id, name) VALUES (?, ?)", (g, f"g{g}"))
            conn.execute("INSERT INTO collections (id, name, owner_id) VALUES (1, 'c', 1)")
            conn.execute(
                "INSERT INTO meetings (id, owner_id, title, status, audio_name) "
                "VALUES (7, 1, 'm', 'transcribed', 'a.wav')"
            )
            # The meeting's transcript collection follows the meeting's grants, not its own.
            conn.execute(
                "INSERT INTO collections (id, name, owner_id, meeting_id) VALUES (2, 'r', 1, 7)"
            )
        for group, user in w["members"]:
            store.add_member(group, user_id=user)
        for outer, inner in w["nesting"]:
            store.add_member(outer, member_group_id=inner)
        for (kind, who), permission in w["grants"].items():
            store.set_grant("collection", 1, kind, who, permission, 1)
            store.set_grant("collection", 2, kind, who, "manage", 1)  # ignored: a meeting's
        for (kind, who), permission in w["meeting_grants"].items():
            store.set_grant("meeting", 7, kind, who, permission, 1)
        for user in range(1, USERS + 1):
            for level in LEVELS:
                expected = reference(user, 1, w["members"], w["nesting"], w["grants"], level)
                assert store.can(user, "collection", 1, level) is expected
                assert (1 in store.collection_ids(user, level)) is expected
                heard = reference(user, 1, set(), set(), w["meeting_grants"], level)
                assert store.can(user, "meeting", 7, level) is heard
                assert (7 in store.meeting_ids(user, level)) is heard
                assert (2 in store.collection_ids(user, level, meetings=True)) is heard
