"""Supervised fine-tuning data: chat JSONL read and checked, each conversation tokenized
with the base model's own chat template, loss on the last assistant turn only.

Only the answer is learnt: the prompt tokens get the label -100 (ignored by the loss), so
the adapter learns what to say, not to repeat questions. A conversation longer than the
budget loses its oldest tokens, never its answer's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from greffier.errors import InvalidRequest
from greffier.models.files import sha256_file

ROLES = ("system", "user", "assistant")
IGNORED = -100  # the label PyTorch's cross-entropy skips


@dataclass(frozen=True)
class Conversation:
    line: int
    messages: list[dict]


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]  # IGNORED on prompt tokens

    @property
    def learnt(self) -> int:
        return sum(1 for label in self.labels if label != IGNORED)


@dataclass(frozen=True)
class DatasetInfo:
    """What the model card says about the data: the file, its digest, its card if any."""

    path: Path
    sha256: str
    examples: int
    card: Path | None
    card_sha256: str
    card_counts: dict


def _bad(path: Path, line: int, what: str) -> InvalidRequest:
    return InvalidRequest(f"{path.name}, line {line}: {what}", param="data")


def read_conversations(path: Path) -> list[Conversation]:
    """Each line one ``{"messages": [{"role", "content"}, ...]}`` ending with an answer."""
    conversations = []
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except ValueError as exc:
                raise _bad(path, number, f"not JSON ({exc.args[0]}).") from None
            messages = item.get("messages") if isinstance(item, dict) else None
            if not isinstance(messages, list) or not messages:
                raise _bad(path, number, 'expected an object with a list "messages".')
            for message in messages:
                if (
                    not isinstance(message, dict)
                    or message.get("role") not in ROLES
                    or not isinstance(message.get("content"), str)
                ):
                    raise _bad(
                        path, number, f"each message needs a role among {ROLES} and a text content."
                    )
            if messages[-1]["role"] != "assistant":
                raise _bad(path, number, "the last message must be the assistant's answer.")
            conversations.append(Conversation(number, [dict(m) for m in messages]))
    if not conversations:
        raise InvalidRequest(f"{path.name} holds no conversation.", param="data")
    return conversations


def encode(tokenizer, conversation: Conversation, max_length: int) -> Encoded:
    messages = conversation.messages
    prompt = tokenizer.apply_chat_template(
        messages[:-1], tokenize=True, add_generation_prompt=True, return_dict=False
    )
    full = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)
    prompt, full = list(_ids(prompt)), list(_ids(full))
    if full[: len(prompt)] != prompt:  # a template that rewrites earlier turns
        raise InvalidRequest(
            f"Line {conversation.line}: the chat template does not extend the prompt with "
            "the answer; this base model cannot be fine-tuned this way.",
            param="data",
        )
    labels = [IGNORED] * len(prompt) + full[len(prompt) :]
    if len(full) > max_length:
        full, labels = full[-max_length:], labels[-max_length:]
    if sum(1 for label in labels[1:] if label != IGNORED) == 0:
        raise InvalidRequest(f"Line {conversation.line}: the answer is empty.", param="data")
    return Encoded(full, labels)


def _ids(value) -> list[int]:
    """Token ids, whatever shape this transformers version returns them in."""
    if isinstance(value, dict) or hasattr(value, "keys"):
        value = value["input_ids"]
    if value and isinstance(value[0], list):
        value = value[0]
    return [int(i) for i in value]


def describe(path: Path, examples: int) -> DatasetInfo:
    """The data file's digest and, when ``greffier dataset build`` left one beside it, its
    card (card.json, else DATASET.md) with its counts."""
    card = next(
        (p for p in (path.parent / "card.json", path.parent / "DATASET.md") if p.is_file()), None
    )
    counts: dict = {}
    if card is not None and card.suffix == ".json":
        try:
            document = json.loads(card.read_text(encoding="utf-8"))
            counts = document.get("counts", {}) if isinstance(document, dict) else {}
        except ValueError:
            counts = {}
    return DatasetInfo(
        path=path,
        sha256=sha256_file(path),
        examples=examples,
        card=card,
        card_sha256=sha256_file(card) if card else "",
        card_counts=counts if isinstance(counts, dict) else {},
    )
