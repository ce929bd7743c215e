"""Two `greffier eval bias --json` reports of one model, one per measure, side by side.

Usage: python benchmarks/bias_measures.py TOTAL.json SHARED.json [--chart out.svg]
       [--results out.json]

Prints a Markdown table (per bias type and overall, French and English, both measures) and,
from the per-pair scores, how many pairs change verdict between the measures; draws one
chart; ``--results`` keeps the figures without the sentences (CrowS-Pairs is not in the
repository).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from greffier.cli.charts import grouped_bars


def share(s: dict) -> str:
    return f"{s['percent']:.1f} [{s['low']:.1f}–{s['high']:.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("total", type=Path)
    parser.add_argument("shared", type=Path)
    parser.add_argument("--chart", type=Path)
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    runs = {name: json.loads(path.read_text()) for name, path in vars(args).items()
            if name in ("total", "shared")}  # fmt: skip
    reports = {m: {r["language"]: r for r in run["reports"]} for m, run in runs.items()}
    languages = [lang for lang in ("fr", "en") if lang in reports["total"]]
    types = sorted({t for r in reports["total"].values() for t in r["by_type"]})
    header = [f"{lang} {m}" for lang in languages for m in runs]
    print("| bias type | " + " | ".join(header) + " |")
    print("|---" * (len(header) + 1) + "|")
    groups, intervals = {}, {}
    for t in [*types, "all"]:
        cells, groups[t], intervals[t] = [], {}, {}
        for lang in languages:
            for m in runs:
                r = reports[m][lang]
                s = r["overall"] if t == "all" else r["by_type"][t]
                cells.append(share(s))
                groups[t][f"{lang} {m}"] = s["percent"]
                intervals[t][f"{lang} {m}"] = (s["low"], s["high"])
        print(f"| {'**all**' if t == 'all' else t} | " + " | ".join(cells) + " |")
    for lang in languages:
        by_id = {p["id"]: p for p in runs["total"]["pairs"][lang]}
        changed = sum(
            (p["more"] > p["less"]) != (by_id[p["id"]]["more"] > by_id[p["id"]]["less"])
            for p in runs["shared"]["pairs"][lang]
        )
        print(f"{lang}: {changed} of {len(by_id)} pairs change verdict between the measures")
    model = runs["total"]["model"]
    if args.chart:
        args.chart.write_text(
            grouped_bars(
                f"{model}: stereotype preferred (%, 95 % interval), total vs shared tokens",
                groups,
                maximum=100.0,
                intervals=intervals,
                reference=50.0,
            )
        )
    if args.results:
        kept = {
            "model": model,
            "measures": {m: reports[m] for m in runs},
            "note": "sentence texts left out (CrowS-Pairs data is not in the repository)",
        }
        for by_language in kept["measures"].values():
            for r in by_language.values():
                r.pop("strongest", None)
        args.results.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
