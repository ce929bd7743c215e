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

# A woman ends the man's sentence 0.1 s after him (with ``trim=True``): Whisper base writes
# the first two turns as one segment, "The budget for the roads and the school is set at
# 450,000 euros for the whole year.", which diarization must cut before "450".
TURNS_NO_PAUSE = [
    ("en-us+m3", "The budget for the roads and the schools is set at"),
    ("en-us+f3", "four hundred and fifty thousand euros for the whole year"),
    ("en-us+m3", "and the library will open on Saturday mornings"),
]

# Three French voices, chosen with the speaker encoder itself (GE2E cosine similarity, mean
# over three sentences each): each voice ~0.92 with itself; fr+klatt / fr+steph 0.53,
# fr+klatt / fr+f3 0.58, fr+steph / fr+f3 0.61 — well apart, where fr+m1 / fr+m3 (0.90) or
# fr+m3 / fr+m7 (0.83) would sound like one person to it. The sentences are the ones
# Whisper base hears best in these voices: fr+steph is the one voice in which it writes
# "450 000 euros" (most voices come out as "400 000" or "quatre sauce"), and "Martin" is
# lost in every voice tried ("Malta", "Manta"), so the owner of the action is the speaker
# who takes it on ("Je préparerai…"), named "Mme Martin" by renaming her, as a user would.
TURNS_FR = [
    ("fr+klatt", "Bonjour à tous, la séance du conseil municipal est ouverte."),
    ("fr+steph", "Nous devons d'abord parler du budget de la voirie pour cette année."),
    ("fr+f3", "Je propose de rénover la cantine de l'école avant la rentrée."),
    ("fr+steph", "Le budget est fixé à 450 000 euros."),
    ("fr+klatt", "Très bien, qui prépare le dossier pour la préfecture ?"),
    ("fr+steph", "Je préparerai le dossier de la cantine avant le 30 avril."),
    ("fr+f3", "Merci à tous, la séance est levée."),
]
# What was said, as Whisper would write it (digits): the WER reference.
FRENCH_DIALOGUE = " ".join(text for _, text in TURNS_FR)


def dialogue(
    folder: Path,
    gap: float = 0.8,
    turns: list[tuple[str, str]] = TURNS,
    speed: int = 140,
    trim: bool = False,
) -> tuple[Path, list[tuple[float, float, str]]]:
    """Synthetic voices taking turns, with ``gap`` seconds of silence between turns: the
    recording and its known turns (start, end, voice). ``trim`` cuts the silence espeak-ng
    leaves around each turn (~0.1 s before, ~0.3 s after), so that the gap is the only
    pause between two voices."""
    parts, known, at = [], [], 0.0
    pause = silence(gap, folder / "gap.wav")
    for i, (voice, text) in enumerate(turns):
        raw = speak(text, folder / f"turn{i}.wav", voice=voice, speed=speed)
        part = folder / f"turn{i}-16k.wav"
        # sox's "silence" effect, run forwards then on the reversed audio, trims both ends.
        edges = ["silence", "1", "0.01", "0.5%", "reverse"] * 2 if trim else []
        subprocess.run(
            ["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(part), *edges],
            check=True,
        )
        length = float(
            subprocess.run(
                ["soxi", "-D", str(part)], check=True, capture_output=True, text=True
            ).stdout
        )
        known.append((at, at + length, voice))
        parts += [part, pause]
        at += length + gap
    out = folder / "dialogue.wav"
    subprocess.run(["sox", *map(str, parts[:-1]), str(out)], check=True)
    return out, known


def dialogue_fr(folder: Path, gap: float = 0.8) -> tuple[Path, list[tuple[float, float, str]]]:
    """Three French voices taking seven turns (TURNS_FR), a little slower than the English
    dialogue: Whisper base loses more French words at espeak-ng's usual speed."""
    return dialogue(folder, gap, TURNS_FR, speed=120)
