"""Ingestion jobs survive a restart: state lives in SQLite, each document is atomic."""

from __future__ import annotations

import time

from greffier.services.container import Services
from greffier.services.principal import Principal
from greffier.settings import Settings


def build(data) -> tuple[Services, Principal]:
    services = Services.build(Settings(data_dir=data, preload_default_model=False))
    return services, services.identity.local_principal("admin", "admin")


def test_unfinished_job_resumes_after_restart(tmp_path):
    services, who = build(tmp_path)
    col = services.documents.create_collection(who, "archives")
    files = [(f"note-{i}.txt", f"Compte rendu numéro {i} du comité.".encode()) for i in range(3)]
    job_id = services.documents.submit(who, col.id, files).job_id
    # The process stops before the job runs (or half-way: a document is all or nothing).
    services.documents._index(services.documents.store.pending_documents(job_id)[0])
    services.documents.jobs.update(job_id, status="running", done=1)
    del services

    restarted, who = build(tmp_path)
    assert restarted.jobs.start() == [job_id]
    try:
        deadline = time.monotonic() + 120
        while restarted.documents.job(who, job_id).job.status != "done":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        restarted.jobs.stop()
    report = restarted.documents.job(who, job_id)
    assert report.job.done == 3
    assert [d.status for d in report.documents] == ["indexed"] * 3
    hits = restarted.search.search("compte rendu numéro 2", [col.id], k=1, mode="lexical")
    assert hits[0].document == "note-2.txt"
    assert restarted.documents.store.counts()["chunks"] == 3
