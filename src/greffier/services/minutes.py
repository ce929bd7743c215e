"""Minutes of a meeting, written by the chat model, map-reduce over time windows.

Map: the transcript is cut into windows that fit the model's context; for each window the
model lists, one per line, the topics (POINT), decisions, actions (owner; due date) and open
questions, each with the timestamp of the line it comes from. Reduce: the lists are merged
and de-duplicated; participants come from the transcript itself. Rendering goes through a
Jinja2 template (setting ``minutes_template``; the default is ``minutes.md.j2`` beside
this module), so an administration can use its own layout.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from greffier.services.subtitles import timestamp

WINDOW_CHARS = 3000

INSTRUCTIONS = {
    "fr": (
        "Voici un extrait de la transcription d'une réunion, une intervention par ligne, avec "
        "son horodatage. Écris le compte rendu de cet extrait sous forme de lignes, chacune "
        "commençant par l'un de ces mots : POINT: (un sujet abordé), DÉCISION [hh:mm:ss]: "
        "(une décision prise), ACTION [hh:mm:ss] (responsable ; échéance): (une tâche "
        "confiée), QUESTION [hh:mm:ss]: (une question restée ouverte). Recopie l'horodatage "
        "de la ligne d'où vient chaque élément. N'invente rien. Écris en français."
    ),
    "en": (
        "Here is an extract of a meeting transcript, one turn per line, with its timestamp. "
        "Write the minutes of this extract as lines, each starting with one of these words: "
        "TOPIC: (a subject discussed), DECISION [hh:mm:ss]: (a decision made), ACTION "
        "[hh:mm:ss] (owner; due date): (a task given), QUESTION [hh:mm:ss]: (a question left "
        "open). Copy the timestamp of the line each item comes from. Invent nothing."
    ),
}

_LINE = re.compile(
    r"^\s*[-*•]?\s*\**(?P<kind>POINT|TOPIC|D[ÉE]CISION|ACTION|QUESTION)S?\**\s*"
    r"(?:\[(?P<at>\d{1,2}:\d{2}(?::\d{2})?)\])?\s*(?:\((?P<who>[^)]*)\))?\**\s*:\**\s*"
    r"(?P<text>.+)$",
    re.IGNORECASE,
)


@dataclass
class Minutes:
    title: str
    language: str
    participants: list[str]
    topics: list[str] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)  # {"text", "at"}
    actions: list[dict] = field(default_factory=list)  # {"text", "owner", "due", "at"}
    questions: list[dict] = field(default_factory=list)  # {"text", "at"}
    model: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def seconds(stamp: str | None) -> float | None:
    """'00:14:32' or '14:32' → 872.0."""
    if not stamp:
        return None
    parts = [int(p) for p in stamp.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    return float(parts[0] * 3600 + parts[1] * 60 + parts[2])


def windows(segments: list[dict], max_chars: int = WINDOW_CHARS) -> list[list[str]]:
    """Transcript lines "[hh:mm:ss] Speaker : text", grouped into windows of bounded size."""
    result: list[list[str]] = [[]]
    size = 0
    for s in segments:
        line = f"[{timestamp(s['start'])[:8]}] {s['speaker']} : {s['text']}"
        if result[-1] and size + len(line) > max_chars:
            result.append([])
            size = 0
        result[-1].append(line)
        size += len(line) + 1
    return [w for w in result if w]


def parse(text: str, fallback_at: float) -> dict[str, list]:
    """The model's lines as structured items; a missing timestamp takes the window's start."""
    found: dict[str, list] = {"topics": [], "decisions": [], "actions": [], "questions": []}
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        kind = match["kind"].upper().replace("É", "E")
        body = match["text"].strip()
        at = seconds(match["at"])
        at = fallback_at if at is None else at
        if kind in ("POINT", "TOPIC"):
            found["topics"].append(body)
        elif kind == "DECISION":
            found["decisions"].append({"text": body, "at": at})
        elif kind == "QUESTION":
            found["questions"].append({"text": body, "at": at})
        else:
            who = [p.strip() for p in re.split(r"[;,]", match["who"] or "")] + ["", ""]
            found["actions"].append(
                {"text": body, "owner": who[0] or None, "due": who[1] or None, "at": at}
            )
    return found


def merge(minutes: Minutes, found: dict[str, list]) -> None:
    """Add a window's items, skipping ones already there (same text, case aside)."""

    def key(item) -> str:
        return re.sub(r"\W+", " ", (item if isinstance(item, str) else item["text"]).lower())

    for name, items in found.items():
        target = getattr(minutes, name)
        seen = {key(i) for i in target}
        for item in items:
            if key(item) not in seen:
                seen.add(key(item))
                target.append(item)


def render(minutes: Minutes, template: Path | None = None) -> str:
    import jinja2

    source = (
        template.read_text(encoding="utf-8")
        if template
        else resources.files("greffier.services").joinpath("minutes.md.j2").read_text("utf-8")
    )
    environment = jinja2.Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True)  # noqa: S701 - Markdown, not HTML
    environment.filters["timestamp"] = lambda s: timestamp(s)[:8] if s is not None else ""
    return environment.from_string(source).render(m=minutes)
