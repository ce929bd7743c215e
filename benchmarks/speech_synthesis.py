"""Greffier's /v1/audio/speech against the Kokoro ONNX model called directly.

The direct side is what Greffier wraps, used plainly in this process: espeak-ng for the
phonemes (one call a sentence, clauses a line each, their punctuation put back), the
vocabulary filter, onnxruntime on the same ``kokoro-v1.0.int8.onnx`` with the same
threads, one call a sentence, the style row at the token count. It is given the text
already written out in words (Greffier's normaliser, run beforehand, untimed), so both
sides make the same model calls; Greffier's own work — writing the French out, cutting
sentences, trimming, encoding, HTTP — is what the ratios measure.

Two texts: a paragraph (six sentences) for throughput and real-time factor, and a
two-sentence answer for the time to first audio (request sent → first audio bytes for
Greffier, first sentence's samples for the direct call). Greffier is asked for ``pcm``
(no codec; the HTTP stream itself) and, in a separate row, ``mp3`` (the web interface's
format). Runs are interleaved, alternating which side goes first, after one untimed
warm-up each; medians are reported. The machine's load (``uptime``) is recorded before
and after: the benchmark shares its cores with whatever else runs.

Run: ``make benchmark-voice`` or ``python benchmarks/speech_synthesis.py --rounds 3``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import onnxruntime
from rich.console import Console
from rich.progress import track
from rich.table import Table

from greffier.voice.french import normalise
from greffier.voice.text import sentences
from local import greffier, serve

PARAGRAPH = (
    "Le conseil municipal s'est réuni le 12 mars 2024 sous la présidence de Mme Martin. "
    "Le budget des routes est fixé à 450 000 euros pour l'année prochaine. "
    "M. Dupont présentera le rapport sur la bibliothèque à 14 h 30, salle du conseil. "
    "La commune compte 3 200 habitants depuis le 1er janvier, soit 2,5 % de plus. "
    "L'art. 12 du règlement prévoit cinq jours de congé pour un mariage. "
    "La prochaine séance aura lieu le 4 avril, à la mairie."
)
ANSWER = (
    "Un agent qui se marie bénéficie de cinq jours ouvrables de congé exceptionnel [1]. "
    "Il doit fournir un justificatif au service des ressources humaines [1]."
)
RATE = 24000
VOICE = "kokoro-82m"
THREADS = 2


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


class Direct:
    """espeak-ng and onnxruntime, called as their documentation shows."""

    CLAUSE = re.compile(r"([^,;:.!?…—\n]+)([,;:.!?…—]*)")

    def __init__(self, folder: Path):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(folder / "kokoro-v1.0.int8.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.vocab = json.loads((folder / "vocab.json").read_text())["vocab"]
        self.style = np.fromfile(folder / "ff_siwis.bin", dtype="<f4").reshape(-1, 256)

    def phonemes(self, sentence: str) -> str:
        clauses = [(w.strip(), p) for w, p in self.CLAUSE.findall(sentence) if w.strip()]
        out = subprocess.run(
            ["espeak-ng", "-q", "-v", "fr-fr", "--ipa"],
            input="\n".join(w for w, _ in clauses) + "\n",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        lines = [line.strip() for line in out if line.strip()]
        return " ".join(
            ipa + (p[:1] if p else "") for ipa, (_, p) in zip(lines, clauses, strict=True)
        )

    def speak(self, sentence: str) -> np.ndarray:
        tokens = [self.vocab[c] for c in self.phonemes(sentence) if c in self.vocab][:510]
        return self.session.run(
            None,
            {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": self.style[len(tokens)].reshape(1, 256),
                "speed": np.array([1.0], dtype=np.float32),
            },
        )[0].reshape(-1)


def run_direct(direct: Direct, said: list[str]) -> dict:
    start = time.perf_counter()
    first, samples = None, 0
    for sentence in said:
        audio = direct.speak(sentence)
        first = first or time.perf_counter()
        samples += len(audio)
    wall = time.perf_counter() - start
    return {"first_s": first - start, "wall_s": wall, "audio_s": samples / RATE}


def run_greffier(http: httpx.Client, text: str, fmt: str) -> dict:
    start = time.perf_counter()
    first, data = None, bytearray()
    body = {"model": "tts-1", "input": text, "response_format": fmt}
    with http.stream("POST", "/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            first = first or time.perf_counter()
            data += chunk
    wall = time.perf_counter() - start
    audio = len(data) / 2 / RATE if fmt == "pcm" else None
    return {"first_s": first - start, "wall_s": wall, "audio_s": audio, "bytes": len(data)}


def median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--json", type=Path, default=Path("benchmarks/results/speech_synthesis.json")
    )
    args = parser.parse_args()
    console = Console()
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="greffier-bench-voice-"))
    env = {
        **os.environ,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_CONFIG": str(data / "absent.toml"),
        "GREFFIER_THREADS": str(THREADS),
        "GREFFIER_PRELOAD_DEFAULT_MODEL": "false",
        "GREFFIER_LOG_LEVEL": "warning",
    }
    tarball = Path(".cache/npm/kokoro-js-1.2.1.tgz")  # `make install-test` packed it
    if tarball.is_file():
        (data / "models" / ".cache" / "npm").mkdir(parents=True, exist_ok=True)
        shutil.copy(tarball, data / "models" / ".cache" / "npm")
    greffier("models", "pull", VOICE, env=env)
    key = greffier("admin", "create-key", "--user", "bench", env=env).strip().splitlines()[-1]
    server, url = serve(env)
    load_before = load()
    results: dict[str, list[dict]] = {k: [] for k in ("direct", "pcm", "mp3")}
    first: dict[str, list[dict]] = {k: [] for k in ("direct", "pcm")}
    try:
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=900)
        direct = Direct(data / "models" / VOICE)
        paragraph = sentences(normalise(PARAGRAPH))
        answer = sentences(normalise(ANSWER))
        run_direct(direct, answer)  # warm both up once, untimed (the server loads its model)
        run_greffier(http, ANSWER, "pcm")
        for r in track(range(args.rounds), description="Interleaved runs"):
            sides = [
                ("direct", lambda: run_direct(direct, paragraph)),
                ("pcm", lambda: run_greffier(http, PARAGRAPH, "pcm")),
            ]
            for name, run in sides if r % 2 == 0 else sides[::-1]:
                results[name].append(run())
            results["mp3"].append(run_greffier(http, PARAGRAPH, "mp3"))
            short = [
                ("direct", lambda: run_direct(direct, answer)),
                ("pcm", lambda: run_greffier(http, ANSWER, "pcm")),
            ]
            for name, run in short if r % 2 == 0 else short[::-1]:
                first[name].append(run())
    finally:
        server.terminate()
        server.wait(30)
    load_after = load()

    d_wall, g_wall, m_wall = (median(results[k], "wall_s") for k in ("direct", "pcm", "mp3"))
    d_audio, g_audio = median(results["direct"], "audio_s"), median(results["pcm"], "audio_s")
    d_first, g_first = (median(first[k], "first_s") for k in ("direct", "pcm"))
    report = {
        "model": VOICE,
        "threads": THREADS,
        "rounds": args.rounds,
        "paragraph_sentences": len(sentences(normalise(PARAGRAPH))),
        "load_before": load_before,
        "load_after": load_after,
        "direct": {"wall_s": d_wall, "audio_s": d_audio, "rtf": d_wall / d_audio},
        "greffier_pcm": {"wall_s": g_wall, "audio_s": g_audio, "rtf": g_wall / g_audio},
        "greffier_mp3": {"wall_s": m_wall},
        "throughput_ratio": d_wall / g_wall,
        "throughput_ratio_mp3": d_wall / m_wall,
        "first_audio_ms": {"direct": d_first * 1000, "greffier": g_first * 1000},
        "added_first_audio_ms": (g_first - d_first) * 1000,
        "runs": {"paragraph": results, "answer": first},
    }
    table = Table(title=f"Speech synthesis — {VOICE}, {THREADS} threads, {args.rounds} rounds")
    for column in ("", "paragraph: wall (median)", "audio", "real-time factor", "first audio"):
        table.add_column(column)
    table.add_row(
        "espeak-ng + onnxruntime, direct",
        f"{d_wall:.2f} s",
        f"{d_audio:.1f} s",
        f"{d_wall / d_audio:.3f}",
        f"{d_first * 1000:.0f} ms",
    )
    table.add_row(
        "Greffier /v1/audio/speech, pcm",
        f"{g_wall:.2f} s",
        f"{g_audio:.1f} s",
        f"{g_wall / g_audio:.3f}",
        f"{g_first * 1000:.0f} ms",
    )
    table.add_row("Greffier /v1/audio/speech, mp3", f"{m_wall:.2f} s", "", "", "")
    table.add_row(
        "Greffier / direct",
        f"{report['throughput_ratio']:.3f}× (mp3 {report['throughput_ratio_mp3']:.3f}×)",
        "",
        "",
        f"{report['added_first_audio_ms']:+.0f} ms",
    )
    console.print(table)
    console.print(f"Load before: {load_before}\nLoad after:  {load_after}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"Saved {args.json}")


if __name__ == "__main__":
    main()
