"""Examples of an alignment data set and their open formats.

Chat JSONL for supervised fine-tuning (``{"messages": [...]}``, one object a line, the
format TRL, Axolotl and most trainers read) and prompt/chosen/rejected JSONL for
preference tuning (DPO and its kin). An example is a question with the answer to learn
and, when a person said the model's own answer was worse, that answer as the rejected one.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from greffier.documents import pii

SYSTEM_PROMPT = (
    "Tu es l'assistant de l'administration. Réponds en français, avec exactitude et concision."
)


@dataclass(frozen=True)
class Example:
    question: str
    answer: str  # what the model should say
    rejected: str | None  # what it said instead, when a person corrected it
    source: str  # "feedback" or "synthetic"
    origin: str  # the feedback id or the source passage's chunk id
    document: str | None = None  # the document the answer comes from, when known
    passages: tuple[str, ...] = ()  # the passages it rests on


def from_feedback(
    feedback_id: int,
    rating: str,
    question: str,
    answer: str,
    correction: str | None,
    citations: Sequence[dict],
) -> Example | None:
    """An accepted item as an example: a "down" with a correction teaches the correction
    (and prefers it to the model's answer); an "up" teaches the model's own answer; a
    "down" without a correction teaches nothing."""
    document = next((c.get("document") for c in citations if c.get("document")), None)
    passages = tuple(c.get("excerpt", "") for c in citations if c.get("excerpt"))
    if not question.strip():
        return None
    if rating == "down":
        if not correction:
            return None
        return Example(
            question, correction, answer or None, "feedback", str(feedback_id), document, passages
        )
    if not answer.strip():
        return None
    return Example(question, answer, None, "feedback", str(feedback_id), document, passages)


def sft_line(example: Example, system: str | None = SYSTEM_PROMPT) -> dict:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [
        {"role": "user", "content": example.question},
        {"role": "assistant", "content": example.answer},
    ]
    return {"messages": messages}


def preference_line(example: Example) -> dict | None:
    if example.rejected is None or example.rejected.strip() == example.answer.strip():
        return None
    return {"prompt": example.question, "chosen": example.answer, "rejected": example.rejected}


def answers_line(example: Example) -> dict:
    """A line of the JSONL ``greffier eval answers`` reads (question, reference answer,
    the document it comes from)."""
    return {"question": example.question, "answer": example.answer, "document": example.document}


def jsonl(rows: Sequence[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def split(
    examples: Sequence[Example], heldout: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """(train, held out): a seeded shuffle, the held-out share rounded, at least one
    example left to train on."""
    if not 0 <= heldout < 1:
        raise ValueError("the held-out share is from 0 to less than 1")
    order = list(examples)
    random.Random(seed).shuffle(order)
    n = round(len(order) * heldout)
    n = min(n, max(len(order) - 1, 0))
    return order[n:], order[:n]


def masked(example: Example) -> tuple[Example, Counter]:
    """The example with French personal identifiers masked (documents/pii.py) in every
    text it carries, and how many of each kind were masked."""
    counts: Counter = Counter()

    def mask(text: str | None) -> str | None:
        if text is None:
            return None
        counts.update(f.kind for f in pii.find(text))
        return pii.mask(text)

    return (
        replace(
            example,
            question=mask(example.question) or "",
            answer=mask(example.answer) or "",
            rejected=mask(example.rejected),
            passages=tuple(mask(p) or "" for p in example.passages),
        ),
        counts,
    )


# --- synthetic pairs ------------------------------------------------------------------------

QA_SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 8, "maxLength": 300},
        "answer": {"type": "string", "minLength": 1, "maxLength": 600},
    },
    "required": ["question", "answer"],
    "additionalProperties": False,
}

QA_INSTRUCTIONS = (
    "Voici un extrait d'un document administratif. Écris une question précise à laquelle "
    "cet extrait répond, puis la réponse exacte tirée de l'extrait. Réponds en JSON : "
    '{"question": "...", "answer": "..."}.'
)


def qa_messages(passage: str) -> list[tuple[str, str]]:
    """(role, content) messages asking a chat model for one question–answer pair."""
    return [("system", QA_INSTRUCTIONS), ("user", f"Extrait :\n{passage}")]


def parse_qa(text: str) -> tuple[str, str] | None:
    """The model's pair, or None when it wrote something else."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    question, answer = data.get("question"), data.get("answer")
    if not isinstance(question, str) or not isinstance(answer, str):
        return None
    question, answer = question.strip(), answer.strip()
    if len(question) < 8 or not answer:
        return None
    return question, answer
