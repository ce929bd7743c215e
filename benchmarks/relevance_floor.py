"""Where to set an embedder's relevance floor: the best question–passage similarity of
answerable questions against that of questions on other subjects, on the CNIL FAQ set.

The CNIL contexts are indexed (the first --limit of them) with the configured embedding
model (or --model's); each question of those contexts, the ten out-of-domain questions of
`greffier eval answers` and the thirty of benchmarks/data/other_subjects.txt are searched,
and the best semantic similarity is kept. For each candidate floor: the share of
answerable questions it would refuse and the share of other questions it would turn away.
The candidate floors are e5-small's range, or steps of 0.01 around the lowest answerable
similarity for an embedder that spreads its similarities otherwise.

Run: `python benchmarks/relevance_floor.py [--limit 192] [--model embeddinggemma-300m]` (an
index is kept in benchmarks/results/relevance-index[-MODEL] for the next run).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table

from greffier.services.answer_evaluation import OUT_OF_DOMAIN, load_answer_set
from greffier.services.container import Services
from greffier.settings import Settings

HERE = Path(__file__).parent
CNIL = HERE.parent.parent / "shared" / "data" / "fr-qa" / "cnil-faq-squad.json"
OTHER_SUBJECTS = HERE / "data" / "other_subjects.txt"
FLOORS = (0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=192, help="CNIL contexts indexed")
    parser.add_argument("--model", default=None, help="embedder (default: the configured one)")
    parser.add_argument("--index", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    suffix = f"-{args.model}" if args.model else ""
    args.index = args.index or HERE / "results" / f"relevance-index{suffix}"
    args.json = args.json or HERE / "results" / f"relevance_floor{suffix.replace('-', '_', 1)}.json"
    args.index.mkdir(parents=True, exist_ok=True)
    overrides = {"embedding_model": args.model} if args.model else {}
    models = args.index / "models"
    if args.model and not models.exists():
        models.symlink_to(Settings().models_dir)  # the pulled models, not a copy
    services = Services.build(Settings(data_dir=args.index, **overrides), run_jobs=False)
    documents, items = load_answer_set(CNIL)
    documents = [(name, text.encode()) for name, text in documents][: args.limit]
    kept = {name for name, _ in documents}
    who = services.identity.local_principal("bench", "admin")
    collection = services.documents.ensure_collection(who, "cnil")
    for i in track(range(0, len(documents), 32), description="Indexing"):
        submitted = services.documents.submit(who, collection.id, documents[i : i + 32])
        if submitted.job_id:
            services.documents.run_job(submitted.job_id)
    others = [line.strip() for line in OTHER_SUBJECTS.read_text().splitlines() if line.strip()]
    asked = [(i.question, True) for i in items if i.document in kept]
    asked += [(q, False) for q in (*OUT_OF_DOMAIN, *others)]
    vectors = services.search.embedder.embed([q for q, _ in asked], "query")
    best = {True: [], False: []}
    for (_, answerable), vector in zip(asked, vectors, strict=True):
        found = services.search.store.semantic(vector, [collection.id], 1)
        best[answerable].append(found[0].score if found else -1.0)
    table = Table(title=f"Best similarity: {len(best[True])} answerable, {len(best[False])} other")
    for column in ("floor", "answerable refused", "other subjects turned away"):
        table.add_column(column, justify="right")
    rows = []
    floors = FLOORS
    if not FLOORS[0] <= min(best[True]) <= FLOORS[-1] + 0.01:
        top = int(min(best[True]) * 100) / 100
        floors = tuple(round(top - 0.01 * i, 2) for i in range(8, -3, -1))
    for floor in floors:
        refused = sum(s < floor for s in best[True]) / len(best[True])
        away = sum(s < floor for s in best[False]) / len(best[False])
        rows.append({"floor": floor, "answerable_refused": refused, "other_turned_away": away})
        table.add_row(f"{floor:.2f}", f"{refused:.3f}", f"{away:.3f}")
    Console().print(table)
    args.json.write_text(
        json.dumps(
            {
                "embedding_model": services.settings.embedding_model,
                "lowest_answerable": min(best[True]),
                "highest_other": max(best[False]),
                "floors": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
