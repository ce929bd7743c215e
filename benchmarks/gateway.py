"""Greffier as a gateway in front of llama.cpp servers, in one run:

- overhead: streaming through Greffier (a model whose upstream pool is one
  `python -m llama_cpp.server`) against the same server called directly, interleaved
  prompt by prompt; time to first token and tokens/s, and the ratios;
- failover: a pool of two servers; one is killed (SIGKILL) and a request sent at once:
  the time from the death to that request's first token, against the same request's time
  to first token with both alive; requests lost among a burst sent right after the death;
- concurrency: 64 streams at once through one Greffier process (held), then more than
  `upstream_max_in_flight` (clean 429s beyond it), and the process's memory per stream.

Run: `python benchmarks/gateway.py [--rounds 3] [--failovers 5] [--streams 64]`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import track
from rich.table import Table

from local import free_port, greffier, serve, wait

MODEL = "qwen2.5-coder-0.5b-instruct"
CONTEXT = 2048
PROMPTS = [
    "Explique en quelques phrases le rôle d'un greffier dans un tribunal.",
    "Rédige un court paragraphe sur l'histoire de la ville de Lyon.",
    "Liste des conseils pour bien préparer une réunion de conseil municipal.",
]
ENTRY = """
[[model]]
id = "{id}"
name = "{id}"
role = "chat"
backend = "openai"
licence = "Apache-2.0"
context_length = {context}
[model.source]
kind = "upstream"
base_urls = [{urls}]
model = "bench"
[model.openness]
weights = {{ status = "open" }}
training_data = {{ status = "closed" }}
training_code = {{ status = "closed" }}
licence = {{ status = "open" }}
"""


class LlamaServer:
    """`python -m llama_cpp.server` on a fixed loopback port, restartable."""

    def __init__(self, model_path: str, threads: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.args = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            model_path,
            "--model_alias",
            "bench",
            "--interrupt_requests",  # else any request (a health check) stops the running one
            "False",
            "--n_ctx",
            str(CONTEXT),
            "--n_threads",
            str(threads),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait(f"{self.url}/models")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def stream_times(client: httpx.Client, url: str, body: dict) -> tuple[float, float, int, int]:
    """(time to first token, tokens/s after it, pieces, status) of one streamed chat."""
    start = time.perf_counter()
    first = last = None
    pieces = 0
    with client.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            response.read()
            return 0.0, 0.0, 0, response.status_code
        for line in response.iter_lines():
            if line.startswith("data: {") and '"content"' in line:
                now = time.perf_counter()
                first = first or now
                last = now
                pieces += 1
            elif line.startswith("data: {") and '"error"' in line:
                return 0.0, 0.0, pieces, 599  # an error event: the stream failed
    if first is None:
        return 0.0, 0.0, 0, 598
    rate = (pieces - 1) / (last - first) if pieces > 1 and last > first else 0.0
    return first - start, rate, pieces, 200


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def upstream_states(http: httpx.Client, model: str = "pair") -> dict[str, float]:
    states = {}
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("greffier_upstream_up{") and f'model="{model}"' in line:
            labels, value = line.rsplit(" ", 1)
            states[labels] = float(value)
    return states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--failovers", type=int, default=5)
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/gateway.json"))
    args = parser.parse_args()
    console = Console()
    data = Path(tempfile.mkdtemp(prefix="greffier-gateway-"))
    threads = max(1, (os.cpu_count() or 2) // 2)
    env = {
        **os.environ,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_CONFIG": str(data / "absent.toml"),
        "GREFFIER_DEFAULT_MODEL": MODEL,
        "GREFFIER_LOG_LEVEL": "warning",
        "GREFFIER_UPSTREAM_HEALTH_INTERVAL": "0.5",
        "GREFFIER_UPSTREAM_MAX_IN_FLIGHT": str(args.streams),
        "GREFFIER_UPSTREAM_TIMEOUT": "300",
    }
    greffier("models", "pull", MODEL, env=env)
    model_path = str(next((data / "models").rglob("*.gguf")))
    servers = [LlamaServer(model_path, threads), LlamaServer(model_path, threads)]
    for s in servers:
        s.start()
    (data / "catalogue.toml").write_text(
        ENTRY.format(id="one", context=CONTEXT, urls=f'"{servers[0].url}"')
        + ENTRY.format(id="pair", context=CONTEXT, urls=", ".join(f'"{s.url}"' for s in servers))
    )
    key = greffier("admin", "create-key", "--user", "bench", env=env).strip().splitlines()[-1]
    try:
        gateway, base = serve(env)
    except RuntimeError:
        for s in servers:
            s.stop()
        raise
    report: dict = {"model": MODEL, "threads_per_server": threads}
    try:
        http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600)
        direct = httpx.Client(timeout=600)
        settings = {"temperature": 0, "max_tokens": args.max_tokens, "stream": True}

        def body(model: str, prompt: str) -> dict:
            return {"model": model, "messages": [{"role": "user", "content": prompt}]} | settings

        # --- overhead ---------------------------------------------------------------------
        direct_url = f"{servers[0].url}/chat/completions"
        stream_times(direct, direct_url, body("bench", PROMPTS[0]))  # warm up, untimed
        stream_times(http, "/v1/chat/completions", body("one", PROMPTS[0]))
        runs: dict[str, list] = {"direct": [], "greffier": []}
        jobs = [(r, p) for r in range(args.rounds) for p in PROMPTS]
        for r, prompt in track(jobs, description="Overhead (interleaved)"):
            order = [
                ("direct", lambda p: stream_times(direct, direct_url, body("bench", p))),
                ("greffier", lambda p: stream_times(http, "/v1/chat/completions", body("one", p))),
            ]
            for name, run in order if r % 2 == 0 else order[::-1]:
                # A prompt no server has seen: llama.cpp reuses the evaluated prefix of the
                # previous prompt, which would favour whichever side comes second.
                runs[name].append(run(f"Demande {uuid.uuid4().hex[:8]}. {prompt}"))
        d_ttft = statistics.median(x[0] for x in runs["direct"]) * 1000
        g_ttft = statistics.median(x[0] for x in runs["greffier"]) * 1000
        d_rate = statistics.median(x[1] for x in runs["direct"])
        g_rate = statistics.median(x[1] for x in runs["greffier"])
        report["overhead"] = {
            "runs_per_side": len(runs["direct"]),
            "direct_ttft_ms": d_ttft,
            "greffier_ttft_ms": g_ttft,
            "added_ttft_ms": g_ttft - d_ttft,
            "direct_tokens_per_s": d_rate,
            "greffier_tokens_per_s": g_rate,
            "throughput_ratio": g_rate / d_rate if d_rate else 0.0,
        }

        # --- failover ---------------------------------------------------------------------
        short = {"max_tokens": 8}
        healthy_ttft, failover, lost, burst = [], [], 0, 4
        stream_times(http, "/v1/chat/completions", body("pair", PROMPTS[1]) | short)  # warm
        for trial in track(range(args.failovers), description="Failover"):
            while sum(upstream_states(http).values()) < 2:  # both back in service
                time.sleep(0.2)
            healthy_ttft.append(
                stream_times(http, "/v1/chat/completions", body("pair", PROMPTS[1]) | short)[0]
            )
            victim = servers[trial % 2]
            died = time.perf_counter()
            victim.kill()
            sent = time.perf_counter()
            ttft, _, _, status = stream_times(
                http, "/v1/chat/completions", body("pair", PROMPTS[1]) | short
            )
            if status == 200:
                failover.append(sent - died + ttft)
            lost += status != 200
            with ThreadPoolExecutor(burst) as pool:
                statuses = list(
                    pool.map(
                        lambda p: stream_times(
                            http, "/v1/chat/completions", body("pair", p) | short
                        )[3],
                        [PROMPTS[2]] * burst,
                    )
                )
            lost += sum(s != 200 for s in statuses)
            victim.start()
        report["failover"] = {
            "trials": args.failovers,
            "healthy_ttft_ms": statistics.median(healthy_ttft) * 1000,
            "after_death_ttft_ms_median": statistics.median(failover or [0]) * 1000,
            "after_death_ttft_ms_max": max(failover or [0]) * 1000,
            "added_ms_median": (
                statistics.median(failover or [0]) - statistics.median(healthy_ttft)
            )
            * 1000,
            "requests_sent_after_deaths": args.failovers * (burst + 1),
            "requests_lost": lost,
        }

        # --- concurrency ------------------------------------------------------------------
        while sum(upstream_states(http).values()) < 2:
            time.sleep(0.2)
        idle = rss_kib(gateway.pid)
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(gateway.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        tiny = {"max_tokens": 4}
        results = {}
        for label, count in (("held", args.streams), ("beyond", args.streams + 16)):
            with ThreadPoolExecutor(count) as pool:
                statuses = list(
                    pool.map(
                        lambda p: stream_times(
                            http, "/v1/chat/completions", body("pair", p) | tiny
                        )[3],
                        [PROMPTS[i % 3] for i in range(count)],
                    )
                )
            results[label] = {
                "streams": count,
                "ok": statuses.count(200),
                "refused_429": statuses.count(429),
                "other": len(statuses) - statuses.count(200) - statuses.count(429),
            }
        done.set()
        sampler.join()
        report["concurrency"] = results | {
            "rss_idle_mib": idle / 1024,
            "rss_peak_mib": peak[0] / 1024,
            "kib_per_stream": (peak[0] - idle) / args.streams,
        }
    finally:
        gateway.terminate()
        gateway.wait(30)
        for s in servers:
            s.stop()

    o, f, c = report["overhead"], report["failover"], report["concurrency"]
    table = Table(title=f"Gateway — {MODEL}, llama.cpp servers on loopback")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("direct: time to first token (median)", f"{o['direct_ttft_ms']:.1f} ms")
    table.add_row("Greffier: time to first token (median)", f"{o['greffier_ttft_ms']:.1f} ms")
    table.add_row("added time to first token", f"{o['added_ttft_ms']:+.1f} ms")
    table.add_row("direct: tokens/s (median)", f"{o['direct_tokens_per_s']:.2f}")
    table.add_row("Greffier: tokens/s (median)", f"{o['greffier_tokens_per_s']:.2f}")
    table.add_row("Greffier / direct throughput", f"{o['throughput_ratio']:.3f}×")
    table.add_row(
        "failover: first token after a death (median)", f"{f['after_death_ttft_ms_median']:.0f} ms"
    )
    table.add_row("failover: worst", f"{f['after_death_ttft_ms_max']:.0f} ms")
    table.add_row("failover: same request, both alive", f"{f['healthy_ttft_ms']:.0f} ms")
    table.add_row(
        "requests lost after deaths", f"{f['requests_lost']} / {f['requests_sent_after_deaths']}"
    )
    for label in ("held", "beyond"):
        r = c[label]
        table.add_row(
            f"{r['streams']} streams at once",
            f"{r['ok']} ok, {r['refused_429']} × 429, {r['other']} other",
        )
    table.add_row("memory per stream", f"{c['kib_per_stream']:.0f} KiB")
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"Saved {args.json}")


if __name__ == "__main__":
    main()
