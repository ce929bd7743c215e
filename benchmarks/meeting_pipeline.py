"""Meeting pipeline: Greffier's transcription + speakers against bare faster-whisper.

Builds a multi-speaker recording (two espeak-ng voices taking turns with pauses, repeated
to the requested length), then runs, each in its own process so peak memory is its own:
bare faster-whisper (same model files, int8, VAD, word timestamps) and Greffier's pipeline
(probe + transcription through the speech backend + telling speakers apart). Prints the
real-time factor of each stage, the overhead ratio and peak memory (max RSS).
Run: `python benchmarks/meeting_pipeline.py [--minutes 10]` (needs espeak-ng and sox).
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

TURNS = [
    ("en-us+m3", "The town council met today to discuss the budget for the coming year."),
    ("en-us+f3", "I think we should invest more in the schools and in the public library."),
    ("en-us+m3", "The budget for the roads is set at four hundred and fifty thousand euros."),
    ("en-us+f3", "Then the library will open on Saturday mornings starting next April."),
]


def build(folder: Path, minutes: float) -> Path:
    parts = []
    gap = folder / "gap.wav"
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(gap), "trim", "0", "0.8"],
        check=True,
    )
    for i, (voice, text) in enumerate(TURNS):
        raw, part = folder / f"t{i}.wav", folder / f"t{i}-16k.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True)
        subprocess.run(
            ["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(part)], check=True
        )
        parts += [part, gap]
    cycle = folder / "cycle.wav"
    subprocess.run(["sox", *map(str, parts), str(cycle)], check=True)
    length = float(
        subprocess.run(
            ["soxi", "-D", str(cycle)], capture_output=True, text=True, check=True
        ).stdout
    )
    out = folder / "meeting.wav"
    repeats = max(1, round(minutes * 60 / length))
    subprocess.run(["sox", *[str(cycle)] * repeats, str(out)], check=True)
    return out


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bare(audio: str, model_dir: str) -> dict:
    from faster_whisper import WhisperModel

    model = WhisperModel(
        model_dir, device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1
    )
    start = time.perf_counter()
    segments, info = model.transcribe(audio, vad_filter=True, beam_size=5, word_timestamps=True)
    count = sum(1 for _ in segments)
    return {
        "transcribe_s": time.perf_counter() - start,
        "segments": count,
        "duration_s": info.duration,
        "peak_mib": peak_mib(),
    }


def run_greffier(audio: str, data_dir: str) -> dict:
    from greffier.meetings import diarization
    from greffier.services.container import Services
    from greffier.settings import Settings

    settings = Settings(data_dir=Path(data_dir), preload_default_model=False)
    services = Services.build(settings)
    services.registry.speech_backend(settings.speech_model).load()  # as bare: loaded first
    start = time.perf_counter()
    transcript = services.transcription.transcribe_file(Path(audio), "meeting.wav", words=True)
    transcribed = time.perf_counter()
    encoder = services.registry.speaker_backend(settings.speaker_model).encoder()
    labels = [label for label, _ in diarization.turns(audio, transcript.segments, None, encoder)]
    end = time.perf_counter()
    return {
        "transcribe_s": transcribed - start,
        "speakers_s": end - transcribed,
        "segments": len(transcript.segments),
        "speakers": len(set(labels)),
        "duration_s": transcript.duration,
        "peak_mib": peak_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--side", choices=["bare", "greffier"], help=argparse.SUPPRESS)
    parser.add_argument("--audio", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument(
        "--json", type=Path, default=Path("benchmarks/results/meeting_pipeline.json")
    )
    args = parser.parse_args()
    if args.side == "bare":
        print(json.dumps(run_bare(args.audio, str(Path(args.data_dir) / "models/whisper-base"))))
        return
    if args.side == "greffier":
        print(json.dumps(run_greffier(args.audio, args.data_dir)))
        return
    console = Console()
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "greffier",
                "--data-dir",
                str(data),
                "models",
                "pull",
                "whisper-base",
            ],
            check=True,
            capture_output=True,
        )
        audio = build(Path(scratch), args.minutes)
        results = {}
        for side in ("bare", "greffier"):
            with console.status(f"Running {side}…"):
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--side",
                        side,
                        "--audio",
                        str(audio),
                        "--data-dir",
                        str(data),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                )
            results[side] = json.loads(done.stdout.strip().splitlines()[-1])
    bare, ours = results["bare"], results["greffier"]
    duration = bare["duration_s"]
    total = ours["transcribe_s"] + ours["speakers_s"]
    report = {
        "audio_minutes": duration / 60,
        "bare": bare,
        "greffier": ours,
        "overhead_ratio": total / bare["transcribe_s"],
    }
    table = Table(title=f"Meeting pipeline on {duration / 60:.1f} min of two-voice speech")
    for column in ("", "seconds", "real-time factor", "peak memory"):
        table.add_column(column)
    table.add_row(
        "bare faster-whisper",
        f"{bare['transcribe_s']:.1f}",
        f"{bare['transcribe_s'] / duration:.3f}",
        f"{bare['peak_mib']:.0f} MiB",
    )
    table.add_row(
        "Greffier: transcription",
        f"{ours['transcribe_s']:.1f}",
        f"{ours['transcribe_s'] / duration:.3f}",
        "",
    )
    table.add_row(
        "Greffier: speakers",
        f"{ours['speakers_s']:.1f}",
        f"{ours['speakers_s'] / duration:.3f}",
        "",
    )
    table.add_row(
        "Greffier: whole", f"{total:.1f}", f"{total / duration:.3f}", f"{ours['peak_mib']:.0f} MiB"
    )
    table.add_row("Greffier / bare", "", f"{report['overhead_ratio']:.2f}×", "")
    console.print(table)
    console.print(f"Speakers found: {ours['speakers']} (2 voices in the recording)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
