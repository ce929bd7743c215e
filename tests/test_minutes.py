"""Minutes: parsing the model's lines, merging windows, rendering, and the real endpoint."""

from __future__ import annotations

import time

import httpx

import audiofixtures as af
from greffier.services import minutes

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


def test_minutes_endpoint_on_a_real_meeting(http, tmp_path):
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
