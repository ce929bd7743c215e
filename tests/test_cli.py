"""The `greffier` command, run as a person would run it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from conftest import MODEL, greffier


def test_chat_streams_the_answer(base_env):
    done = greffier(
        "chat",
        "-m",
        MODEL,
        "--temperature",
        "0",
        "--max-tokens",
        "10",
        "Quelle est la capitale de la France ?",
        env=base_env,
    )
    assert "Paris" in done.stdout


def test_chat_against_a_running_server(server):
    env = {**server.env, "GREFFIER_API_KEY": server.key}
    done = greffier(
        "chat",
        "--server",
        f"{server.url}/v1",
        "--max-tokens",
        "10",
        "--temperature",
        "0",
        "Quelle est la capitale de la France ?",
        env=env,
    )
    assert "Paris" in done.stdout


def test_models_list_show_verify(base_env):
    listed = json.loads(greffier("models", "list", "--json", env=base_env).stdout)
    states = {m["id"]: m["state"] for m in listed}
    assert states[MODEL] == "ready"
    assert states["lucie-7b-instruct"] == "not pulled"
    shown = greffier("models", "show", "lucie-7b-instruct", env=base_env).stdout
    assert "Openness: open source AI" in shown and "training data" in shown
    verified = greffier("models", "verify", MODEL, env=base_env)
    assert "checksum matches" in verified.stdout
    unknown = greffier("models", "show", "nope", env=base_env, check=False)
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr


def test_unpulled_model_is_refused_with_a_fix(base_env):
    done = greffier("chat", "-m", "lucie-7b-instruct", "bonjour", env=base_env, check=False)
    assert done.returncode == 1
    said = " ".join(done.stderr.split())  # the console wraps long lines
    assert "missing" in said and "greffier models pull" in said


def test_config_shows_values_and_origins(base_env, tmp_path):
    config = tmp_path / "greffier.toml"
    config.write_text('port = 9100\nlog_level = "debug"\n')
    env = {**base_env, "GREFFIER_CONFIG": str(config), "GREFFIER_LOG_LEVEL": "warning"}
    shown = json.loads(greffier("config", "--json", env=env).stdout)["settings"]
    assert shown["port"] == {"value": 9100, "origin": f"file {config}"}
    assert shown["log_level"] == {"value": "warning", "origin": "env GREFFIER_LOG_LEVEL"}
    assert shown["host"] == {"value": "127.0.0.1", "origin": "default"}
    flagged = json.loads(greffier("--data-dir", str(tmp_path), "config", "--json", env=env).stdout)
    assert flagged["settings"]["data_dir"] == {"value": str(tmp_path), "origin": "flag --data-dir"}
    table = greffier("config", env=env).stdout
    assert "queue_size" in table and "file" in table


def test_admin_keys_are_hashed_and_revocable(base_env, tmp_path):
    env = {**base_env, "GREFFIER_DATA_DIR": str(tmp_path)}
    first = greffier("admin", "bootstrap", env=env).stdout.strip().splitlines()[-1]
    assert first.startswith("grf_")
    again = greffier("admin", "bootstrap", env=env).stdout
    assert "already exists" in again and "grf_" not in again
    member = (
        greffier("admin", "create-key", "--user", "alice", "--role", "member", env=env)
        .stdout.strip()
        .splitlines()[-1]
    )
    db = sqlite3.connect(Path(tmp_path) / "greffier.db")
    stored = " ".join(str(v) for row in db.execute("SELECT * FROM api_keys") for v in row)
    assert first not in stored and member not in stored
    listing = greffier("admin", "list-keys", env=env).stdout
    assert "alice" in listing and "member" in listing
    greffier("admin", "revoke-key", "2", env=env)
    revoked = db.execute("SELECT revoked_at FROM api_keys WHERE id = 2").fetchone()[0]
    assert revoked
    again = greffier("admin", "revoke-key", "2", env=env, check=False)
    assert again.returncode == 1 and "No active key" in again.stderr


def test_every_setting_is_documented():
    from greffier.settings import Settings

    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    for name, field in Settings.model_fields.items():
        assert f"| `{name}` | `GREFFIER_{name.upper()}` |" in doc, name
        assert field.description and field.description in doc, name


def test_eval_retrieval_reports_every_mode_with_a_chart(base_env, tmp_path):
    contexts = {
        "La piscine municipale ouvre de 9 h à 19 h en été.": "Quand ouvre la piscine ?",
        "Le conseil municipal vote le budget primitif en mars.": "Quand le budget est-il voté ?",
        "Les inscriptions à la cantine se font en mairie.": "Où s'inscrire à la cantine ?",
        "La médiathèque prête dix livres par carte.": "Combien de livres peut-on emprunter ?",
    }
    dataset = tmp_path / "squad.json"
    dataset.write_text(
        json.dumps(
            {
                "version": "1.1",
                "data": [
                    {
                        "title": q,
                        "paragraphs": [
                            {
                                "context": c,
                                "qas": [
                                    {
                                        "id": str(i),
                                        "question": q,
                                        "answers": [{"text": c, "answer_start": 0}],
                                    }
                                ],
                            }
                        ],
                    }
                    for i, (c, q) in enumerate(contexts.items())
                ],
            }
        )
    )
    out, chart = tmp_path / "report.json", tmp_path / "report.svg"
    done = greffier(
        "eval", "retrieval", str(dataset), "--json", str(out), "--chart", str(chart), env=base_env
    )
    assert "4 documents, 4 questions" in done.stdout
    report = {r["mode"]: r for r in json.loads(out.read_text())}
    assert set(report) == {"lexical", "semantic", "hybrid"}
    for r in report.values():
        assert r["questions"] == 4 and 0 <= r["hit_at_1"] <= r["hit_at_5"] <= 1
    assert report["hybrid"]["hit_at_5"] == 1.0  # four documents: the right one is in the top 5
    svg = chart.read_text()
    assert svg.startswith("<svg") and "hit@1" in svg and "hybrid" in svg


def test_say_speaks_french_into_a_file(base_env, tmp_path):
    """`greffier say`: the file's format from its suffix, a bar per sentence, and Whisper
    hears the French back; a name without a known suffix or an empty text is refused."""
    out = tmp_path / "annonce.flac"
    done = greffier(
        "say", "Bonjour à tous. La séance du 3 mai est ouverte.", "-o", str(out), env=base_env
    )
    assert "2/2 sentences" in done.stderr and "voice ff_siwis of kokoro-82m" in done.stderr
    assert out.read_bytes()[:4] == b"fLaC" and not list(tmp_path.glob("*.partial"))
    from greffier.services.container import Services
    from greffier.settings import load_settings

    settings = load_settings({"data_dir": Path(base_env["GREFFIER_DATA_DIR"])}).settings
    heard = Services.build(settings, run_jobs=False).transcription.transcribe_file(out, out.name)
    assert heard.language == "fr" and "mai" in heard.text.lower(), heard.text
    verified = greffier("models", "verify", "kokoro-82m", env=base_env)
    assert "checksum matches (and 5 companion files)" in verified.stdout
    piped = greffier("say", "-", "-o", str(tmp_path / "x.wav"), env=base_env, input="Oui.")
    assert piped.returncode == 0 and (tmp_path / "x.wav").read_bytes()[:4] == b"RIFF"
    for args, message in (
        (["Bonjour", "-o", str(tmp_path / "x.mp4")], "add --format"),
        (["", "-o", str(tmp_path / "x.mp3")], "'input' is empty"),
    ):
        refused = greffier("say", *args, env=base_env, check=False)
        assert refused.returncode == 1 and message in refused.stderr
