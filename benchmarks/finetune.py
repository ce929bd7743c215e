"""LoRA fine-tuning on this machine's CPU: training tokens/s and peak memory for each base,
the time a 500-example run would take, and generation with the adapter against without it.

Each base is measured in a child process of its own (its peak memory is its own). The
training examples are French conversations of a realistic length (~150 tokens); the time
of a 500-example run is the measured seconds per token times their tokens. Inference: the
0.5B base through llama-cpp-python with and without the adapter this run trained (converted
by llama.cpp's converter, as `greffier finetune` does), same prompt, greedy, one thread,
tokens per CPU-second (rounds interleaved); the ratio is adapted / plain (goal ≥ 0.95).

    python benchmarks/finetune.py [--bases qwen2.5-coder-0.5b-instruct ...] [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

BASES = ["qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct"]
SYSTEM = "Tu es l'assistant des services de la mairie. Réponds en français, brièvement."
TOPICS = [
    "le renouvellement d'une carte d'identité", "l'inscription à la cantine scolaire",
    "la déclaration d'un badge d'accès perdu", "la réservation d'une salle municipale",
    "le signalement d'un nid-de-poule", "la demande d'un permis de construire",
]  # fmt: skip
ANSWER = (
    "Pour {topic}, la demande se fait au guichet unique ou en ligne sur le portail de la "
    "commune. Il faut une pièce d'identité, un justificatif de domicile de moins de trois "
    "mois et, le cas échéant, le formulaire de la procédure. Le délai habituel est de dix "
    "jours ouvrés ; un courriel confirme la prise en compte du dossier."
)
PROMPT = "Comment se passe la réservation d'une salle municipale pour une association ?"


def conversations(n: int) -> list[dict]:
    return [
        {
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Comment se passe {TOPICS[i % len(TOPICS)]} ?"},
                {"role": "assistant", "content": ANSWER.format(topic=TOPICS[i % len(TOPICS)])},
            ]
        }
        for i in range(n)
    ]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(path: str, adapter: str, tokens: int, rounds: int) -> tuple[float, float]:
    """Tokens per CPU-second without and with the adapter (median of the rounds), on one
    thread, rounds interleaved (plain, adapted, plain, …). CPU time, not wall time: on a
    shared machine the wall clock measures the other work as much as this one."""
    from llama_cpp import Llama

    llamas = [
        Llama(
            model_path=path,
            n_ctx=1024,
            n_threads=1,
            n_threads_batch=1,
            lora_path=lora,
            verbose=False,
        )
        for lora in (None, adapter)
    ]
    rates: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for llama, kept in zip(llamas, rates, strict=True):
            llama.reset()  # no prefix cache carried from the previous round
            started = time.process_time()
            out = llama.create_chat_completion(
                [{"role": "user", "content": PROMPT}], max_tokens=tokens, temperature=0
            )
            kept.append(out["usage"]["completion_tokens"] / (time.process_time() - started))
    plain, adapted = (sorted(r)[len(r) // 2] for r in rates)
    return plain, adapted


def measure_one(model_id: str, data_dir: Path, steps: int, inference: bool) -> dict:
    """In a child process: load, train ``steps`` steps, and (0.5B) compare generation."""
    from greffier.models import files
    from greffier.models.catalogue import Catalogue
    from greffier.models.training import convert, data, lora

    entry = Catalogue.load().get(model_id)
    gguf = files.pull(data_dir / "models", entry)
    threads = os.cpu_count() or 1
    started = time.perf_counter()
    model, tokenizer = lora.load_base(gguf, threads)
    load_seconds = time.perf_counter() - started
    run = data_dir / "runs" / model_id
    examples = [
        data.encode(tokenizer, data.Conversation(i + 1, c["messages"]), 512)
        for i, c in enumerate(conversations(24))
    ]
    hp = lora.Hyperparameters(steps=steps, rank=8, alpha=16, learning_rate=2e-4,
                              max_length=512, checkpoint_every=10_000)  # fmt: skip
    trainer = lora.Trainer(model, examples, hp, run)
    estimated = trainer.estimate(1)  # also the warm-up: allocations happen there
    started = time.perf_counter()
    trainer.train(lora.RunState(0, steps, "", "", {}), lambda s, loss: None)
    seconds = time.perf_counter() - started
    trained_tokens = sum(len(examples[i].input_ids) for i in trainer.plan)
    mean_tokens = sum(len(e.input_ids) for e in examples) / len(examples)
    result = {
        "model": model_id,
        "load_seconds": round(load_seconds, 1),
        "tokens_per_second": round(trained_tokens / seconds, 1),
        "seconds_per_step": round(seconds / steps, 2),
        "tokens_per_example": round(mean_tokens, 1),
        "run_500_minutes": round(500 * mean_tokens / (trained_tokens / seconds) / 60, 1),
        # What `greffier finetune` would have printed for these steps, against the truth.
        "estimated_seconds": round(estimated.seconds, 1),
        "measured_seconds": round(seconds, 1),
        "peak_training_mib": round(peak_mib()),
    }
    if inference:
        adapter = trainer.save_adapter()
        config = lora.write_base_config(model, run / "base")
        del model, trainer
        target = convert.convert(data_dir / "models" / ".cache", adapter, config,
                                 run / "adapter.gguf")  # fmt: skip
        plain, adapted = generate(str(gguf), str(target), 64, 5)
        result |= {
            "plain_tokens_per_cpu_second": round(plain, 2),
            "adapted_tokens_per_cpu_second": round(adapted, 2),
            "ratio": round(adapted / plain, 3),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bases", nargs="+", default=BASES)
    parser.add_argument("--steps", type=int, default=6, help="timed steps after a warm-up one")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/finetune.json"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="greffier-bench-ft-"))
    if args.one:
        print(json.dumps(measure_one(args.one, data_dir, args.steps, "0.5b" in args.one)))
        return
    cache = data_dir / "models" / ".cache" / "pypi"
    cache.mkdir(parents=True, exist_ok=True)
    for archive in Path(".cache/pypi").glob("llama_cpp_python-*.tar.gz"):
        target = cache / archive.name
        if not target.exists():
            target.symlink_to(archive.resolve())
    console = Console()
    results = []
    for base in args.bases:
        console.print(f"[dim]measuring {base}…[/]")
        done = subprocess.run(
            [sys.executable, __file__, "--one", base, "--steps", str(args.steps),
             "--data-dir", str(data_dir)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    table = Table(title=f"LoRA fine-tuning on {os.cpu_count()} CPU cores (rank 8, fp32)")
    for column in ("base", "load s", "train tok/s", "s/step", "tok/example", "500 ex. (min)",
                   "peak MiB", "gen tok/CPU-s", "with adapter", "ratio"):  # fmt: skip
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r["model"], str(r["load_seconds"]), str(r["tokens_per_second"]),
            str(r["seconds_per_step"]), str(r["tokens_per_example"]), str(r["run_500_minutes"]),
            str(r["peak_training_mib"]), str(r.get("plain_tokens_per_cpu_second", "—")),
            str(r.get("adapted_tokens_per_cpu_second", "—")), str(r.get("ratio", "—")),
        )  # fmt: skip
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
