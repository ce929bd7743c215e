"""`greffier eval answers` end to end with the real 0.5B model, and the report card that
keeps its result: `greffier models card`, stale results saying why."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from conftest import MODEL, greffier
from greffier.services.container import Services
from greffier.services.model_reports import ModelReportService
from greffier.settings import Settings

DOCUMENTS = {
    "piscine.txt": "La piscine municipale ouvre de 9 h à 19 h du 1er juin au 31 août.",
    "budget.txt": "Le conseil municipal vote le budget primitif le 4 mars 2025.",
    "cantine.txt": "Les inscriptions à la cantine scolaire se font en mairie ou en ligne.",
}
QUESTIONS = [
    {"question": "À quelle heure ouvre la piscine municipale ?", "answer": "9 h",
     "document": "piscine.txt"},
    {"question": "Quand le conseil municipal vote-t-il le budget primitif ?",
     "answer": "le 4 mars 2025", "document": "budget.txt"},
]  # fmt: skip


def test_eval_answers_then_the_model_card(base_env, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCUMENTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    dataset = tmp_path / "questions.jsonl"
    dataset.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS) + "\n")
    out, chart = tmp_path / "answers.json", tmp_path / "answers.svg"
    done = greffier(
        "eval", "answers", str(dataset), "--documents", str(folder), "--model", MODEL,
        "--out-of-domain", "1", "--max-tokens", "60", "--json", str(out), "--chart", str(chart),
        env=base_env,
    )  # fmt: skip
    assert "gold document cited first" in done.stdout and "answers to read first" in done.stdout
    result = json.loads(out.read_text())
    report, answers = result["report"], result["answers"]
    assert (report["questions"], report["out_of_domain"]) == (2, 1)
    # Three documents, four passages asked for: the gold one is always among the sources.
    assert report["any_citation"] == 1.0
    # The out-of-domain question shares no word with the documents: Greffier's own reply.
    outside = answers[-1]
    assert outside["reference"] is None and outside["abstained"] and outside["cited"] == []
    assert report["abstention"] == 1.0
    for a in answers[:2]:
        assert a["answer"] and a["prompt_tokens"] > 0 and a["completion_tokens"] > 0
        assert a["energy_joules"] > 0 and a["seconds"] > 0
        assert 0 <= a["f1"] <= 1 and 0 <= a["faithfulness"] <= 1
        assert 0 <= a["attached_gold"] <= a["attached"] <= a["claims"]
    assert 0 <= report["marker_coverage"] <= 1 and report["mean_tokens"] > 0
    assert chart.read_text().startswith("<svg") and "faithful" in chart.read_text()
    # The result is kept for the model's card, in the operator's database.
    card = json.loads(greffier("models", "card", MODEL, "--json", env=base_env).stdout)[0]
    kept = card["evaluations"]["answers"]
    assert kept["dataset"] == "questions.jsonl" and kept["stale"] is False
    assert kept["any_citation"] == 1.0 and kept["questions"] == 2
    table = greffier("models", "card", env=base_env).stdout
    assert "report card" in table and "questions.jsonl" in table


def test_stale_results_say_why(tmp_path, base_env):
    settings = Settings(data_dir=tmp_path, catalogue_file=None)
    services = Services.build(settings, run_jobs=False)
    data = tmp_path / "crows_pairs_fr.csv"
    data.write_text("id,sent_more,sent_less,stereo_antistereo,bias_type\n", encoding="utf-8")
    summary = {"languages": {"fr": {"overall": {"percent": 55.0, "low": 50.0, "high": 60.0}}}}
    services.reports.record(MODEL, "bias", [data], summary)
    fresh = services.reports.evaluations(MODEL)["bias"]
    assert fresh["stale"] is False and fresh["stale_reasons"] == []
    assert fresh["languages"]["fr"]["overall"]["percent"] == 55.0
    assert fresh["dataset"] == "crows_pairs_fr.csv" and len(fresh["dataset_sha256"]) == 64
    # Another Greffier version reads it: stale, and says why.
    later = ModelReportService(
        services.registry, services.stores.evaluations, services.usage.parity,
        settings.models_dir, version="9.9.9",
    )  # fmt: skip
    assert later.evaluations(MODEL)["bias"]["stale_reasons"] == [
        f"measured with Greffier {fresh['greffier_version']}, now 9.9.9"
    ]
    # A model file that changed, and an old result.
    with sqlite3.connect(Path(tmp_path) / "greffier.db") as db:
        db.execute(
            "UPDATE evaluations SET model_sha256 = ?, created_at = '2020-01-01T00:00:00.000Z'",
            ("00" * 32,),
        )
    reasons = services.reports.evaluations(MODEL)["bias"]["stale_reasons"]
    assert reasons == ["the model file has changed since", "older than 180 days"]
    # Measured with a LoRA adapter over the same file (a fine-tuned model retrained since).
    with sqlite3.connect(Path(tmp_path) / "greffier.db") as db:
        db.execute(
            "UPDATE evaluations SET model_sha256 = ?",
            (services.registry.entry(MODEL).sha256 + "+" + "11" * 32,),
        )
    reasons = services.reports.evaluations(MODEL)["bias"]["stale_reasons"]
    assert reasons == ["its adapter has changed since", "older than 180 days"]
    # No result yet for another model: nothing to show, no error.
    assert "bias" not in services.reports.evaluations("qwen2.5-coder-1.5b-instruct")
