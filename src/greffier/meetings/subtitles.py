"""Transcripts as SubRip (SRT), WebVTT and OpenAI's verbose JSON."""

from __future__ import annotations

from collections.abc import Sequence

from greffier.models.backends.base import Segment, Transcript

LANGUAGE_NAMES = {
    "fr": "french",
    "en": "english",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
}


def timestamp(seconds: float, separator: str = ",") -> str:
    """3725.5 s → '01:02:05,500' (SRT) or '01:02:05.500' (WebVTT)."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def clock_seconds(clock: str | None) -> float | None:
    """'00:14:32' or '14:32' → 872.0 (None for nothing)."""
    if not clock:
        return None
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    return float(parts[0] * 3600 + parts[1] * 60 + parts[2])


def srt(segments: Sequence[Segment]) -> str:
    return "\n".join(
        f"{i}\n{timestamp(s.start)} --> {timestamp(s.end)}\n{s.text}\n"
        for i, s in enumerate(segments, start=1)
    )


def vtt(segments: Sequence[Segment]) -> str:
    blocks = [
        f"{timestamp(s.start, '.')} --> {timestamp(s.end, '.')}\n{s.text}\n" for s in segments
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def verbose_json(transcript: Transcript, words: bool) -> dict:
    body = {
        "task": "transcribe",
        "language": LANGUAGE_NAMES.get(transcript.language, transcript.language),
        "duration": transcript.duration,
        "text": transcript.text,
        "segments": [
            {"id": i, "start": s.start, "end": s.end, "text": s.text}
            for i, s in enumerate(transcript.segments)
        ],
    }
    if words:
        body["words"] = [
            {"word": w.text, "start": w.start, "end": w.end, "probability": w.probability}
            for s in transcript.segments
            for w in s.words
        ]
    return body
