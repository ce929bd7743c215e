"""Minutes: parsing the model's lines, merging windows, rendering, and the real endpoint."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import httpx
import pytest

import audiofixtures as af
from greffier.meetings import minutes
from greffier.services.jobs import JobRunner

MODEL_OUTPUT = """Voici le compte rendu :
POINT: Budget de la voirie
- DÉCISION [00:14:32]: Le budget est fixé à 450 000 euros.
**ACTION [00:15:02] (Mme Martin ; 30 avril)**: Préparer l'appel d'offres.
QUESTION: Faut-il rénover l'école ?
Une phrase qui n'est pas un élément.
"""


def test_parse_by_hand():
    found = minutes.parse(MODEL_OUTPUT, fallback_at=600.0)
    assert found["topics"] == ["Budget de la voirie"]
    assert found["decisions"] == [{"text": "Le budget est fixé à 450 000 euros.", "at": 872.0}]
    assert found["actions"] == [
        {
            "text": "Préparer l'appel d'offres.",
            "owner": "Mme Martin",
            "due": "30 avril",
            "at": 902.0,
        }
    ]
    assert found["questions"] == [{"text": "Faut-il rénover l'école ?", "at": 600.0}]


def test_cues_by_hand():
    lines = [
        "[00:00:16] Mme Martin : Le budget est fixé à 450 000 euros.",
        "[00:00:20] M. Durand : Qui le fait ? Je préparerai le dossier avant le 30 avril.",
        "[00:00:25] Mme Petit : M. Durand enverra la convention. Il fait beau.",
    ]
    found = minutes.cues(lines, "fr")
    assert found["decisions"] == [{"text": "Le budget est fixé à 450 000 euros.", "at": 16.0}]
    assert found["actions"] == [
        {
            "text": "Je préparerai le dossier avant le 30 avril.",
            "owner": "M. Durand",  # the speaker who commits himself
            "due": "30 avril",
            "at": 20.0,
        },
        {"text": "M. Durand enverra la convention.", "owner": "M. Durand", "due": None, "at": 25.0},
    ]
    english = minutes.cues(["[00:01:00] Ann : The fee is set at 20 euros. I will tell them."], "en")
    assert english["decisions"][0]["text"] == "The fee is set at 20 euros."
    assert english["actions"][0]["owner"] == "Ann"
    # The model's copy of a transcript line: the speaker is taken off and owns the action;
    # its item from a line that gave a cue of the same kind gives way to the cue.
    model = minutes.parse(
        "DÉCISION [00:00:16]: Mme Martin : Le budget est de 450 000 euros.\n"
        "ACTION [00:00:30]: Mme Petit : Appeler la préfecture.",
        0.0,
        ("Mme Martin", "Mme Petit"),
    )
    assert model["decisions"] == [{"text": "Le budget est de 450 000 euros.", "at": 16.0}]
    assert model["actions"][0]["owner"] == "Mme Petit"
    combined = minutes.combine(found, model)
    assert [d["text"] for d in combined["decisions"]] == ["Le budget est fixé à 450 000 euros."]
    assert [a["owner"] for a in combined["actions"]] == ["M. Durand", "M. Durand", "Mme Petit"]


def test_job_runner_runs_each_kind_by_its_handler():
    seen: list[tuple[str, str]] = []
    kinds = {"left-over": "minutes", "new": "ingest", "odd": "mystery"}
    runner = JobRunner(
        {
            "minutes": lambda job: seen.append(("minutes", job)),
            "ingest": lambda job: seen.append(("ingest", job)),
        },
        kinds.get,
        lambda: ["left-over"],  # as if a stopped process had left it queued
    )
    assert runner.start() == ["left-over"]
    for job in ("new", "deleted", "odd"):  # a deleted job is skipped, an odd kind logged
        runner.submit(job)
    runner.stop()
    assert seen == [("minutes", "left-over"), ("ingest", "new")]
    with pytest.raises(ValueError, match="unknown kind 'mystery'"):
        runner.run("odd")
    assert runner.run_async(asyncio.sleep(0, "written")) == "written"  # no server loop


def test_windows_merge_and_render(tmp_path):
    segments = [{"start": i * 10.0, "speaker": f"P{i % 2}", "text": "x" * 900} for i in range(8)]
    parts = minutes.windows(segments, max_chars=2000)
    assert [len(p) for p in parts] == [2, 2, 2, 2]
    assert parts[1][0].startswith("[00:00:20] P0 : ")
    result = minutes.Minutes("Conseil", "fr", ["Mme Martin", "M. Durand"], model="m")
    for _ in range(2):  # the same items from two windows are kept once
        minutes.merge(result, minutes.parse(MODEL_OUTPUT, 0.0))
    assert len(result.decisions) == 1 and len(result.actions) == 1
    text = minutes.render(result)
    assert "# Conseil" in text and "Mme Martin, M. Durand" in text
    assert "Le budget est fixé à 450 000 euros. — [00:14:32]" in text
    assert "responsable : Mme Martin — échéance : 30 avril" in text
    custom = tmp_path / "cr.j2"
    custom.write_text("{{ m.title }}: {{ m.decisions | length }} décision(s)")
    assert minutes.render(result, custom) == "Conseil: 1 décision(s)"


def test_minutes_endpoint_on_a_real_meeting(http, server, tmp_path):
    recording, _ = af.dialogue(tmp_path)
    with recording.open("rb") as audio:
        job = http.post(
            "/v1/meetings",
            files={"file": ("d.wav", audio)},
            data={"title": "Dialogue", "speakers": "2"},
        ).json()
    deadline = time.monotonic() + 120
    while http.get(f"/v1/jobs/{job['job_id']}").json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert http.get(f"/v1/meetings/{job['id']}/minutes").status_code == 404
    written = http.post(f"/v1/meetings/{job['id']}/minutes", timeout=300)
    assert written.status_code == 200, written.text
    body = written.json()
    assert body["participants"] == ["Intervenant 1", "Intervenant 2"]
    assert body["model"] == "qwen2.5-coder-0.5b-instruct"
    assert body["markdown"].startswith("# Dialogue")
    duration = http.get(f"/v1/meetings/{job['id']}").json()["duration"]
    for item in body["decisions"] + body["actions"] + body["questions"]:
        assert 0 <= item["at"] <= duration + 1  # every item points into the recording
    assert http.get(f"/v1/meetings/{job['id']}/minutes").json() == body
    other = httpx.post(f"{str(http.base_url).rstrip('/')}/v1/meetings/{job['id']}/minutes")
    assert other.status_code == 401
    # The same as a background job: 202 at once, followed through /v1/jobs, then read.
    queued = http.post(f"/v1/meetings/{job['id']}/minutes?background=true")
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["job_id"]
    deadline = time.monotonic() + 300
    while (state := http.get(f"/v1/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert state["status"] == "done" and state["kind"] == "minutes", state
    # The model chosen is kept with the job (a job resumed after a restart uses it too).
    with sqlite3.connect(server.data / "greffier.db") as db:
        params = db.execute("SELECT params FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
    kept = json.loads(params)
    assert kept["model"] == "qwen2.5-coder-0.5b-instruct"
    assert isinstance(kept["key_id"], int)  # the job's tokens are charged to the key asked with
    again = http.get(f"/v1/meetings/{job['id']}/minutes").json()
    assert again["participants"] == body["participants"] and again["markdown"].startswith("# ")
    assert [d["text"] for d in again["decisions"] if "450" in d["text"]]  # the cue, verbatim


def test_minutes_of_an_untranscribed_meeting_are_refused_before_any_job(http, tmp_path):
    silence = af.silence(2, tmp_path / "silence.wav")
    with silence.open("rb") as audio:
        job = http.post(
            "/v1/meetings", files={"file": ("s.wav", audio)}, data={"title": "Silence"}
        ).json()
    deadline = time.monotonic() + 120
    while http.get(f"/v1/jobs/{job['job_id']}").json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    for query in ("", "?background=true"):
        refused = http.post(f"/v1/meetings/{job['id']}/minutes{query}")
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "not_transcribed"


def test_minutes_of_a_french_meeting_name_the_decision_and_its_owner(http, tmp_path):
    """The bundled 0.5B model on the French recording (three voices; the decision and a
    commitment spoken by the voice the user renames Mme Martin)."""
    recording, _ = af.dialogue_fr(tmp_path)
    with recording.open("rb") as audio:
        job = http.post(
            "/v1/meetings",
            files={"file": ("conseil.wav", audio)},
            data={"title": "Conseil municipal", "speakers": "3"},
        ).json()
    deadline = time.monotonic() + 120
    while http.get(f"/v1/jobs/{job['job_id']}").json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    renamed = http.post(
        f"/v1/meetings/{job['id']}/speakers", json={"label": "Intervenant 2", "name": "Mme Martin"}
    )
    assert renamed.status_code == 200
    body = http.post(f"/v1/meetings/{job['id']}/minutes", timeout=300).json()
    print(body["markdown"])
    assert body["language"] == "fr" and "Mme Martin" in body["participants"]
    decisions = [
        d for d in body["decisions"] if "450 000" in d["text"].replace("450000", "450 000")
    ]
    assert decisions and 14 <= decisions[0]["at"] <= 20  # the line where it was said (~16 s)
    owned = [a for a in body["actions"] if "Martin" in (a["owner"] or "")]
    assert owned and "dossier" in owned[0]["text"]
    assert "450 000 euros" in body["markdown"] and "responsable : Mme Martin" in body["markdown"]
