"""A data set as one ZIP file to share, and back.

Export checks the directory against its card first (a damaged data set is not passed on).
Import trusts nothing in the archive: a member must be the card, or a file the card lists,
with a plain name (no folder, no ``..``), of the size the card says; every checksum must
match; otherwise nothing is written.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from greffier.datasets.card import CARD, DatasetCard, problems, sha256_of
from greffier.errors import DatasetRefused

MAX_CARD_BYTES = 1_000_000
# Folders a data set may hold (the passages of the held-out questions).
FOLDERS = ("heldout-documents/",)


def _plain(name: str) -> bool:
    rest = next((name[len(f) :] for f in FOLDERS if name.startswith(f)), name)
    return bool(rest) and "/" not in rest and "\\" not in rest and rest not in (".", "..")


def export(directory: Path, target: Path) -> str:
    """Write the archive; the card's SHA-256 (to give the receiver by another channel)."""
    card_path = directory / CARD
    if not card_path.is_file():
        raise DatasetRefused(f"{directory} has no {CARD}: build the data set first.")
    card = DatasetCard.from_json(card_path.read_text(encoding="utf-8"))
    wrong = problems(directory, card)
    if wrong:
        raise DatasetRefused(f"{directory} does not match its card: " + "; ".join(wrong))
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(card_path, CARD)
        for name in sorted(card.files):
            archive.write(directory / name, name)
    return sha256_of(card_path.read_bytes())


def load(source: Path, target: Path, card_sha256: str | None = None) -> DatasetCard:
    """Check the archive against its card (and the card against ``card_sha256`` when
    given), then unpack it into ``target`` (new or empty)."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetRefused(f"{source.name} is not a ZIP archive ({exc}).") from None
    with archive:
        members = {i.filename: i for i in archive.infolist() if not i.is_dir()}
        info = members.get(CARD)
        if info is None or info.file_size > MAX_CARD_BYTES:
            raise DatasetRefused(f"{source.name} has no {CARD}: not a Greffier data set.")
        raw = archive.read(CARD)
        if card_sha256 and sha256_of(raw) != card_sha256.lower():
            raise DatasetRefused(f"The card of {source.name} is not the one announced.")
        try:
            card = DatasetCard.from_json(raw.decode("utf-8"))
        except (ValueError, TypeError, KeyError) as exc:
            raise DatasetRefused(f"The card of {source.name} cannot be read ({exc}).") from None
        unexpected = sorted(set(members) - set(card.files) - {CARD})
        if unexpected:
            raise DatasetRefused(f"{source.name} holds files its card does not list: {unexpected}")
        contents = {}
        for name, expected in card.files.items():
            if not _plain(name):
                raise DatasetRefused(f"{source.name}: the card names a file outside the data set.")
            member = members.get(name)
            if member is None:
                raise DatasetRefused(f"{source.name}: {name} is missing.")
            if member.file_size != expected.bytes:
                raise DatasetRefused(f"{source.name}: {name} is not the size its card says.")
            with archive.open(member) as f:
                data = f.read(expected.bytes + 1)
            if len(data) != expected.bytes or sha256_of(data) != expected.sha256:
                raise DatasetRefused(
                    f"{source.name}: {name} does not match its card's SHA-256 (damaged or "
                    "altered); nothing was imported."
                )
            contents[name] = data
    if target.exists() and any(target.iterdir()):
        raise DatasetRefused(f"{target} is not empty.")
    target.mkdir(parents=True, exist_ok=True)
    (target / CARD).write_bytes(raw)
    for name, data in contents.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return card
