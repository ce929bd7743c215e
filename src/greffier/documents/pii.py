"""French personal identifiers in text: find them, count them, mask them.

Candidates are found by pattern, then checked with python-stdnum (NIR control key,
IBAN mod-97, SIREN/SIRET Luhn) or phonenumbers (French numbering plan), so that an
ordinary 9-digit amount is not taken for a SIREN. Each character belongs to at most one
finding: the longer identifiers are looked for first.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import phonenumbers
from stdnum import iban
from stdnum.fr import nir, siren, siret

KINDS = ("nir", "iban", "siret", "siren", "phone", "email")
MASKS = {
    "nir": "[NIR masqué]",
    "iban": "[IBAN masqué]",
    "siret": "[SIRET masqué]",
    "siren": "[SIREN masqué]",
    "phone": "[téléphone masqué]",
    "email": "[courriel masqué]",
}
_SEP = r"[ \u00a0.-]?"
_PATTERNS = {
    # sex, year, month, department (2A/2B for Corsica), commune, order, key
    "nir": re.compile(
        rf"(?<![\dA-Za-z])[12]{_SEP}\d\d{_SEP}\d\d{_SEP}(?:\d\d|2[AB]){_SEP}\d{{3}}{_SEP}"
        rf"\d{{3}}{_SEP}\d\d(?![\d])"
    ),
    "iban": re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d\d(?:[ ]?[A-Z0-9]){11,30}(?![A-Za-z0-9])"),
    "siret": re.compile(rf"(?<![\d])\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{5}}(?![\d])"),
    "siren": re.compile(rf"(?<![\d])\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}(?![\d])"),
    "email": re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
}
_VALID = {
    "nir": nir.is_valid,
    "iban": iban.is_valid,
    "siret": siret.is_valid,
    "siren": siren.is_valid,
    "email": lambda _: True,
}


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    text: str


def find(text: str) -> list[Finding]:
    """Every identifier in ``text``, in order, without overlaps."""
    taken = bytearray(len(text))
    found: list[Finding] = []

    def claim(kind: str, start: int, end: int) -> None:
        if not any(taken[start:end]):
            taken[start:end] = b"\x01" * (end - start)
            found.append(Finding(kind, start, end, text[start:end]))

    for kind in ("nir", "iban", "siret", "siren"):
        for m in _PATTERNS[kind].finditer(text):
            if _VALID[kind](re.sub(r"[ \u00a0.-]", "", m.group())):
                claim(kind, m.start(), m.end())
    for m in phonenumbers.PhoneNumberMatcher(text, "FR", leniency=phonenumbers.Leniency.VALID):
        claim("phone", m.start, m.end)
    for m in _PATTERNS["email"].finditer(text):
        claim("email", m.start(), m.end())
    return sorted(found, key=lambda f: f.start)


def count(text: str) -> dict[str, int]:
    """How many identifiers of each kind (kinds with none left out)."""
    return dict(Counter(f.kind for f in find(text)))


def mask(text: str) -> str:
    """``text`` with every identifier replaced by a label saying what it was."""
    parts, at = [], 0
    for f in find(text):
        parts += [text[at : f.start], MASKS[f.kind]]
        at = f.end
    return "".join(parts) + text[at:]
