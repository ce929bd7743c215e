"""Greffier's HTTP API (streaming) against llama-cpp-python called directly.

Same GGUF file, same context size, threads and sampling settings; the two are
interleaved prompt by prompt (alternating which goes first) in one run, so machine load
affects both alike. Prints time to first token and generated tokens/s for each, and the
ratios. Run: `make benchmark` or `python benchmarks/chat_overhead.py --rounds 5`.

With `--seed N`, Greffier's requests carry a seed, so each is evaluated from its first
token (reproducible whatever came before) instead of reusing the prefix it shares with
the previous request: the difference between the two runs is what reproducibility costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from llama_cpp import Llama
from rich.console import Console
from rich.progress import track
from rich.table import Table

from local import greffier, serve

PROMPTS = [
    "Explique en quelques phrases le rôle d'un greffier dans un tribunal.",
    "Rédige un court paragraphe sur l'histoire de la ville de Lyon.",
    "Liste des conseils pour bien préparer une réunion de conseil municipal.",
]
CONTEXT = 2048


def timed(start: float, chunks) -> tuple[float, float, int]:
    """Consume a stream of text pieces: (time to first token, tokens/s after it, pieces)."""
    first = last = None
    pieces = 0
    for text in chunks:
        if text:
            now = time.perf_counter()
            first = first or now
            last = now
            pieces += 1
    ttft = first - start
    rate = (pieces - 1) / (last - first) if pieces > 1 and last > first else 0.0
    return ttft, rate, pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=None, help="send this seed to Greffier")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    console = Console()
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="greffier-bench-"))
    threads = os.cpu_count() or 1
    env = {
        **os.environ,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_CONFIG": str(data / "absent.toml"),
        "GREFFIER_DEFAULT_MODEL": args.model,
        "GREFFIER_CONTEXT_SIZE": str(CONTEXT),
        "GREFFIER_THREADS": str(threads),
        "GREFFIER_LOG_LEVEL": "warning",
    }
    path = greffier("models", "pull", args.model, env=env).strip().split(": ", 1)[-1]
    path = str(next((data / "models").rglob("*.gguf"))) if not Path(path).is_file() else path
    key = greffier("admin", "create-key", "--user", "bench", env=env).strip().splitlines()[-1]
    server, url = serve(env)
    try:
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600)
        direct = Llama(
            model_path=path,
            n_ctx=CONTEXT,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
        settings = {"temperature": 0, "top_p": 1.0, "max_tokens": args.max_tokens}

        def run_direct(prompt: str):
            start = time.perf_counter()
            stream = direct.create_chat_completion(
                messages=[{"role": "user", "content": prompt}], stream=True, **settings
            )
            return timed(start, (c["choices"][0]["delta"].get("content") for c in stream))

        def sse_texts(response):
            # Only what timing needs: is this event a piece of text? Parsing each event in
            # full would spend this process's CPU, which the server's model threads share.
            for line in response.iter_lines():
                yield line.startswith("data: {") and '"content"' in line

        def run_greffier(prompt: str):
            # Plain httpx, not the openai client, for the same reason; tests/ checks the
            # official client separately.
            start = time.perf_counter()
            body = {
                "model": args.model,
                "messages": [{"role": "user", "content": prompt}],
                "stream": True,
                **settings,
                **({"seed": args.seed} if args.seed is not None else {}),
            }
            with http.stream("POST", "/v1/chat/completions", json=body) as response:
                return timed(start, sse_texts(response))

        run_direct(PROMPTS[0])  # warm both up once, untimed
        run_greffier(PROMPTS[0])
        results = {"direct": [], "greffier": []}
        jobs = [(r, p) for r in range(args.rounds) for p in PROMPTS]
        for r, prompt in track(jobs, description="Interleaved runs"):
            order = [("direct", run_direct), ("greffier", run_greffier)]
            for name, run in order if r % 2 == 0 else order[::-1]:
                results[name].append(run(prompt))
    finally:
        server.terminate()
        server.wait(30)

    def summary(rows):
        return {
            "ttft_ms": statistics.median(r[0] for r in rows) * 1000,
            "tokens_per_s": statistics.median(r[1] for r in rows),
            "tokens": statistics.mean(r[2] for r in rows),
        }

    d, g = summary(results["direct"]), summary(results["greffier"])
    report = {
        "model": args.model,
        "seed": args.seed,
        "runs_per_side": len(results["direct"]),
        "max_tokens": args.max_tokens,
        "threads": threads,
        "direct": d,
        "greffier": g,
        "throughput_ratio": g["tokens_per_s"] / d["tokens_per_s"],
        "added_ttft_ms": g["ttft_ms"] - d["ttft_ms"],
    }
    table = Table(title=f"Chat overhead — {args.model}, {report['runs_per_side']} runs each")
    for column in ("", "time to first token (median)", "tokens/s (median)", "tokens/answer"):
        table.add_column(column)
    table.add_row(
        "llama-cpp-python direct",
        f"{d['ttft_ms']:.1f} ms",
        f"{d['tokens_per_s']:.2f}",
        f"{d['tokens']:.0f}",
    )
    table.add_row(
        "Greffier HTTP API (SSE)",
        f"{g['ttft_ms']:.1f} ms",
        f"{g['tokens_per_s']:.2f}",
        f"{g['tokens']:.0f}",
    )
    table.add_row(
        "Greffier / direct",
        f"{report['added_ttft_ms']:+.1f} ms",
        f"{report['throughput_ratio']:.3f}×",
        "",
    )
    console.print(table)
    out = args.json or Path(
        "benchmarks/results/chat_overhead.json"
        if args.seed is None
        else "benchmarks/results/chat_overhead_seed.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"Saved {out}")


if __name__ == "__main__":
    main()
