"""The dataset card: what a data set holds and where it comes from (sources, counts,
licence, masking, who curated, when), with the SHA-256 of every file, as ``card.json``
for programs and ``DATASET.md`` for people.

The checksums make damage and tampering of a file visible against its card; the card
itself is vouched for by its own SHA-256, which ``greffier dataset export`` prints so that
it can be given to the receiver by another channel (``dataset import --card-sha256``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

CARD = "card.json"
README = "DATASET.md"


@dataclass
class FileEntry:
    sha256: str
    bytes: int
    lines: int


@dataclass
class DatasetCard:
    name: str
    created_at: str
    greffier_version: str
    licence: str
    sources: dict  # "feedback": {...}, "synthetic": {...}
    counts: dict[str, int]  # examples per file
    masking: dict  # "applied", "detector", "masked" (per kind)
    curators: list[str]
    split: dict  # "heldout" share and "seed"
    files: dict[str, FileEntry] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> DatasetCard:
        data = json.loads(text)
        files = {name: FileEntry(**entry) for name, entry in data.pop("files").items()}
        return cls(**data, files=files)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(data: bytes) -> FileEntry:
    return FileEntry(sha256_of(data), len(data), data.count(b"\n"))


def markdown(card: DatasetCard) -> str:
    """The card for people (every file but this one listed with its checksum)."""
    synthetic = card.sources.get("synthetic")
    feedback = card.sources.get("feedback", {})
    masked = card.masking.get("masked", {})
    lines = [
        f"# Data set: {card.name}",
        "",
        f"Built by Greffier {card.greffier_version} on {card.created_at}. "
        f"Licence: **{card.licence}**.",
        "",
        "## Sources",
        "",
        f"- Curated feedback: {feedback.get('accepted', 0)} accepted items, "
        f"{feedback.get('examples', 0)} examples (a corrected answer is learned and "
        "preferred to the model's; an approved answer is learned as it is).",
    ]
    if synthetic:
        lines.append(
            f'- Synthetic pairs from the collection "{synthetic["collection"]}" written by '
            f"{synthetic['model']}: {synthetic['asked']} passages asked, "
            f"{synthetic['written']} pairs written, {synthetic['kept']} kept (retrieval found "
            f"the source passage again in the top {synthetic['k']})."
        )
    lines += [
        "",
        "## Curation",
        "",
        "Accepted by: "
        + (", ".join(card.curators) if card.curators else "nobody (no feedback)")
        + ".",
        "",
        "## Personal data",
        "",
        f"French personal identifiers masked with {card.masking.get('detector', '')}: "
        + (", ".join(f"{kind} {n}" for kind, n in sorted(masked.items())) or "none found")
        + ".",
        "",
        "## Files",
        "",
        "| file | examples | bytes | SHA-256 |",
        "|---|---:|---:|---|",
    ]
    for name, f in sorted(card.files.items()):
        if name != README:
            lines.append(
                f"| `{name}` | {card.counts.get(name, f.lines)} | {f.bytes} | `{f.sha256}` |"
            )
    if card.split.get("heldout"):
        lines += [
            "",
            f"Held out: {card.split['heldout']:.0%} of the examples (seed {card.split['seed']}), "
            "in `sft.heldout.jsonl` and, for `greffier eval answers heldout.answers.jsonl "
            "--documents heldout-documents`, with the passages each answer rests on.",
        ]
    return "\n".join(lines) + "\n"


def write(directory: Path, card: DatasetCard) -> str:
    """Write DATASET.md and card.json (the card lists DATASET.md's checksum too); the
    card's own SHA-256."""
    readme = markdown(card).encode("utf-8")
    (directory / README).write_bytes(readme)
    card.files[README] = entry(readme)
    data = card.to_json().encode("utf-8")
    (directory / CARD).write_bytes(data)
    return sha256_of(data)


def problems(directory: Path, card: DatasetCard) -> list[str]:
    """What does not match the card: files missing, of another size or checksum."""
    found = []
    for name, expected in sorted(card.files.items()):
        path = directory / name
        if not path.is_file():
            found.append(f"{name}: missing")
            continue
        data = path.read_bytes()
        if len(data) != expected.bytes or sha256_of(data) != expected.sha256:
            found.append(f"{name}: SHA-256 does not match the card")
    return found
