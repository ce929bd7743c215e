"""The function-calling benchmark (benchmarks/tool_calls.py) on a tiny set of its French
tasks with the bundled 0.5B model: the figures docs/benchmarks.md reports come from this
code, run once on the full set with the 1.5B model."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import MODEL

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
import tool_calls


def test_benchmark_compares_grammar_with_free_text_and_llama_cpp(base_env):
    tasks = tool_calls.TASKS[:2]  # "Quel temps fait-il à Lyon ?", "… à Brest …"
    report = tool_calls.run(MODEL, Path(base_env["GREFFIER_DATA_DIR"]), tasks, max_tokens=60)
    for side in ("llama_cpp_python", "no_grammar", "grammar"):
        assert report[side]["tasks"] == 2
    # Under the grammar, the call the model starts always comes out valid and complete.
    assert report["grammar"]["valid_call_rate"] == 1.0
    assert report["grammar"]["right_function_rate"] == 1.0
    assert report["grammar"]["valid_call_rate"] >= report["no_grammar"]["valid_call_rate"]
    assert report["loop"]["called"] is True


def test_arguments_are_judged_without_case_or_accents():
    task = tool_calls.TASKS[5]  # a meeting on 2027-03-14 at 10:30
    good = (
        "creer_rendez_vous",
        '{"date": "2027-03-14", "heure": "10:30", "objet": "Réunion de service"}',
    )
    wrong_day = (
        "creer_rendez_vous",
        '{"date": "2027-03-15", "heure": "10:30", "objet": "réunion"}',
    )
    assert tool_calls.judge(task, [good], 1.0).arguments is True
    assert tool_calls.judge(task, [wrong_day], 1.0).arguments is False
    assert tool_calls.judge(task, [("meteo", '{"ville": 3}')], 1.0).valid is False
    assert tool_calls.judge(task, [], 1.0).valid is False
