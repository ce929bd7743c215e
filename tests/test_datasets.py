"""`greffier dataset build | export | import` on the real server's database: examples from
accepted feedback and synthetic pairs the bundled model writes from a collection, personal
identifiers masked, the card and its checksums, and a tampered archive refused."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
import zipfile

import httpx
import pytest

from conftest import MODEL, greffier
from greffier.services.answer_evaluation import load_answer_set

EMAIL = "jeanne.martin@mairie-exemple.fr"
PHONE = "06 12 34 56 78"
NOTES = {
    "cantine.md": "# Délibération sur la cantine\n\nLe conseil municipal fixe le prix du repas "
    "de la cantine scolaire à 3,20 euros pour l'année 2027. Les familles au quotient "
    "familial inférieur à 600 euros paient 1 euro le repas.\n",
    "piscine.md": "# Horaires de la piscine\n\nLa piscine municipale ouvre le samedi de 9 "
    "heures à 18 heures, et le dimanche matin de 9 heures à 12 heures pendant la saison "
    "d'été. Elle est fermée le lundi pour l'entretien des bassins.\n",
    "voirie.md": "# Travaux de voirie\n\nLa réfection de la rue des Tilleuls commence le 3 "
    "mars 2027 et dure six semaines. La circulation y est interdite aux poids lourds "
    "pendant toute la durée du chantier.\n",
}


def member(http: httpx.Client, server, name: str) -> httpx.Client:
    user = http.post("/v1/admin/users", json={"name": name, "role": "member"}).json()
    key = http.post(f"/v1/admin/users/{user['id']}/keys", json={"label": "tests"}).json()
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {key['key']}"}, timeout=120
    )


@pytest.fixture(scope="module")
def curated(server, http_module):
    """A member's collection, two of their answers rated (one corrected with personal
    identifiers in it) and accepted by an admin, a third rejected."""
    http = http_module
    tag = uuid.uuid4().hex[:6]
    agent = member(http, server, f"agent-{tag}")
    col = agent.post("/v1/collections", json={"name": f"Délibérations {tag}"}).json()
    job = agent.post(
        f"/v1/collections/{col['id']}/documents",
        files=[("files", (name, text.encode())) for name, text in NOTES.items()],
    ).json()
    deadline = time.monotonic() + 180
    while agent.get(f"/v1/jobs/{job['job_id']}").json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    # The admin curating may read what the answers cite (admins read nothing unshared).
    shared = agent.post(
        f"/v1/collections/{col['id']}/grants", json={"user": "tests", "permission": "read"}
    )
    assert shared.status_code == 201, shared.text
    items = {}
    for name, question, feedback, decision in (
        (
            "down",
            f"Quel est le prix du repas de la cantine ({tag}) ?",
            {
                "rating": "down",
                "correction": f"3,20 euros le repas. Contact : {EMAIL}, {PHONE}.",
            },
            "accepted",
        ),
        ("up", f"Quand ouvre la piscine ({tag}) ?", {"rating": "up"}, "accepted"),
        ("no", f"Qui paie un euro ({tag}) ?", {"rating": "up"}, "rejected"),
    ):
        answer = agent.post(
            "/v1/chat/completions",
            json={
                "model": MODEL,
                "messages": [{"role": "user", "content": question}],
                "max_tokens": 6,
                "retrieval": {"collections": [col["id"]]},
            },
        ).json()
        given = agent.post(f"/v1/chat/completions/{answer['id']}/feedback", json=feedback)
        assert given.status_code == 200, given.text
        decided = http.patch(f"/v1/feedback/{given.json()['id']}", json={"status": decision})
        assert decided.status_code == 200, decided.text
        items[name] = {**given.json(), "model_answer": answer["choices"][0]["message"]["content"]}
    return {"tag": tag, "collection": col["id"], "items": items}


@pytest.fixture(scope="module")
def http_module(server):
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.key}"}, timeout=120
    ) as c:
        yield c


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def built(server, curated, tmp_path_factory):
    out = tmp_path_factory.mktemp("datasets") / "mairie"
    done = greffier(
        "dataset", "build", str(out), "--licence", "CC-BY-4.0",
        "--synthetic", str(curated["collection"]), "--count", "2", "--max-tokens", "120",
        "--heldout", "0.3", "--seed", "3",
        env=server.env,
    )  # fmt: skip
    assert "card.json SHA-256" in done.stdout
    return out


def test_examples_come_from_accepted_feedback_only(built, curated):
    tag = curated["tag"]
    sft = lines(built / "sft.jsonl") + lines(built / "sft.heldout.jsonl")
    by_question = {m["messages"][-2]["content"]: m["messages"] for m in sft}
    down, up = curated["items"]["down"], curated["items"]["up"]
    # A corrected answer is learned as corrected; an approved one as the model gave it.
    assert by_question[down["question"]][-1]["content"].startswith("3,20 euros le repas.")
    assert by_question[up["question"]][-1] == {"role": "assistant", "content": up["answer"]}
    assert by_question[up["question"]][0]["role"] == "system"
    assert curated["items"]["no"]["question"] not in by_question  # rejected
    assert all(
        [m["role"] for m in messages] == ["system", "user", "assistant"]
        for messages in by_question.values()
    )
    # The correction is preferred to the model's answer.
    pairs = lines(built / "preference.jsonl") + lines(built / "preference.heldout.jsonl")
    pair = next(p for p in pairs if p["prompt"] == down["question"])
    assert pair["chosen"].startswith("3,20 euros") and pair["rejected"] == down["answer"]
    assert tag in down["question"]


def test_personal_identifiers_are_masked_everywhere(built):
    for path in built.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert EMAIL not in text and PHONE not in text, path.name
    sft = (built / "sft.jsonl").read_text() + (built / "sft.heldout.jsonl").read_text()
    assert "[courriel masqué]" in sft and "[téléphone masqué]" in sft
    card = json.loads((built / "card.json").read_text())
    assert card["masking"]["applied"] is True
    # Counted once per example (the correction is in its SFT line and its preference pair).
    assert card["masking"]["masked"]["email"] >= 1 and card["masking"]["masked"]["phone"] >= 1


def test_the_card_says_what_went_in(built, curated):
    card = json.loads((built / "card.json").read_text())
    assert card["licence"] == "CC-BY-4.0" and card["split"] == {"heldout": 0.3, "seed": 3}
    assert card["sources"]["feedback"]["accepted"] >= 2
    synthetic = card["sources"]["synthetic"]
    assert synthetic["collection_id"] == curated["collection"] and synthetic["model"] == MODEL
    assert synthetic["asked"] == 2 and synthetic["kept"] <= synthetic["written"] <= 2
    assert "tests" in card["curators"]  # the admin who accepted
    for name, entry in card["files"].items():
        data = (built / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
    total = card["counts"]["sft.jsonl"] + card["counts"]["sft.heldout.jsonl"]
    assert total == card["sources"]["feedback"]["examples"] + synthetic["kept"]
    readme = (built / "DATASET.md").read_text()
    assert (
        "CC-BY-4.0" in readme
        and "tests" in readme
        and card["files"]["sft.jsonl"]["sha256"] in readme
    )
    # Synthetic pairs kept name their passage's document; only they and cited answers do.
    kept = [json.loads(line) for line in (built / "heldout.answers.jsonl").read_text().splitlines()]
    assert len(kept) == card["counts"]["sft.heldout.jsonl"]


def test_the_held_out_set_is_what_eval_answers_reads(built):
    _, items = load_answer_set(built / "heldout.answers.jsonl")
    assert items and all(i.reference for i in items)
    named = {i.document for i in items if i.document}
    assert named and all((built / "heldout-documents" / n).is_file() for n in named)


def test_export_import_and_a_tampered_archive_refused(built, server, tmp_path):
    archive = tmp_path / "mairie.zip"
    done = greffier("dataset", "export", str(built), "-o", str(archive), env=server.env)
    sha = done.stdout.split()[-1]
    assert sha == hashlib.sha256((built / "card.json").read_bytes()).hexdigest()
    target = tmp_path / "received"
    greffier(
        "dataset", "import", str(archive), "-d", str(target), "--card-sha256", sha, env=server.env
    )
    for path in built.rglob("*"):
        if path.is_file():
            assert (target / path.relative_to(built)).read_bytes() == path.read_bytes()

    # One byte of the training file changed: refused, nothing written.
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "sft.jsonl":
                data = data.replace(b"3,20 euros", b"9,90 euros", 1)
            dst.writestr(info, data)
    refused = greffier(
        "dataset", "import", str(tampered), "-d", str(tmp_path / "t"), env=server.env, check=False
    )
    assert refused.returncode == 1 and "does not match its card" in refused.stderr
    assert not (tmp_path / "t").exists()
    # A card other than the one announced.
    wrong = greffier(
        "dataset", "import", str(archive), "-d", str(tmp_path / "w"), "--card-sha256", "0" * 64,
        env=server.env, check=False,
    )  # fmt: skip
    assert wrong.returncode == 1 and "not the one announced" in wrong.stderr
    # A file the card does not list.
    extra = tmp_path / "extra.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(extra, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("../evil.sh", b"echo")
    sneaky = greffier(
        "dataset", "import", str(extra), "-d", str(tmp_path / "x"), env=server.env, check=False
    )
    assert sneaky.returncode == 1 and "does not list" in sneaky.stderr
    assert not (tmp_path / "evil.sh").exists()


def test_building_needs_something_to_build_from(server, tmp_path):
    empty = greffier(
        "dataset", "build", str(tmp_path / "x"), "--licence", " ", env=server.env, check=False
    )
    assert empty.returncode == 1 and "licence" in empty.stderr
