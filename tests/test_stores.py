"""The store contract, on SQLite and on PostgreSQL: one scenario through every store's
protocol (store/interfaces.py), run on each database; both must give the same typed
records (times aside), and each step is checked for what it promises."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from greffier.documents.analysis import index_text
from greffier.settings import Settings
from greffier.store.backends import open_stores
from greffier.store.records import ChunkRow, KeptAnswer, ResponseRecord, TranscriptSegment

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def plain(value):
    """Records as data, every time replaced by a marker once its format is checked."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str) and TIME.match(value):
        return "<time>"
    return value


def vector(seed: int, dimensions: int = 384) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dimensions).astype(np.float32)
    return v / np.linalg.norm(v)


def scenario(stores) -> dict:
    out: dict = {}
    # identity
    alice = stores.identity.create_user("alice", "member")
    admin = stores.identity.ensure_user("root", "admin")
    assert stores.identity.ensure_user("root", "admin") == admin
    key_id = stores.identity.add_key(alice, "grf_secret_alice", "laptop", "grf_se")
    stores.identity.touch_key(key_id)
    out["key"] = stores.identity.find_key("grf_secret_alice")
    assert out["key"].last_used_at and TIME.match(out["key"].last_used_at)
    assert stores.identity.revoke_key(key_id) and not stores.identity.revoke_key(key_id)
    out["users"] = stores.identity.users()
    out["admin_keys"] = stores.identity.count_active_admin_keys()
    # access
    rh = stores.access.create_group("rh", "ressources humaines")
    mairie = stores.access.create_group("mairie", "")
    stores.access.add_member(rh, user_id=alice)
    stores.access.add_member(rh, user_id=alice)  # twice: still one membership
    stores.access.add_member(mairie, member_group_id=rh)
    assert stores.access.contains_group(mairie, rh) and not stores.access.contains_group(rh, mairie)
    out["groups"] = stores.access.groups()
    out["alice_groups"] = sorted(stores.access.user_groups(alice))
    # documents
    col = stores.documents.create_collection("Accords", "", admin, "internal")
    stores.access.set_grant("collection", col, "group", mairie, "read", admin)
    out["grants"] = stores.access.grants("collection", col)
    out["alice_reads"] = stores.access.collection_ids(alice, "read")
    out["alice_writes"] = stores.access.collection_ids(alice, "write")
    doc = stores.documents.upsert_pending(col, "accord.md", "ab" * 32, 120, "job-1")
    texts = [
        ("Congés", "Cinq jours de congé sont accordés pour un mariage."),
        ("Budget", "Le budget primitif est voté en mars par le conseil."),
    ]
    rows = [
        ChunkRow(
            i,
            text,
            None,
            heading,
            i * 100,
            i * 100 + len(text),
            12,
            index_text(f"{heading}\n{text}"),
            vector(i),
        )
        for i, (heading, text) in enumerate(texts)
    ]
    stores.documents.replace_chunks(doc, "markdown", None, [], rows, {"email": 1})
    out["document"] = stores.documents.document(doc)
    out["chunks"] = stores.documents.chunks_of(doc)
    lexical = stores.documents.lexical("congés mariage", [col], 5)
    assert [c.rank for c in lexical] == [1] and lexical[0].chunk_id == out["chunks"][0].id
    assert stores.documents.lexical("congés mariage", [], 5) == []  # nothing readable
    semantic = stores.documents.semantic(vector(1), [col], 5)
    assert semantic[0].chunk_id == out["chunks"][1].id and semantic[0].score == pytest.approx(1)
    sources = stores.documents.chunks_with_documents([c.id for c in out["chunks"]])
    out["sources"] = [sources[c.id] for c in out["chunks"]]
    out["collections"] = stores.documents.collections([col])
    # the embedder of the index: recorded; another length refused while chunks are there;
    # every vector replaced at once for another embedder, none left out
    index = stores.documents
    assert index.embedding_space() is None and index.vector_dimensions() == 384
    index.set_embedding_space("e5", 384)
    out["space"] = index.embedding_space()
    with pytest.raises(ValueError):
        index.set_embedding_space("gemma", 768)
    stored = index.chunk_texts(0, 10)
    assert index.has_chunks() and [(h, t) for _, h, t in stored] == texts
    assert index.chunk_texts(stored[0][0], 10) == stored[1:]
    with pytest.raises(ValueError):
        index.replace_vectors("gemma", 768, [(stored[0][0], vector(0, 768))])
    assert index.vector_dimensions() == 384 and index.embedding_space() == out["space"]
    index.replace_vectors("gemma", 768, [(c, vector(i, 768)) for i, (c, _, _) in enumerate(stored)])
    assert index.vector_dimensions() == 768
    semantic = index.semantic(vector(1, 768), [col], 5)
    assert semantic[0].chunk_id == stored[1][0] and semantic[0].score == pytest.approx(1)
    out["space_after"] = index.embedding_space()
    # jobs
    stores.jobs.create("job-1", "ingest", admin, collection_id=col, total=1, params={"a": 1})
    stores.jobs.update("job-1", status="running", done=1)
    out["unfinished"] = stores.jobs.unfinished()
    stores.jobs.finish_step("job-1", "done")
    out["job"] = stores.jobs.get("job-1")
    out["job_documents"] = stores.documents.documents_of_job("job-1")
    # meetings
    meeting = stores.meetings.create(alice, "Conseil", "fr", 2, "c.wav", "cd" * 32, 12.5)
    stores.meetings.save_transcript(
        meeting,
        "fr",
        12.5,
        [
            TranscriptSegment(
                0.0, 2.5, "Intervenant 1", "Intervenant 1", "Bonjour.", [(0, 1, "Bonjour.")]
            ),
        ],
    )
    assert stores.meetings.rename_speaker(meeting, "Intervenant 1", "Mme Martin")
    assert not stores.meetings.rename_speaker(meeting, "Intervenant 9", "X")
    out["segments"] = stores.meetings.segments(meeting)
    stores.meetings.save_minutes(meeting, {"decisions": ["budget"]}, "qwen")
    out["minutes"] = stores.meetings.minutes(meeting)
    out["meeting"] = stores.meetings.get(meeting)
    assert stores.meetings.with_audio_older_than(1) == []
    # audit, quotas, usage
    stores.audit.record(
        user_id=alice,
        user_name="alice",
        key_id=key_id,
        action="search",
        status=200,
        model=None,
        query="congés",
        resources=[{"type": "document", "id": doc, "name": "accord.md"}],
    )
    out["audit"] = list(stores.audit.entries(resource=("document", doc)))
    assert list(stores.audit.entries(resource=("document", doc + 1))) == []
    stores.quotas.set("group", rh, 10, 1000)
    stores.quotas.add_tokens("2026-12-01", alice, key_id, 40)
    stores.quotas.add_tokens("2026-12-01", alice, key_id, 2)
    out["quotas"] = stores.quotas.applying_to(alice, key_id)
    out["group_tokens"] = stores.quotas.tokens_of_group("2026-12-01", mairie)
    stores.usage.add("2026-12-01", "qwen", 10, 5, 1.5)
    stores.usage.add("2026-12-01", "qwen", 1, 1, 0.5)
    out["usage"] = stores.usage.since("2026-11-01")
    # web sessions and conversations
    stores.sessions.add_session("token", alice, None, "csrf", "2999-01-01T00:00:00.000Z")
    out["session"] = stores.sessions.session("token")
    assert stores.sessions.session("other") is None
    conversation = stores.conversations.create_conversation(alice, "Congés", "qwen", {"a": [1]})
    stores.conversations.add_message(conversation, "user", "Combien ?", [], "")
    stores.conversations.add_message(
        conversation, "assistant", "Cinq.", [{"index": 1}], "qwen", answer_id="chatcmpl-9"
    )
    out["conversations"] = stores.conversations.conversations(alice)
    out["messages"] = stores.conversations.messages(conversation)
    # answers of the Responses API, for previous_response_id
    kept = ResponseRecord(
        "resp_1", alice, "qwen", None, "completed", [{"type": "message", "text": "Cinq."}],
        {"input_tokens": 3}, [{"role": "user", "content": "Combien ?"}], {"temperature": 0.5},
    )  # fmt: skip
    stores.responses.save(kept)
    got = stores.responses.get("resp_1")
    assert got.created_at and stores.responses.get("resp_2") is None
    out["response"] = dataclasses.replace(got, created_at="")
    stores.responses.save(dataclasses.replace(kept, id="resp_2"))
    stores.responses.delete("resp_2")
    assert stores.responses.get("resp_2") is None
    assert stores.responses.forget_user(alice) == 1
    # answers kept for feedback, feedback given on them, and its curation
    answer = KeptAnswer("chatcmpl-1", alice, "qwen", "Combien ?", "Cinq.", [{"index": 1}])
    stores.feedback.keep_answer(answer)
    stores.feedback.keep_answer(answer)  # kept once
    assert stores.feedback.answer("chatcmpl-1").created_at
    assert stores.feedback.answer("chatcmpl-2") is None
    stores.feedback.keep_answer(dataclasses.replace(answer, id="chatcmpl-old"))
    assert stores.feedback.forget_answers_before("2000-01-01T00:00:00.000Z") == 0
    assert stores.feedback.forget_answers_before("2999-01-01T00:00:00.000Z") == 2
    stores.feedback.keep_answer(answer)
    given = stores.feedback.give(answer, "down", "Six.", "faux")
    assert given.status == "pending" and TIME.match(given.created_at)
    stores.feedback.curate(given.id, "accepted", "root")
    assert TIME.match(stores.feedback.get(given.id).curated_at)
    again = stores.feedback.give(answer, "up", None, None)  # replaced: back to curation
    assert again.id == given.id and again.status == "pending" and again.curated_by is None
    stores.feedback.curate(given.id, "accepted", "alice")
    out["feedback"] = [
        dataclasses.replace(f, created_at="", updated_at="", curated_at="")
        for f in stores.feedback.find("accepted")
    ]
    assert stores.feedback.find("rejected") == [] and stores.feedback.find(user_id=admin) == []
    assert [f.id for f in stores.feedback.find(user_id=alice)] == [given.id]
    assert stores.feedback.of_answer("chatcmpl-1").id == given.id
    assert stores.feedback.forget_user(admin, "alice") == 0  # a curator's name leaves
    assert stores.feedback.get(given.id).curated_by == "[erased]"
    assert stores.feedback.forget_user(alice, "alice") == 2
    # evaluations: the latest of each kind per model
    for kind, share in (("bias", 61.0), ("bias", 58.5), ("answers", 0.9)):
        stores.evaluations.add("qwen", kind, "crows.csv", "ef" * 32, "0.1.0", "", {"v": share})
    stores.evaluations.add("other", "bias", "crows.csv", "ef" * 32, "0.1.0", "ab" * 32, {"v": 1})
    out["evaluations"] = [
        (e.model, e.kind, e.summary, e.model_sha256) for e in stores.evaluations.latest()
    ]
    assert [e.summary for e in stores.evaluations.latest("qwen")] == [{"v": 0.9}, {"v": 58.5}]
    # deletion cascades
    assert stores.documents.delete_collection(col) == ["ab" * 32]
    assert stores.documents.lexical("congés", [col], 5) == []
    assert stores.documents.semantic(vector(0, 768), [col], 5) == []
    assert stores.meetings.delete(meeting) == "cd" * 32
    assert stores.access.grants("collection", col) == []
    stores.quotas.forget_user(alice)
    assert stores.audit.forget_user(alice) == 1
    stores.identity.delete_user(alice)
    left = stores.erasure.remaining(alice, "alice", [col], [meeting], [])
    assert not any(left.values()), left
    # SQLite's census also counts its separate full-text and vector tables.
    out["alice_left"] = {k: v for k, v in left.items() if k not in stores.erasure.index_tables}
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory, postgres_url):
    from greffier.store.postgres.embedded import create_database

    got = {}
    for backend in ("sqlite", "postgresql"):
        settings = Settings(
            data_dir=tmp_path_factory.mktemp(backend),
            database_url=create_database(postgres_url, "contract")
            if backend == "postgresql"
            else None,
        )
        stores = open_stores(settings)
        got[backend] = plain(scenario(stores))
    return got


def test_each_store_keeps_its_promises_on_both_databases(results):
    assert set(results) == {"sqlite", "postgresql"}


@pytest.mark.parametrize(
    "part",
    [
        "key",
        "users",
        "groups",
        "alice_groups",
        "grants",
        "alice_reads",
        "alice_writes",
        "document",
        "chunks",
        "sources",
        "collections",
        "space",
        "space_after",
        "unfinished",
        "job",
        "job_documents",
        "segments",
        "minutes",
        "meeting",
        "audit",
        "quotas",
        "group_tokens",
        "usage",
        "session",
        "conversations",
        "messages",
        "response",
        "feedback",
        "evaluations",
        "alice_left",
    ],
)
def test_both_databases_give_the_same_records(results, part):
    assert results["sqlite"][part] == results["postgresql"][part]


def test_both_schemas_have_the_same_steps_and_every_table_moves(tmp_path):
    """A migration added for SQLite needs its PostgreSQL twin (same name, same order), and
    a new table must be copied by `greffier db migrate`."""
    from greffier.store.database import Database
    from greffier.store.migrations import MIGRATIONS
    from greffier.store.postgres.migrations import MIGRATIONS as PG_MIGRATIONS
    from greffier.store.postgres.transfer import TABLES

    assert [name for name, _ in MIGRATIONS] == [name for name, _ in PG_MIGRATIONS]
    db = Database(tmp_path / "schema.db")
    tables = {
        r[0]
        for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not r[0].startswith(("sqlite_", "chunks_fts", "chunks_vec", "chunks_vocab"))
    }
    sqlite_only = {"migrations", "vector_log"}  # PostgreSQL keeps its own / needs none
    assert tables - sqlite_only == set(TABLES)


def test_an_index_of_another_embedder_moves_to_postgresql(tmp_path, postgres_url):
    """`greffier db migrate` of an index embedded by a 768-dimension model (EmbeddingGemma)
    into a new PostgreSQL database, whose vector column starts at 384: the column takes the
    index's length, and semantic search finds the same chunks with the same scores."""
    from greffier.store.postgres.embedded import create_database
    from greffier.store.postgres.transfer import transfer

    source = open_stores(Settings(data_dir=tmp_path / "sqlite"))
    admin = source.identity.ensure_user("root", "admin")
    col = source.documents.create_collection("Accords", "", admin, "internal")
    doc = source.documents.upsert_pending(col, "accord.md", "ab" * 32, 120, None)
    texts = [f"Article {i} du règlement intérieur." for i in range(6)]
    rows = [
        ChunkRow(i, t, None, "", i * 40, i * 40 + len(t), 8, index_text(t), vector(i, 768))
        for i, t in enumerate(texts)
    ]
    source.documents.set_embedding_space("embeddinggemma-300m", 768)
    source.documents.replace_chunks(doc, "markdown", None, [], rows, {})
    target = open_stores(
        Settings(data_dir=tmp_path / "pg", database_url=create_database(postgres_url, "moved768"))
    )
    assert target.documents.vector_dimensions() == 384
    report = transfer(source.database, target.database)
    assert report.complete
    assert target.documents.vector_dimensions() == 768
    assert target.documents.embedding_space() == source.documents.embedding_space()
    for seed in (2, 5):
        query = vector(seed, 768)
        here, there = (s.documents.semantic(query, [col], 3) for s in (source, target))
        assert [c.chunk_id for c in there] == [c.chunk_id for c in here]
        assert there[0].chunk_id == source.documents.chunks_of(doc)[seed].id
        assert [c.score for c in there] == pytest.approx([c.score for c in here], abs=1e-4)
