"""Greffier on PostgreSQL as a cluster runs it: API servers without workers, `greffier
worker` processes killed with SIGKILL mid-job, two servers on one database, and an
installation moved from SQLite with `greffier db migrate`. Real processes on loopback,
the embedded PostgreSQL of conftest."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import audiofixtures as af
from conftest import greffier, running_server, server_sql

WAIT = 240


@pytest.fixture
def cluster(base_env, postgres_url, tmp_path):
    """Settings for a fresh cluster: a new database, shared files, the suite's models."""
    from greffier.store.postgres.embedded import create_database

    data = tmp_path / "node"
    data.mkdir()
    (data / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    return {
        **base_env,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_DATABASE_URL": create_database(postgres_url, f"cluster_{tmp_path.name[-20:]}"),
        "GREFFIER_WORKER_HEARTBEAT_SECONDS": "1",
        "GREFFIER_PRELOAD_DEFAULT_MODEL": "false",
        "GREFFIER_MAX_AUDIO_SECONDS": "120",
    }


@contextmanager
def worker(env: dict, log: Path):
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "greffier", "worker"], env=env, stdout=out, stderr=out
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def job(http: httpx.Client, job_id: str) -> dict:
    return http.get(f"/v1/jobs/{job_id}").json()


def wait_for(condition, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return value


def note(i: int) -> bytes:
    paragraphs = "\n\n".join(
        f"Paragraphe {p} de la note {i} : le service instruit la demande numéro {i}-{p} "
        "selon la procédure prévue par le règlement intérieur, puis en informe l'usager."
        for p in range(6)
    )
    return f"# Note de service {i}\n\n{paragraphs}\n".encode()


def test_a_worker_killed_mid_ingestion_loses_nothing(cluster, tmp_path):
    log = tmp_path / "workers.log"
    with running_server(cluster, Path(cluster["GREFFIER_DATA_DIR"]), "--no-worker") as api:
        http = httpx.Client(
            base_url=api.url, headers={"Authorization": f"Bearer {api.key}"}, timeout=60
        )
        col = http.post("/v1/collections", json={"name": "Notes"}).json()
        files = [("files", (f"note-{i:02d}.md", note(i))) for i in range(30)]
        submitted = http.post(f"/v1/collections/{col['id']}/documents", files=files).json()
        job_id = submitted["job_id"]
        time.sleep(1)
        assert job(http, job_id)["status"] == "queued"  # no worker in the API server
        with worker(cluster, log) as first:
            wait_for(lambda: job(http, job_id)["done"] >= 3, "the first worker indexed nothing")
            first.send_signal(signal.SIGKILL)
            first.wait()
        halfway = job(http, job_id)
        assert halfway["status"] == "running" and halfway["done"] < 30, halfway
        with worker(cluster, log):
            final = wait_for(
                lambda: (j := job(http, job_id))["status"] in ("done", "failed") and j,
                "the job did not finish after the restart",
            )
        assert final["status"] == "done" and final["done"] == 30, final
        assert [d["status"] for d in final["documents"]] == ["indexed"] * 30
        # Exactly once: each document's chunks counted on the document, no ordinal twice.
        per_document = server_sql(
            api,
            "SELECT d.id, d.chunks, count(c.id), count(DISTINCT c.ordinal) FROM documents d "
            "LEFT JOIN chunks c ON c.document_id = d.id WHERE d.collection_id = ? "
            "GROUP BY d.id, d.chunks",
            (col["id"],),
        )
        assert len(per_document) == 30
        assert all(chunks == rows == ordinals > 0 for _, chunks, rows, ordinals in per_document)
        hits = http.post(
            "/v1/search", json={"query": "demande numéro 17-3", "mode": "lexical", "k": 1}
        ).json()["data"]
        assert hits[0]["document"] == "note-17.md"


def test_a_worker_killed_mid_transcription_loses_nothing(cluster, tmp_path):
    recording, _ = af.dialogue(tmp_path)
    log = tmp_path / "workers.log"
    with running_server(cluster, Path(cluster["GREFFIER_DATA_DIR"]), "--no-worker") as api:
        http = httpx.Client(
            base_url=api.url, headers={"Authorization": f"Bearer {api.key}"}, timeout=60
        )
        with recording.open("rb") as audio:
            meeting = http.post(
                "/v1/meetings", files={"file": ("conseil.wav", audio)}, data={"title": "Conseil"}
            ).json()
        with worker(cluster, log) as first:
            wait_for(lambda: job(http, meeting["job_id"])["status"] == "running", "never started")
            first.send_signal(signal.SIGKILL)
            first.wait()
        assert job(http, meeting["job_id"])["status"] == "running"
        with worker(cluster, log):
            wait_for(
                lambda: job(http, meeting["job_id"])["status"] in ("done", "failed"),
                "the transcription did not finish after the restart",
            )
        assert job(http, meeting["job_id"])["status"] == "done"
        body = http.get(f"/v1/meetings/{meeting['id']}").json()
        assert body["status"] == "transcribed" and body["segments"]
        ((rows, ordinals),) = server_sql(
            api,
            "SELECT count(*), count(DISTINCT ordinal) FROM meeting_segments WHERE meeting_id = ?",
            (meeting["id"],),
        )
        assert rows == ordinals == len(body["segments"])  # transcribed once
        ((documents,),) = server_sql(
            api,
            "SELECT count(*) FROM documents d JOIN collections c ON c.id = d.collection_id "
            "WHERE c.meeting_id = ?",
            (meeting["id"],),
        )
        assert documents == 1  # indexed once


def test_two_servers_on_one_database(cluster, tmp_path):
    data = Path(cluster["GREFFIER_DATA_DIR"])
    with (
        running_server({**cluster, "GREFFIER_PRELOAD_DEFAULT_MODEL": "false"}, data) as one,
        running_server(cluster, data, "--no-worker") as two,
    ):
        first = httpx.Client(base_url=one.url, headers={"Authorization": f"Bearer {one.key}"})
        second = httpx.Client(base_url=two.url, headers={"Authorization": f"Bearer {two.key}"})
        # A document uploaded through one is searchable through the other.
        col = first.post("/v1/collections", json={"name": "Partagée"}).json()
        up = first.post(
            f"/v1/collections/{col['id']}/documents",
            files=[("files", ("cantine.md", b"# Cantine\n\nLe menu change le mardi."))],
            timeout=60,
        ).json()
        wait_for(lambda: job(first, up["job_id"])["status"] == "done", "not indexed")
        hits = second.post("/v1/search", json={"query": "menu cantine", "mode": "lexical"})
        assert hits.json()["data"][0]["document"] == "cantine.md"
        # A web session opened on one works on the other.
        signed = httpx.post(
            f"{one.url}/sign-in", data={"method": "key", "key": two.key}, follow_redirects=False
        )
        assert signed.status_code == 303
        cookie = signed.cookies["greffier_session"]
        page = httpx.get(f"{two.url}/documents", cookies={"greffier_session": cookie})
        assert page.status_code == 200 and "Partagée" not in page.url.path
        listed = httpx.get(f"{two.url}/v1/collections", cookies={"greffier_session": cookie})
        assert [c["name"] for c in listed.json()["data"]] == ["Partagée"]


def test_db_migrate_moves_an_installation_with_the_same_answers(base_env, postgres_url, tmp_path):
    from greffier.services.container import Services
    from greffier.settings import Settings
    from greffier.store.postgres.embedded import create_database

    data = tmp_path / "townhall"
    data.mkdir()
    (data / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    env = {**base_env, "GREFFIER_DATA_DIR": str(data)}
    folder = tmp_path / "archives"
    folder.mkdir()
    for i in range(12):
        (folder / f"note-{i:02d}.md").write_bytes(note(i))
    greffier(
        "ingest",
        str(folder),
        "--collection",
        "archives",
        "--user",
        "mairie",
        "--role",
        "admin",
        env=env,
    )
    key = greffier("admin", "create-key", "--user", "agent", "--role", "member", env=env)
    key = key.stdout.strip().splitlines()[-1]
    questions = ["demande numéro 7-2", "règlement intérieur procédure", "note de service 11"]

    def answers(settings: Settings) -> dict[str, list]:
        """The first three passages of each search. Semantic search must agree passage for
        passage (the same vectors, an exact index at this size); full-text ranking differs
        by design (SQLite: Greffier's BM25 over the caller's scope; PostgreSQL: ts_rank
        with its French analysis) and these notes tie on most words, so there the two
        databases' first three must share a document."""
        services = Services.build(settings, run_jobs=False)
        who = services.identity.local_principal("mairie", "admin")
        found: dict[str, list] = {}
        for mode in ("semantic", "lexical", "hybrid"):
            for q in questions:
                hits = services.search.find(who, q, k=3, mode=mode)
                passages = [(h.document, h.text[:40]) for h in hits]
                found[f"{mode}: {q}"] = passages
        services.identity.authenticate(key)  # the agent's key still opens the door
        return found

    settings = Settings(data_dir=data, preload_default_model=False)
    before = answers(settings)
    url = create_database(postgres_url, "townhall")
    moved = greffier("db", "migrate", "--to", url, env=env)
    assert "✗" not in moved.stdout and "found by its vector and by its words" in moved.stdout
    after = answers(Settings(data_dir=data, preload_default_model=False, database_url=url))
    for asked, passages in before.items():
        if asked.startswith("semantic"):
            assert after[asked] == passages, asked
        else:
            assert passages and after[asked], asked
            shared = {d for d, _ in passages} & {d for d, _ in after[asked]}
            assert shared, (asked, passages, after[asked])
    again = greffier("db", "migrate", "--to", url, env=env, check=False)
    assert again.returncode == 1 and "already holds data" in again.stderr
