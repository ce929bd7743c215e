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
