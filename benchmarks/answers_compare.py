"""Several `greffier eval answers --json` runs side by side: a Markdown table of their
measures and one grouped bar chart.

    python benchmarks/answers_compare.py LABEL=run.json [LABEL=run.json ...] [--chart out.svg]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from greffier.cli.charts import grouped_bars

ROWS = [
    ("first_citation", "gold document cited first"),
    ("any_citation", "gold document cited at all"),
    ("f1", "token F1 (numbers and dates required)"),
    ("rouge_l", "ROUGE-L"),
    ("faithfulness", "faithfulness (answer units found in the passages)"),
    ("unfaithful", "answers flagged unfaithful"),
    ("abstention", 'out-of-domain questions answered "nothing found"'),
    ("false_abstention", "answerable questions refused"),
    ("marker_coverage", "sentences attached to a passage (coverage)"),
    ("marker_precision", "attached sentences pointing to the gold document (precision)"),
    ("model_marker_share", "answers with a `[n]` marker of the model's own"),
    ("p50_seconds", "median seconds per answer"),
    ("mean_tokens", "mean tokens per answer (prompt + completion)"),
    ("mean_energy_joules", "mean estimated energy per answer (J)"),
]
CHARTED = ["first_citation", "any_citation", "f1", "faithfulness", "abstention"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="LABEL=path/to/answers.json")
    parser.add_argument("--chart", type=Path, help="Also draw the main measures as SVG.")
    args = parser.parse_args()
    reports = {}
    for run in args.runs:
        label, _, path = run.partition("=")
        reports[label] = json.loads(Path(path).read_text())["report"]
    labels = list(reports)
    print("| measure | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    first = next(iter(reports.values()))
    print(
        "| questions (answerable + other subjects) | "
        + " | ".join(f"{r['questions']} + {r['out_of_domain']}" for r in reports.values())
        + " |"
    )
    for key, name in ROWS:
        if key not in first:
            continue
        digits = (
            0
            if key in ("mean_tokens", "mean_energy_joules")
            else (1 if key == "p50_seconds" else 3)
        )
        print(f"| {name} | " + " | ".join(f"{r[key]:.{digits}f}" for r in reports.values()) + " |")
    if args.chart:
        names = dict(ROWS)
        groups = {
            names[k].split(" (")[0]: {label: reports[label][k] for label in labels} for k in CHARTED
        }
        args.chart.write_text(grouped_bars("Grounded answers on the CNIL FAQ", groups))


if __name__ == "__main__":
    main()
