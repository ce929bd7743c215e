"""The whole OpenAPI fuzzed (issue 19): schemathesis generates requests from the schema the
server publishes and sends them to a real `greffier serve`, as an admin, as a member and
with no key. Checks on every answer: no 5xx; the status is one the operation documents;
the body matches the documented schema and media type; every 4xx is in the OpenAI error
shape (tests/fuzz_hooks.py); schema-valid requests are accepted, invalid ones refused;
without a key, a 401.

The server is this module's own, with its own data directory (the session's models linked
in): the run may create, change and delete anything in it. Before the run, real data gives
the generator ids that exist (schemathesis "dictionaries", drawn half of the time): a
collection with an indexed document, a transcribed meeting and a silent one, a group,
throw-away users and keys. Destructive operations on the accounts, keys and records the
run needs go to throw-away ones, generation is capped at a few tokens, and minutes are
asked of the silent meeting, which has no transcript (tests/fuzz_hooks.py says why).

Bounds: a fixed seed (GREFFIER_FUZZ_SEED to change it), a number of examples per operation
per run, one worker; the seed and the bounds are printed. Phases: examples, coverage
(boundary values of every constraint, each enum value, missing required fields) and
fuzzing; then a stateful run following the links between operations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from audiofixtures import FRENCH_SPOKEN, silence, speak
from conftest import MODEL, SERVER_SETTINGS, VOICE, greffier, running_server

HERE = Path(__file__).parent
SEED = int(os.environ.get("GREFFIER_FUZZ_SEED", "19"))
MISSING = 2**63 - 1  # a valid id no record has
ADMIN, MEMBER = "tests", "fuzz-member"  # the admin is the one conftest.running_server makes
# Examples per operation in the fuzzing phase (the coverage phase adds its boundary cases).
EXAMPLES = {"admin": 20, "member": 20, "anonymous": 5}
STATEFUL_STEPS = 20
PHASES = ("examples", "coverage", "fuzzing", "stateful")
NOTES = (
    "Le conseil municipal a adopté le budget primitif 2026 à l'unanimité. "
    "La séance publique se tient le 12 mars à la mairie."
)


def _wait(http: httpx.Client, job_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}").raise_for_status().json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def _created(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


def _seed(url: str, admin_key: str, member_key: str, tmp: Path) -> dict:
    """Real records for the run, and which of them it must not destroy."""
    admin = httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=600
    )
    member = httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {member_key}"}, timeout=600
    )
    with admin, member:
        users = {u["name"]: u["id"] for u in admin.get("/v1/admin/users").json()["data"]}
        protected_keys = [
            k["id"]
            for name in (ADMIN, MEMBER)
            for k in admin.get(f"/v1/admin/users/{users[name]}/keys").json()["data"]
        ]
        spare_users, spare_keys = {}, []
        for i in range(4):
            user = _created(admin.post("/v1/admin/users", json={"name": f"spare-{i}"}))
            spare_users[user["name"]] = user["id"]
            for _ in range(2):
                key = _created(admin.post(f"/v1/admin/users/{user['id']}/keys", json={}))
                spare_keys.append(key["id"])
        group = _created(admin.post("/v1/admin/groups", json={"name": "fuzz-group"}))
        admin.post(f"/v1/admin/groups/{group['id']}/members", json={"user": "spare-0"})

        notes = _created(member.post("/v1/collections", json={"name": "fuzz-notes"}))
        upload = _created(
            member.post(
                f"/v1/collections/{notes['id']}/documents",
                files=[("files", ("notes.txt", NOTES.encode()))],
            )
        )
        spare = _created(member.post("/v1/collections", json={"name": "spare-collection"}))
        spare_upload = _created(
            member.post(
                f"/v1/collections/{spare['id']}/documents",
                files=[
                    ("files", (f"spare-{i}.txt", f"Note {i}. {NOTES}".encode())) for i in (1, 2)
                ],
            )
        )
        spare_collections = [
            spare["id"],
            *(
                _created(member.post("/v1/collections", json={"name": f"spare-{i}"}))["id"]
                for i in (3, 4)
            ),
        ]
        member.post(
            f"/v1/collections/{notes['id']}/grants",
            json={"group": "fuzz-group", "permission": "read"},
        )
        spoken = _created(
            member.post(
                "/v1/meetings",
                data={"title": "Conseil municipal", "language": "fr", "speakers": "1"},
                files={
                    "file": (
                        "seance.wav",
                        speak(FRENCH_SPOKEN, tmp / "seance.wav", "fr").read_bytes(),
                    )
                },
            )
        )
        silent = _created(
            member.post(
                "/v1/meetings",
                data={"title": "Salle vide", "language": "fr"},
                files={"file": ("vide.wav", silence(2, tmp / "vide.wav").read_bytes())},
            )
        )
        jobs = [upload["job_id"], spare_upload["job_id"], spoken["job_id"]]
        for job_id in jobs:
            job = _wait(member, job_id)
            assert job["status"] == "done", job["error"]
        # Silence only: the meeting fails ("no speech"), and has no transcript.
        assert _wait(member, silent["job_id"])["status"] == "failed"
        jobs.append(silent["job_id"])
        document = member.get(f"/v1/collections/{notes['id']}/documents").json()["data"][0]
        spare_documents = [
            d["id"] for d in member.get(f"/v1/collections/{spare['id']}/documents").json()["data"]
        ]
        segments = member.get(f"/v1/meetings/{spoken['id']}").json()["segments"]
        assert segments, "the spoken meeting has a transcript"
    return {
        "missing": MISSING,
        "silent_meeting": silent["id"],
        "protected": {
            "user_id": [users[ADMIN], users[MEMBER]],
            "key_id": protected_keys,
            "collection_id": [notes["id"]],
            "document_id": [document["id"]],
            "meeting_id": [spoken["id"], silent["id"]],
            "user": [ADMIN, MEMBER],
        },
        "spare": {
            "user_id": list(spare_users.values()),
            "key_id": spare_keys,
            "collection_id": spare_collections,
            "document_id": spare_documents,
            "meeting_id": [MISSING],
            "user": list(spare_users),
        },
        "dictionaries": {
            "collections": [notes["id"], spare["id"]],
            "documents": [document["id"], *spare_documents],
            "meetings": [spoken["id"], silent["id"]],
            "users": [users[ADMIN], users[MEMBER], *spare_users.values()],
            "keys": [*protected_keys, *spare_keys],
            "groups": [group["id"]],
            "jobs": jobs,
            "models": [MODEL, "multilingual-e5-small", "whisper-base", VOICE],
            "chat_models": [MODEL],
            "embedding_models": ["multilingual-e5-small"],
            "speech_models": ["whisper-1", "whisper-base"],
            "voice_models": ["tts-1", VOICE],
            "user_names": [MEMBER, *spare_users],
            "group_names": ["fuzz-group"],
            "speakers": sorted({s["speaker_label"] for s in segments}),
        },
    }


# Operations whose `model` is of another kind than a chat model.
MODEL_KINDS = {
    "/v1/embeddings": "embedding_models",
    "/v1/audio/transcriptions": "speech_models",
    "/v1/audio/speech": "voice_models",
}
# Parameter → the dictionary whose values it takes half of the time.
BINDINGS = {
    "path.collection_id": "collections",
    "path.document_id": "documents",
    "path.meeting_id": "meetings",
    "path.user_id": "users",
    "path.key_id": "keys",
    "path.group_id": "groups",
    "path.job_id": "jobs",
    "path.model_id": "models",
    "body.model": "chat_models",
    "body.user": "user_names",
    "body.group": "group_names",
    "body.label": "speakers",
    "body.key_id": "keys",
    "body.collections[*]": "collections",
    "body.retrieval.collections[*]": "collections",
    "body.retrieval.meetings[*]": "meetings",
    "body.meeting": "meetings",
    "query.document": "documents",
    "query.meeting": "meetings",
}


@pytest.fixture(scope="module")
def target(base_env, tmp_path_factory):
    """This module's own server and its data: URL, keys and the fixtures' ids."""
    data = tmp_path_factory.mktemp("fuzz-data")
    (data / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    env = {
        **base_env,
        **SERVER_SETTINGS,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_CONFIG": str(data / "absent.toml"),
    }

    made = greffier("admin", "create-key", "--user", MEMBER, "--role", "member", env=env)
    member_key = made.stdout.strip().splitlines()[-1]
    with running_server(env, data) as running:  # with an admin key, user ADMIN
        fixtures = _seed(running.url, running.key, member_key, tmp_path_factory.mktemp("audio"))
        keys = {"admin": running.key, "member": member_key}
        yield type("Target", (), {"url": running.url, "keys": keys, "data": data}), fixtures


def _config(fixtures: dict, examples: int, phases: tuple[str, ...], report: Path) -> str:
    lines = [
        f"seed = {SEED}",
        'hooks = "fuzz_hooks"',
        "workers = 1",
        # A chat request may wait at the model's gate behind another one.
        "request-timeout = 120",
        "[generation]",
        f"max-examples = {examples}",
        'database = "none"',
        "[reports.json]",
        f"path = {json.dumps(str(report))}",
    ]
    for phase in PHASES:
        lines += [f"[phases.{phase}]", f"enabled = {str(phase in phases).lower()}"]
    lines.append(f"max-steps = {STATEFUL_STEPS}")  # in [phases.stateful], the last one
    for name, values in fixtures["dictionaries"].items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
    lines.append("[parameters]")
    for parameter, dictionary in BINDINGS.items():
        lines.append(f'"{parameter}" = {{ dictionary = "{dictionary}", probability = 0.5 }}')
    for path, dictionary in MODEL_KINDS.items():
        binding = f'{{ dictionary = "{dictionary}", probability = 0.5 }}'
        lines += ["[[operations]]", f'include-path = "{path}"']
        lines.append(f'parameters = {{ "body.model" = {binding} }}')
    return "\n".join(lines) + "\n"


def fuzz(target, who: str, tmp_path: Path, phases: tuple[str, ...] = PHASES) -> dict:
    server, fixtures = target
    examples = EXAMPLES[who]
    report = tmp_path / f"{who}.json"
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(fixtures, examples, phases, report))
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"]
    command += [f"{server.url}/openapi.json", "--no-color"]
    if who in server.keys:
        command += ["-H", f"Authorization: Bearer {server.keys[who]}"]
    print(
        f"\nfuzz as {who}: seed {SEED}; phases {', '.join(phases)}; {examples} examples per "
        f"operation in fuzzing; {STATEFUL_STEPS} steps per stateful scenario; one worker"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        "FUZZ_FIXTURES": json.dumps(fixtures),
        "FUZZ_FILTERED": str(tmp_path / "filtered.txt"),
        "COLUMNS": "120",
    }
    started = time.monotonic()
    # In tmp_path: schemathesis keeps a cache folder where it runs.
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900
    )
    took = time.monotonic() - started
    if done.returncode != 0 or not report.exists():
        print(done.stdout[-4000:], done.stderr[-2000:], sep="\n")
    else:
        result = json.loads(report.read_text())
        cases = result["test_cases"]
        print(
            f"fuzz as {who}: {result['operations']['tested']} operations tested, "
            f"{cases['generated']} requests generated, {result['filtered']} refusals let "
            f"pass as documented, {len(result['failures'])} failures, seed {result['seed']}, "
            f"{took:.0f} s"
        )
    filtered = tmp_path / "filtered.txt"
    if filtered.exists():
        codes = Counter(filtered.read_text().split())
        print("schema-valid requests refused for what no schema states:", dict(codes))
    assert done.returncode == 0, done.stdout[-20000:]
    return json.loads(report.read_text())


def test_fuzz_without_key(target, tmp_path):
    """Without a key, every operation but /health answers 401, whatever the request."""
    fuzz(target, "anonymous", tmp_path, phases=("examples", "fuzzing"))


def test_fuzz_as_member(target, tmp_path):
    fuzz(target, "member", tmp_path)


def test_fuzz_as_admin(target, tmp_path):
    fuzz(target, "admin", tmp_path)
