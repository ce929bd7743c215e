"""Meetings: upload a real recording, transcribe as a job, read, rename, export, delete."""

from __future__ import annotations

import hashlib
import itertools
import time

import httpx
import pytest

import audiofixtures as af
from conftest import greffier
from greffier.documents.parsers import parse


def wait_job(http: httpx.Client, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while (job := http.get(f"/v1/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    return job


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    d = tmp_path_factory.mktemp("meeting")
    return {
        "en": af.speak(af.ENGLISH_SPOKEN, d / "conseil.wav"),
        "silence": af.silence(3, d / "silence.wav"),
    }


def add(http, path, title="Conseil du 12 mars", **form):
    with path.open("rb") as audio:
        return http.post(
            "/v1/meetings", files={"file": (path.name, audio)}, data={"title": title, **form}
        )


def test_meeting_lifecycle(http, server, speech):
    r = add(http, speech["en"], language="en", speakers="1")
    assert r.status_code == 202, r.text
    meeting_id, job_id = r.json()["id"], r.json()["job_id"]
    assert wait_job(http, job_id)["status"] == "done"
    meeting = http.get(f"/v1/meetings/{meeting_id}").json()
    assert meeting["status"] == "transcribed" and meeting["language"] == "en"
    segments = meeting["segments"]
    text = " ".join(s["text"] for s in segments)
    assert af.wer(af.ENGLISH, text) <= 0.1
    assert all(s["speaker"] == "Intervenant 1" for s in segments)
    assert all(0 <= s["start"] < s["end"] <= meeting["duration"] + 0.5 for s in segments)
    assert segments[0]["words"][0]["word"].lower().startswith("the")
    assert meeting_id in [m["id"] for m in http.get("/v1/meetings").json()["data"]]

    def meeting_hits(query):
        hits = http.post("/v1/search", json={"query": query, "k": 10}).json()["data"]
        return [
            h
            for h in hits
            if h["collection"] == "Réunions" and h["document"] == "Conseil du 12 mars"
        ]

    found = meeting_hits("budget euros")
    assert found and found[0]["heading"].startswith("Intervenant 1 — 00:00:0")

    renamed = http.post(
        f"/v1/meetings/{meeting_id}/speakers", json={"label": "Intervenant 1", "name": "Mme Martin"}
    )
    assert renamed.status_code == 200
    assert (
        http.post(
            f"/v1/meetings/{meeting_id}/speakers", json={"label": "Intervenant 9", "name": "X"}
        ).status_code
        == 404
    )
    assert meeting_hits("budget euros")[0]["heading"].startswith("Mme Martin — 00:00:0")
    # A question across meetings, answered with a citation to the meeting, speaker and time.
    assert "Réunions" not in {c["name"] for c in http.get("/v1/collections").json()["data"]}
    reply = http.post(
        "/v1/chat/completions",
        json={
            "model": "qwen2.5-coder-0.5b-instruct",
            "max_tokens": 30,
            "temperature": 0,
            "messages": [{"role": "user", "content": "What is the budget set at?"}],
            "retrieval": {"meetings": [meeting_id]},
        },
    ).json()
    cited = reply["citations"][0]
    assert cited["document"] == "Conseil du 12 mars"
    assert cited["heading"].startswith("Mme Martin — 00:00:0")
    assert "450" in reply["choices"][0]["message"]["content"]
    txt = http.get(f"/v1/meetings/{meeting_id}/export?format=txt").text
    # Whisper writes "Town Council" or "town council" from one version of its runtime to the
    # next: the lines below are compared without case.
    assert txt.startswith("Conseil du 12 mars\n")
    assert "[00:00:00] mme martin : the town" in txt.lower()
    srt = http.get(f"/v1/meetings/{meeting_id}/export?format=srt").text
    assert srt.startswith("1\n00:00:00,") and "Mme Martin : " in srt
    assert http.get(f"/v1/meetings/{meeting_id}/export?format=vtt").text.startswith("WEBVTT")
    for fmt in ("docx", "odt"):  # read back with the document parsers (python-docx, odfpy)
        exported = http.get(f"/v1/meetings/{meeting_id}/export?format={fmt}")
        assert exported.status_code == 200
        parsed = parse(exported.content, f"proces-verbal.{fmt}")
        assert parsed.blocks[0].kind == "heading" and parsed.blocks[0].text == meeting["title"]
        lines = [b.text for b in parsed.blocks[2:]]
        assert lines[0].lower().startswith("[00:00:00] mme martin : the town council")
        assert len(lines) == len(segments)

    sha = hashlib.sha256(speech["en"].read_bytes()).hexdigest()
    stored = server.data / "audio" / sha[:2] / sha
    assert stored.is_file()
    assert http.delete(f"/v1/meetings/{meeting_id}").json()["deleted"] is True
    assert http.get(f"/v1/meetings/{meeting_id}").status_code == 404
    assert not stored.exists()
    assert http.get(f"/v1/jobs/{job_id}").status_code == 404  # derived rows are gone too
    assert meeting_hits("budget euros") == []  # and its index rows


def test_bad_recordings_store_nothing(http, server, speech):
    before = len(http.get("/v1/meetings").json()["data"])
    for name, data, code in [
        ("notes.mp3", b"pas un enregistrement", "invalid_audio"),
        ("vide.wav", b"", "empty_file"),
    ]:
        r = http.post("/v1/meetings", files={"file": (name, data)}, data={"title": "t"})
        assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert http.post("/v1/meetings", files={"file": ("a.wav", b"x")}).status_code == 400
    assert len(http.get("/v1/meetings").json()["data"]) == before
    # Silence only: the job ends with a precise reason, nothing half-stored.
    job = add(http, speech["silence"], title="Silence").json()
    assert wait_job(http, job["job_id"])["status"] == "failed"
    meeting = http.get(f"/v1/meetings/{job['id']}").json()
    assert meeting["error"]["code"] == "no_speech" and meeting["segments"] == []


def test_other_people_cannot_see_a_meeting(http, server, speech):
    meeting = add(http, speech["en"], title="Privé").json()
    key = (
        greffier("admin", "create-key", "--user", "eve", "--role", "member", env=server.env)
        .stdout.strip()
        .splitlines()[-1]
    )
    other = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"})
    assert other.get(f"/v1/meetings/{meeting['id']}").status_code == 404
    assert other.get(f"/v1/meetings/{meeting['id']}/export").status_code == 404
    assert other.delete(f"/v1/meetings/{meeting['id']}").status_code == 404
    assert other.get("/v1/meetings").json()["data"] == []
    wait_job(http, meeting["job_id"])


def test_cli_add_and_show(base_env, speech, tmp_path):
    env = {**base_env, "GREFFIER_DATA_DIR": str(tmp_path)}
    missing = greffier("meeting", "add", str(speech["en"]), "--title", "C", env=env, check=False)
    assert missing.returncode == 1 and "greffier models pull whisper-base" in missing.stderr
    greffier("models", "pull", "whisper-base", env=env)
    done = greffier("meeting", "add", str(speech["en"]), "--title", "Conseil", env=env)
    assert "Meeting 1 transcribed" in done.stdout
    shown = greffier("meeting", "show", "1", env=env).stdout
    assert "Conseil" in shown and "[00:00:00] intervenant 1 : the town council" in shown.lower()


def check_turns(segments: list[dict], turns: list[tuple[float, float, str]]) -> None:
    """Each segment's speaker is the voice of the turn it falls in (by its midpoint), the
    first voice heard is Intervenant 1, the next new one Intervenant 2…; and every change of
    speaker falls within 1 s of a real change of voice, with none missed or added."""
    voice_label: dict[str, str] = {}
    for s in segments:
        middle = (s["start"] + s["end"]) / 2
        voice = next(v for start, end, v in turns if start - 0.5 <= middle <= end + 0.5)
        assert voice_label.setdefault(voice, s["speaker"]) == s["speaker"], (voice, s)
    voices = list(dict.fromkeys(v for _, _, v in turns))
    assert voice_label == {v: f"Intervenant {i}" for i, v in enumerate(voices, start=1)}
    changes = [b["start"] for a, b in itertools.pairwise(segments) if a["speaker"] != b["speaker"]]
    real = [b[0] for a, b in itertools.pairwise(turns) if a[2] != b[2]]
    assert len(changes) == len(real), (changes, real)
    assert all(abs(c - r) < 1.0 for c, r in zip(changes, real, strict=True)), (changes, real)


def transcribed(http, recording, title, **form) -> dict:
    job = add(http, recording, title=title, **form).json()
    assert wait_job(http, job["job_id"])["status"] == "done"
    return http.get(f"/v1/meetings/{job['id']}").json()


@pytest.mark.parametrize("given", [None, 2])
def test_two_voices_are_told_apart(http, tmp_path, given):
    recording, turns = af.dialogue(tmp_path)
    form = {"speakers": str(given)} if given else {}
    segments = transcribed(http, recording, "Dialogue", **form)["segments"]
    assert {s["speaker"] for s in segments} == {"Intervenant 1", "Intervenant 2"}
    check_turns(segments, turns)


@pytest.mark.parametrize("given", [None, 2])
def test_a_voice_change_without_a_pause_is_cut_at_a_word(http, tmp_path, given):
    recording, turns = af.dialogue(tmp_path, gap=0.1, turns=af.TURNS_NO_PAUSE, trim=True)
    form = {"speakers": str(given)} if given else {}
    segments = transcribed(http, recording, "Sans pause", **form)["segments"]
    check_turns(segments, turns)
    assert [s["speaker"] for s in segments] == ["Intervenant 1", "Intervenant 2", "Intervenant 1"]
    first, second, _ = segments
    assert first["text"].endswith("set at") and second["text"].startswith("450,000 euros")
    assert second["words"][0]["word"] == "450" and first["end"] <= second["start"]


def test_whisper_merges_the_two_voices_that_diarization_cuts_apart(base_env, tmp_path):
    """The premise of the test above, checked on the components themselves."""
    from greffier.meetings import diarization
    from greffier.models.registry import ModelRegistry
    from greffier.services.transcription import TranscriptionService
    from greffier.settings import Settings

    recording, _ = af.dialogue(tmp_path, gap=0.1, turns=af.TURNS_NO_PAUSE, trim=True)
    settings = Settings(data_dir=base_env["GREFFIER_DATA_DIR"], preload_default_model=False)
    transcription = TranscriptionService(ModelRegistry(settings), settings)
    segments = transcription.transcribe_file(recording, "quick.wav", words=True).segments
    # Two voices in one segment (Whisper writes all three turns as one segment or two,
    # depending on its fallback sampling, so only the first one is pinned).
    assert "set at 450,000" in segments[0].text
    encoder = transcription.registry.speaker_backend(settings.speaker_model).encoder()
    turns = diarization.turns(str(recording), segments, 2, encoder)
    assert [label for label, _ in turns] == ["Intervenant 1", "Intervenant 2", "Intervenant 1"]
    assert turns[0][1].text.endswith("set at") and turns[1][1].text.startswith("450,000")
    assert turns[0][1].words[-1].text == "at" and turns[1][1].words[0].text == "450"
    assert "whole year" in turns[1][1].text and "library" in turns[2][1].text


# Whisper base on espeak-ng's French: WER measured between 0.29 and 0.37 on this dialogue
# over several runs (2 CPU threads; Whisper falls back to sampling on low-confidence
# windows, so runs differ), against 0.0 for the English one. The robotic voices lose words
# ("voirie" → "moindre", "l'école avant" → "l'écran la mort"); changing one sentence or a
# voice moved it up to 0.55 while choosing them. The bound leaves room for another CPU or
# thread count, not for a broken pipeline: the wrong language or lost turns give ~1.
FRENCH_WER_BOUND = 0.45


@pytest.mark.parametrize("given", [None, 3])
def test_three_french_voices(http, tmp_path, given):
    recording, turns = af.dialogue_fr(tmp_path)
    form = {"speakers": str(given)} if given else {}
    meeting = transcribed(http, recording, "Conseil municipal", **form)  # language detected
    assert meeting["language"] == "fr"
    segments = meeting["segments"]
    text = " ".join(s["text"] for s in segments)
    print(f"French WER {af.wer(af.FRENCH_DIALOGUE, text):.3f}: {text}")
    assert af.wer(af.FRENCH_DIALOGUE, text) <= FRENCH_WER_BOUND, text
    assert "450 000 euros" in text
    assert {s["speaker"] for s in segments} == {f"Intervenant {i}" for i in (1, 2, 3)}
    check_turns(segments, turns)


def test_audio_retention_policies(tmp_path, speech):
    from greffier.models import files
    from greffier.models.catalogue import Catalogue
    from greffier.services.container import Services
    from greffier.settings import Settings

    def service(policy: str):
        settings = Settings(data_dir=tmp_path, preload_default_model=False, audio_retention=policy)
        files.pull(settings.models_dir, Catalogue.load().get("whisper-base"))
        services = Services.build(settings, run_jobs=False)
        return services, services.identity.local_principal("admin", "admin")

    services, who = service("after-transcription")
    meeting_id, job_id = services.meetings.add(
        who, "Conseil", speech["en"].read_bytes(), "conseil.wav"
    )
    audio = list((tmp_path / "audio").rglob("*"))
    services.meetings.run_job(job_id)
    assert services.meetings.meeting(who, meeting_id).audio_sha256 is None
    assert all(not p.is_file() for p in audio)
    assert services.meetings.read(who, meeting_id)[1]  # the transcript stays

    services, who = service("30d")
    meeting_id, job_id = services.meetings.add(
        who, "Bureau", speech["en"].read_bytes(), "bureau.wav"
    )
    services.meetings.run_job(job_id)
    assert services.meetings.apply_retention() == []  # uploaded today: kept
    with services.database.write() as conn:  # as if uploaded 31 days ago
        conn.execute(
            "UPDATE meetings SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', "
            "'-31 days') WHERE id = ?",
            (meeting_id,),
        )
    assert services.meetings.apply_retention() == [meeting_id]
    assert not [p for p in (tmp_path / "audio").rglob("*") if p.is_file()]
