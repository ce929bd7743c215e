"""Minutes of a meeting, written by the chat model, map-reduce over time windows.

Map: the transcript is cut into windows that fit the model's context. In each window, the
sentences that carry a decision or a commitment are first found by their wording
(:func:`cues`: "est fixé à", "adopté", "je préparerai", "M. X enverra"…) and kept as
they were said, with their speaker as owner and their time; then the model lists, one per
line, the topics (POINT), decisions, actions (owner; due date) and open questions, each with
the timestamp of the line it comes from. The cues come first because a small model misses
or mislabels them: the bundled 0.5B model, asked alone, labels nearly every line of the
French test meeting a decision and names no owner, even with a few-shot example (which it
copies) or a list of the cues to build on (it answers with topics only). Reduce: the lists
are merged and de-duplicated (a model's decision or action from a line that gave a cue is
dropped); participants come from the transcript itself. Rendering goes through a
Jinja2 template (setting ``minutes_template``; the default is ``minutes.md.j2`` beside
this module), so an administration can use its own layout.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from greffier.meetings.subtitles import clock_seconds, timestamp

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

# Wording that marks a decision, and a commitment in the first person or by a named person
# ("Mme Martin enverra…"). Deliberately narrow: a missed cue is left to the model, a wrong
# one would put words in someone's mouth.
_DECISION = {
    "fr": re.compile(
        r"\b(?:est|sont|a été|ont été)\s+(?:fix|adopt|approuv|valid|vot|retenu|décid|arrêt)\w*"
        r"|\bnous (?:décidons|adoptons|approuvons|votons|retenons)\b|\bil est décidé\b",
        re.IGNORECASE,
    ),
    "en": re.compile(
        r"\b(?:is|are|was|were|has been|have been)\s+(?:set|fixed|adopted|approved|agreed"
        r"|decided|voted|validated)\b|\bwe (?:decide|agree|approve|adopt)\w*",
        re.IGNORECASE,
    ),
}
_ACTION_SELF = {
    "fr": re.compile(
        r"\bje (?:m'en charge|me charge|m'occupe|m'engage|\w+rai\b|prépare\b|rédige\b"
        r"|envoie\b|contacte\b)",
        re.IGNORECASE,
    ),
    "en": re.compile(r"\bI(?:'ll| will| shall| am going to)\b", re.IGNORECASE),
}
_ACTION_NAMED = {
    "fr": re.compile(r"\b((?:M\.|Mme|Monsieur|Madame)\s+[A-ZÉÈ][\w-]+)\s+\w+ra\b"),
    "en": re.compile(r"\b((?:Mr|Mrs|Ms|Dr)\.?\s+[A-Z][\w-]+)\s+will\b"),
}
_MONTHS = (
    "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    "|january|february|march|april|may|june|july|august|september|october|november|december"
)
_DUE = re.compile(
    rf"\b(?:avant le|d'ici le|pour le|au plus tard le|by|before)\s+((?:the\s+)?\d{{1,2}}"
    rf"(?:er|st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?)",
    re.IGNORECASE,
)
# A sentence ends at . ! or ?, except after a title ("M. Durand", "Mr. Smith").
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\bM\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bMrs\.)\s+")
_TRANSCRIPT_LINE = re.compile(r"^\[(?P<at>\d{2}:\d{2}:\d{2})\] (?P<speaker>.+?) : (?P<text>.*)$")

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


def cues(lines: list[str], language: str) -> dict[str, list]:
    """Decisions and actions found by their wording in transcript lines
    ("[hh:mm:ss] Speaker : text"), sentence by sentence, kept verbatim. An action's owner is
    the speaker when they commit themselves ("je préparerai…"), else the person named."""
    found: dict[str, list] = {"topics": [], "decisions": [], "actions": [], "questions": []}
    language = language if language in _DECISION else "en"
    for line in lines:
        match = _TRANSCRIPT_LINE.match(line)
        if not match:
            continue
        at = clock_seconds(match["at"])
        for sentence in _SENTENCE_END.split(match["text"].strip()):
            if sentence.endswith("?"):
                continue  # a question commits no one
            due = _DUE.search(sentence)
            named = _ACTION_NAMED[language].search(sentence)
            if _DECISION[language].search(sentence):
                found["decisions"].append({"text": sentence, "at": at})
            elif named or _ACTION_SELF[language].search(sentence):
                found["actions"].append(
                    {
                        "text": sentence,
                        "owner": named[1] if named else match["speaker"],
                        "due": due[1] if due else None,
                        "at": at,
                    }
                )
    return found


def parse(text: str, fallback_at: float, speakers: tuple[str, ...] = ()) -> dict[str, list]:
    """The model's lines as structured items; a missing timestamp takes the window's start.
    Small models often copy the transcript line, speaker included ("Mme Martin : …"): a
    known speaker's name is taken off the text and, for an action without one, becomes its
    owner."""
    found: dict[str, list] = {"topics": [], "decisions": [], "actions": [], "questions": []}
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        kind = match["kind"].upper().replace("É", "E")
        body = match["text"].strip()
        speaker = next((s for s in speakers if body.startswith(f"{s} : ")), None)
        if speaker:
            body = body[len(speaker) + 3 :].strip()
        at = clock_seconds(match["at"])
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
                {"text": body, "owner": who[0] or speaker, "due": who[1] or None, "at": at}
            )
    return found


def combine(cued: dict[str, list], model: dict[str, list]) -> dict[str, list]:
    """The cues first, then the model's items, less any decision or action the model drew
    from a line that already gave a cue (the cue's verbatim sentence and kind are kept)."""
    combined = {name: list(items) for name, items in cued.items()}
    taken = {i["at"] for i in cued["decisions"] + cued["actions"]}
    for name, items in model.items():
        if name in ("decisions", "actions"):
            items = [i for i in items if i["at"] not in taken]
        combined[name] += items
    return combined


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
        else resources.files("greffier.meetings").joinpath("minutes.md.j2").read_text("utf-8")
    )
    environment = jinja2.Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True)  # noqa: S701 - Markdown, not HTML
    environment.filters["timestamp"] = lambda s: timestamp(s)[:8] if s is not None else ""
    return environment.from_string(source).render(m=minutes)
