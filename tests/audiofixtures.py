"""Real recordings for the speech tests, made at test time with espeak-ng, sox and PyAV."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ENGLISH = "The town council met on the 12th of March. The budget is set at 450,000 euros."
# espeak reads digits in words; Whisper writes them back as digits.
ENGLISH_SPOKEN = (
    "The town council met on the twelfth of March. "
    "The budget is set at four hundred and fifty thousand euros."
)
FRENCH_SPOKEN = "Bonjour à tous. La séance est ouverte. Nous allons voter le budget de la commune."


def speak(text: str, path: Path, voice: str = "en-us", speed: int = 140) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


def silence(seconds: float, path: Path) -> Path:
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), "trim", "0", str(seconds)],
        check=True,
    )
    return path


def convert(source: Path, target: Path) -> Path:
    """Re-encode with sox (its format follows the extension, e.g. .ogg → Vorbis)."""
    subprocess.run(["sox", str(source), str(target)], check=True)
    return target


def to_mp3(source: Path, target: Path) -> Path:
    import av

    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        stream = out.add_stream("mp3", rate=22050)
        for frame in src.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level edit distance / reference words, after lower-casing and
    dropping punctuation (thousands separators included: "450,000" == "450000")."""

    def norm(text: str) -> list[str]:
        return re.sub(r"[^\w\s]", "", text.lower().replace(",", "")).split()

    ref, hyp = norm(reference), norm(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / max(1, len(ref))


TURNS = [
    ("en-us+m3", "The town council met on the twelfth of March to discuss the budget."),
    ("en-us+f3", "I think we should invest more in the schools and the library this year."),
    ("en-us+m3", "The budget is set at four hundred and fifty thousand euros for the roads."),
    ("en-us+f3", "Then the library will open on Saturday mornings starting in April."),
]


def dialogue(folder: Path, gap: float = 0.8) -> tuple[Path, list[tuple[float, float, str]]]:
    """Two synthetic voices taking turns, with silences between: the recording and its
    known turns (start, end, voice)."""
    parts, turns, at = [], [], 0.0
    pause = silence(gap, folder / "gap.wav")
    for i, (voice, text) in enumerate(TURNS):
        raw = speak(text, folder / f"turn{i}.wav", voice=voice)
        part = folder / f"turn{i}-16k.wav"
        subprocess.run(
            ["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(part)], check=True
        )
        length = float(
            subprocess.run(
                ["soxi", "-D", str(part)], check=True, capture_output=True, text=True
            ).stdout
        )
        turns.append((at, at + length, voice))
        parts += [part, pause]
        at += length + gap
    out = folder / "dialogue.wav"
    subprocess.run(["sox", *map(str, parts[:-1]), str(out)], check=True)
    return out, turns
