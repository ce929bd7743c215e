"""Which passage supports which sentence of an answer, decided after generation.

Small models mostly omit the [n] markers they are asked for, so Greffier does not depend
on them: each sentence of the answer is attached to the passage that supports it, or
marked as supported by none.

- Numbers and dates must match exactly: every number of the sentence (spaces inside
  numbers removed, decimal comma read as a point, "1er" read as 1) and every month name
  must occur in the passage, or the passage cannot support the sentence.
- Lexical match: the share of the sentence's content words (stemmed, accent-folded,
  stop words left out; documents/analysis.py) that occur in the passage.
- Semantic match: the embedder's cosine between sentence and passage, used relative to
  the other passages (its scores sit close together, so no absolute cut-off): it decides
  between passages, and lowers the lexical bar for the passage it ranks first.
- A marker the model wrote ([2]) is kept when that passage passes the same checks.

A sentence is supported when its best eligible passage shares at least ``MIN_LEXICAL``
of its content words, or ``MIN_LEXICAL_SEMANTIC`` when the embedder also ranks that
passage first. A sentence without content words or numbers ("Oui.") claims nothing and
is left unattached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from greffier.documents.analysis import terms

MIN_LEXICAL = 0.5
MIN_LEXICAL_SEMANTIC = 0.34
SEMANTIC_WEIGHT = 0.3

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+(?:\s*\[\d+\])*|\n|$)")
_MARKER = re.compile(r"\[(\d+)\]")
_NUMBER = re.compile(r"\d+(?:[  \u202f]\d{3})*(?:[.,]\d+)?")
_ORDINAL = re.compile(r"\b(\d+)(?:er|ère|e|ème|st|nd|rd|th)\b", re.IGNORECASE)
MONTHS = {
    "janvier": 1, "fevrier": 2, "février": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "aout": 8, "août": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "decembre": 12, "décembre": 12, "january": 1, "february": 2, "march": 3, "april": 4,
    "may": 5, "june": 6, "july": 7, "august": 8, "september": 9, "october": 10,
    "november": 11, "december": 12,
}  # fmt: skip
_MONTH = re.compile(r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b", re.I)


@dataclass(frozen=True)
class SentenceSupport:
    start: int  # character offsets of the sentence in the answer
    end: int
    text: str
    citation: int | None  # the supporting passage's number (1-based), None when none
    supported: bool | None  # None: the sentence claims nothing (no content word, no number)
    marked: bool  # the model itself wrote a marker naming that passage
    lexical: float  # share of the sentence's content words found in the passage
    semantic: float | None  # cosine with the passage, when an embedder was given
    missing_numbers: tuple[str, ...] = ()  # numbers/dates no passage holds


def numbers(text: str) -> set[str]:
    """Numbers and dates of ``text`` in one canonical spelling: '1 500' and '1500' are the
    same number, '3,5' is '3.5', '1er' is '1', a month name is its number ('mois:3')."""
    text = _ORDINAL.sub(r"\1", text)
    found = {
        re.sub(r"[  \u202f]", "", n).replace(",", ".").rstrip(".") for n in _NUMBER.findall(text)
    }
    found |= {f"mois:{MONTHS[m.lower()]}" for m in _MONTH.findall(text)}
    return found


# Words that make a reply but state nothing a passage could support.
_DISCOURSE = frozenset(terms("oui non merci bonjour voici voilà yes no thanks hello here"))


def _words(text: str) -> set[str]:
    """Content words (numbers are checked apart, exactly)."""
    return {t for t in terms(text) if not t.isdigit() and t not in _DISCOURSE}


def sentences(answer: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``answer``, surrounding spaces left out."""
    spans = []
    for match in _SENTENCE.finditer(answer):
        start, end = match.start(), match.end()
        while start < end and answer[start].isspace():
            start += 1
        while end > start and answer[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def attach(
    answer: str,
    passages: Sequence[str],
    similarity: Callable[[list[str], list[str]], list[list[float]]] | None = None,
) -> list[SentenceSupport]:
    """Each sentence of ``answer`` with the passage (1-based) that supports it.

    ``similarity(sentences, passages)`` returns a matrix of cosines (one row per sentence);
    without it, the lexical and numeric checks decide alone.
    """
    spans = sentences(answer)
    if not spans:
        return []
    passage_terms = [_words(p) for p in passages]
    passage_numbers = [numbers(p) for p in passages]
    texts = [_MARKER.sub("", answer[s:e]).strip() for s, e in spans]
    claims = [i for i, t in enumerate(texts) if _words(t) or numbers(t)]
    cosines: dict[int, list[float]] = {}
    if similarity is not None and passages and claims:
        matrix = similarity([texts[i] for i in claims], list(passages))
        cosines = {i: list(row) for i, row in zip(claims, matrix, strict=True)}
    out = []
    for i, (start, end) in enumerate(spans):
        text = answer[start:end]
        if i not in claims:
            out.append(SentenceSupport(start, end, text, None, None, False, 0.0, None))
            continue
        words, wanted = _words(texts[i]), numbers(texts[i])
        markers = {int(m) for m in _MARKER.findall(text)}
        row = cosines.get(i)
        best_semantic = max(range(len(passages)), key=lambda p: row[p]) if row else None
        low, high = (min(row), max(row)) if row else (0.0, 0.0)
        candidates = []
        for p in range(len(passages)):
            if not wanted <= passage_numbers[p]:
                continue
            lexical = len(words & passage_terms[p]) / len(words) if words else 1.0
            relative = (row[p] - low) / (high - low) if row and high > low else 0.0
            bar = MIN_LEXICAL_SEMANTIC if p == best_semantic else MIN_LEXICAL
            combined = lexical + SEMANTIC_WEIGHT * relative + (0.05 if p + 1 in markers else 0)
            candidates.append((lexical >= bar, combined, lexical, p))
        if not candidates:
            held = set().union(*passage_numbers) if passage_numbers else set()
            missing = tuple(sorted(wanted - held)) or tuple(sorted(wanted))
            out.append(SentenceSupport(start, end, text, None, False, False, 0.0, None, missing))
            continue
        passes, _, lexical, p = max(candidates)
        out.append(
            SentenceSupport(
                start,
                end,
                text,
                p + 1 if passes else None,
                passes,
                passes and (p + 1) in markers,
                round(lexical, 3),
                round(row[p], 4) if row else None,
            )
        )
    return out
