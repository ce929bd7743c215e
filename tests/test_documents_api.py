"""Documents end to end: upload real files to a real server, index, search, ground chat."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest

import docfixtures
from conftest import MODEL, greffier

SECRET_PAGE = [
    ["Rapport annuel de la médiathèque municipale.", docfixtures.LONG],
    [
        "Horaires : la médiathèque Jules Verne ouvre le samedi de 9 h à 17 h.",
        "Le prêt de livres est gratuit pour les habitants de la commune.",
    ],
    ["Annexe : inventaire des collections."],
]


def wait_job(http: httpx.Client, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job['status']}")


def upload(http: httpx.Client, collection_id: int, paths: list[tuple[str, bytes]]) -> dict:
    files = [("files", (name, data)) for name, data in paths]
    r = http.post(f"/v1/collections/{collection_id}/documents", files=files)
    assert r.status_code in (200, 202), r.text
    return r.json()


@pytest.fixture(scope="module")
def library(server, tmp_path_factory):
    """A collection with one document of each format and a batch of bad files."""
    tmp = tmp_path_factory.mktemp("library")
    http = httpx.Client(
        base_url=server.url, timeout=120, headers={"Authorization": f"Bearer {server.key}"}
    )
    col = http.post("/v1/collections", json={"name": "mairie", "description": "Conseil"}).json()
    good = {
        "rapport.pdf": docfixtures.pdf(tmp / "rapport.pdf", SECRET_PAGE).read_bytes(),
        "deliberation.docx": docfixtures.docx(tmp / "d.docx").read_bytes(),
        "seance.odt": docfixtures.odt(tmp / "s.odt").read_bytes(),
        "notes/voirie.md": b"# Voirie\n\nLa rue des Lilas sera refaite en juin.\n",
        "page.html": "<html><body><h1>Piscine</h1><p>La piscine ferme en août.</p>"
        "<script>evil()</script></body></html>".encode(),
        "cantine.txt": b"Le menu de la cantine change chaque lundi.",
    }
    bad = {
        "vide.txt": b"",
        "tronque.pdf": good["rapport.pdf"][:400],
        "protege.pdf": docfixtures.pdf(tmp / "p.pdf", [["secret"]], user_password="x").read_bytes(),
        "bombe.docx": docfixtures.zip_bomb(tmp / "b.docx", 300).read_bytes(),
        "image.txt": docfixtures.png(tmp / "i.png").read_bytes(),
        "../../etc/passwd.txt": b"root",
    }
    first = upload(http, col["id"], [*good.items(), *bad.items()])
    job = wait_job(http, first["job_id"])
    yield {
        "http": http,
        "collection": col,
        "job": job,
        "submitted": first,
        "good": good,
        "bad": bad,
        "tmp": tmp,
    }
    http.close()


def docs_by_name(library) -> dict:
    http, col = library["http"], library["collection"]
    return {d["name"]: d for d in http.get(f"/v1/collections/{col['id']}/documents").json()["data"]}


def test_batch_indexes_good_files_and_refuses_bad_ones_precisely(library):
    job, submitted = library["job"], library["submitted"]
    assert job["status"] == "done" and job["done"] == job["total"]
    assert {r["code"] for r in submitted["refused"]} == {"empty_file", "path_outside_folder"}
    docs = docs_by_name(library)
    for name in library["good"]:
        assert docs[name]["status"] == "indexed", docs[name]
        assert docs[name]["chunks"] > 0
    codes = {
        name: docs[name]["error"]["code"]
        for name in ("tronque.pdf", "protege.pdf", "bombe.docx", "image.txt")
    }
    assert codes == {
        "tronque.pdf": "corrupt_file",
        "protege.pdf": "encrypted_pdf",
        "bombe.docx": "zip_bomb",
        "image.txt": "type_mismatch",
    }
    for name in codes:
        assert docs[name]["status"] == "failed" and docs[name]["chunks"] == 0
    assert docs["rapport.pdf"]["pages"] == 3 and docs["rapport.pdf"]["format"] == "pdf"


def test_too_large_file_and_request(library):
    http, col = library["http"], library["collection"]
    one = upload(http, col["id"], [("gros.txt", b"mot " * (2 << 18))])  # 2 MiB > 1 MiB
    assert [r["code"] for r in one["refused"]] == ["file_too_large"]
    assert "max_document_bytes" in one["refused"][0]["reason"]
    r = http.post(
        f"/v1/collections/{col['id']}/documents", files=[("files", ("x.txt", b"b" * (4 << 20)))]
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("mode", ["lexical", "semantic", "hybrid"])
def test_search_finds_page_and_offsets(library, mode):
    http, col = library["http"], library["collection"]
    r = http.post(
        "/v1/search",
        json={
            "query": "À quelle heure ouvre la médiathèque le samedi ?",
            "collections": [col["id"]],
            "k": 3,
            "mode": mode,
        },
    )
    assert r.status_code == 200, r.text
    top = r.json()["data"][0]
    assert top["document"] == "rapport.pdf" and top["page"] == 2
    assert "samedi" in top["text"]
    assert 0 <= top["char_start"] < top["char_end"]


def test_search_uses_structure(library):
    http, col = library["http"], library["collection"]
    hits = http.post(
        "/v1/search", json={"query": "budget primitif", "collections": [col["id"]], "k": 5}
    ).json()["data"]
    docx_hits = [h for h in hits if h["document"] == "deliberation.docx"]
    assert docx_hits and "Budget primitif" in " ".join(h["heading"] for h in docx_hits)


def test_reupload_unchanged_then_changed_replaces_chunks(library):
    http, col = library["http"], library["collection"]
    same = upload(http, col["id"], [("cantine.txt", library["good"]["cantine.txt"])])
    assert same["unchanged"] == ["cantine.txt"] and same["job_id"] is None
    changed = upload(http, col["id"], [("cantine.txt", b"Le menu change le mardi.")])
    assert wait_job(http, changed["job_id"])["status"] == "done"
    hits = http.post(
        "/v1/search", json={"query": "menu cantine", "collections": [col["id"]], "mode": "lexical"}
    ).json()["data"]
    texts = [h["text"] for h in hits if h["document"] == "cantine.txt"]
    assert texts == ["Le menu change le mardi."]


def test_delete_document_removes_everything(library, server):
    from greffier.store.database import Database
    from greffier.store.documents import DocumentStore

    http, col = library["http"], library["collection"]
    store = DocumentStore(Database(server.data / "greffier.db"))
    added = upload(http, col["id"], [("temporaire.md", b"# Temp\n\nUn texte jetable unique.")])
    wait_job(http, added["job_id"])
    doc = docs_by_name(library)["temporaire.md"]
    before = store.counts()
    sha_file = server.data / "files" / doc["sha256"][:2] / doc["sha256"]
    assert sha_file.exists()
    assert http.delete(f"/v1/documents/{doc['id']}").json()["deleted"] is True
    after = store.counts()
    assert after["documents"] == before["documents"] - 1
    for table in ("chunks", "chunks_fts", "chunks_vec"):
        assert after[table] == before[table] - doc["chunks"], table
    assert not sha_file.exists()
    assert http.get(f"/v1/documents/{doc['id']}").status_code == 404
    hits = http.post(
        "/v1/search", json={"query": "texte jetable unique", "mode": "lexical"}
    ).json()["data"]
    assert all(h["document"] != "temporaire.md" for h in hits)


def test_other_people_cannot_see_a_collection(library, server):
    key = (
        greffier("admin", "create-key", "--user", "claire", "--role", "member", env=server.env)
        .stdout.strip()
        .splitlines()[-1]
    )
    other = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"})
    col = library["collection"]
    assert other.get("/v1/collections").json()["data"] == []
    assert other.get(f"/v1/collections/{col['id']}").status_code == 404
    r = other.post("/v1/search", json={"query": "médiathèque", "collections": [col["id"]]})
    assert r.status_code == 404
    assert other.post("/v1/search", json={"query": "médiathèque"}).json()["data"] == []
    assert other.get(f"/v1/jobs/{library['job']['id']}").status_code == 404
    doc = docs_by_name(library)["rapport.pdf"]
    assert other.get(f"/v1/documents/{doc['id']}").status_code == 404
    assert other.delete(f"/v1/documents/{doc['id']}").status_code == 404


def test_embeddings_with_the_openai_client(client):
    one = client.embeddings.create(model="multilingual-e5-small", input="Bonjour")
    assert len(one.data[0].embedding) == 384  # the client asks for base64 and decodes it
    many = client.embeddings.create(
        model="multilingual-e5-small",
        input=["le chat", "le chien", "la fiscalité locale"],
        encoding_format="float",
    )
    v = np.array([d.embedding for d in many.data])
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-3)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert many.usage.prompt_tokens > 3
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="nope", input="x")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=MODEL, input="x")


def test_remote_embedder_through_the_openai_backend(http):
    texts = ["Le conseil municipal vote le budget.", "La piscine ferme en août."]
    for kind in ("query", "passage"):
        local, remote = (
            np.array(
                [
                    d["embedding"]
                    for d in http.post(
                        "/v1/embeddings", json={"model": model, "input": texts, "input_type": kind}
                    ).json()["data"]
                ]
            )
            for model in ("multilingual-e5-small", "remote-e5")
        )
        assert np.allclose((local * remote).sum(axis=1), 1, atol=1e-4)


def test_embeddings_base64_matches_float(http):
    body = {"model": "multilingual-e5-small", "input": "Conseil municipal"}
    f = http.post("/v1/embeddings", json=body).json()["data"][0]["embedding"]
    b = http.post("/v1/embeddings", json={**body, "encoding_format": "base64"}).json()
    decoded = np.frombuffer(base64.b64decode(b["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, f)


def test_chat_with_retrieval_cites_document_and_page(library, client):
    col = library["collection"]
    question = [
        {"role": "user", "content": "Quels sont les horaires de la médiathèque le samedi ?"}
    ]
    reply = client.chat.completions.create(
        model=MODEL,
        messages=question,
        temperature=0,
        max_tokens=40,
        extra_body={"retrieval": {"collections": [col["id"]], "k": 3}},
    )
    citations = reply.model_extra["citations"]
    assert citations[0]["document"] == "rapport.pdf" and citations[0]["page"] == 2
    assert "samedi" in citations[0]["excerpt"]
    assert [c["index"] for c in citations] == list(range(1, len(citations) + 1))
    answer = reply.choices[0].message.content
    assert "9" in answer and "17" in answer
    # Each sentence attached after generation to the passage supporting it (extension).
    sentences = reply.model_extra["sentences"]
    assert sentences and all(answer[s["start"] : s["end"]] == s["text"] for s in sentences)
    hours = next(s for s in sentences if "9" in s["text"] and "17" in s["text"])
    assert hours["supported"] is True
    supporting = next(c for c in citations if c["index"] == hours["citation"])
    assert supporting["document"] == "rapport.pdf" and "samedi" in supporting["excerpt"]
    assert {"start": hours["start"], "end": hours["end"]} in supporting["spans"]
    stream = list(
        client.chat.completions.create(
            model=MODEL,
            messages=question,
            temperature=0,
            max_tokens=10,
            stream=True,
            extra_body={"retrieval": {"collections": [col["id"]], "k": 3}},
        )
    )
    assert stream[0].model_extra["citations"][0]["document"] == "rapport.pdf"
    last = next(c for c in stream if c.choices and c.choices[0].finish_reason)
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert [streamed[s["start"] : s["end"]] for s in last.model_extra["sentences"]] == [
        s["text"] for s in last.model_extra["sentences"]
    ]


def test_chat_with_retrieval_says_when_nothing_is_relevant(library, client):
    col = library["collection"]
    reply = client.chat.completions.create(
        model=MODEL,
        max_tokens=20,
        messages=[{"role": "user", "content": "Quelle est la vitesse de la lumière ?"}],
        extra_body={"retrieval": {"collections": [col["id"]]}},
    )
    assert reply.model_extra["citations"] == []
    assert reply.model_extra["sentences"] == []
    assert "aucun passage" in reply.choices[0].message.content
    english = client.chat.completions.create(
        model=MODEL,
        max_tokens=20,
        messages=[{"role": "user", "content": "What is the speed of light?"}],
        extra_body={"retrieval": {"collections": [col["id"]]}},
    )
    assert "found no passage" in english.choices[0].message.content


def test_a_shared_word_is_not_enough_to_answer(library, client):
    """The lilacs of "rue des Lilas" are not flowers: the word matches, the meaning does
    not (below the embedder's relevance floor), so the model is not asked."""
    http, col = library["http"], library["collection"]
    question = "Combien de pétales a une fleur de lilas ?"
    hits = http.post(
        "/v1/search", json={"query": question, "collections": [col["id"]], "k": 5}
    ).json()["data"]
    voirie = next(h for h in hits if h["document"] == "notes/voirie.md")
    assert voirie["lexical_rank"] is not None  # the word alone would have let it through
    assert all(h["similarity"] is None or h["similarity"] < 0.83 for h in hits)
    reply = client.chat.completions.create(
        model=MODEL,
        max_tokens=20,
        messages=[{"role": "user", "content": question}],
        extra_body={"retrieval": {"collections": [col["id"]]}},
    )
    assert reply.model_extra["citations"] == []
    assert "aucun passage" in reply.choices[0].message.content
    assert reply.usage.completion_tokens == 0  # Greffier's own words, not the model's
    on_topic = http.post(
        "/v1/search",
        json={"query": "Quand la rue des Lilas sera-t-elle refaite ?", "collections": [col["id"]]},
    ).json()["data"]
    assert on_topic[0]["document"] == "notes/voirie.md" and on_topic[0]["similarity"] >= 0.83


def test_collection_lifecycle_and_errors(http, server):
    r = http.post("/v1/collections", json={"name": "rh", "sensitivity": "sensitive"})
    assert r.status_code == 201 and r.json()["sensitivity"] == "sensitive"
    dup = http.post("/v1/collections", json={"name": "rh"})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "already_exists"
    bad = http.post("/v1/collections", json={"name": "x", "sensitivity": "top"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "sensitivity"
    cid = r.json()["id"]
    assert http.post(f"/v1/collections/{cid}/documents").status_code == 400  # no files
    assert http.delete(f"/v1/collections/{cid}").json()["deleted"] is True
    assert http.get(f"/v1/collections/{cid}").status_code == 404
    assert http.post("/v1/search", json={"query": ""}).status_code == 400
    assert http.post("/v1/search", json={"query": "x", "mode": "magic"}).status_code == 400


def test_cli_ingest_reports_each_file(base_env, tmp_path):
    folder = tmp_path / "dossier"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# Titre\n\nUn paragraphe.")
    (folder / "sub" / "b.txt").write_text("Autre texte.")
    (folder / "c.pdf").write_bytes(b"%PDF-1.7 truncated")
    outside = tmp_path / "secret.txt"
    outside.write_text("hors du dossier")
    (folder / "lien.txt").symlink_to(outside)
    env = {**base_env, "GREFFIER_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    out = greffier("ingest", str(folder), "--collection", "rh", env=env).stdout
    assert "a.md" in out and "sub/b.txt" in out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert "indexed" in lines["a.md"] and "indexed" in lines["sub/b.txt"]
    assert "corrupt_file" in lines["c.pdf"]
    assert "path_outside_folder" in lines["lien.txt"]
    again = greffier("ingest", str(folder), "--collection", "rh", env=env).stdout
    assert "2 unchanged" in again.replace("0 indexed, ", "")
    assert Path(tmp_path / "data" / "greffier.db").exists()
