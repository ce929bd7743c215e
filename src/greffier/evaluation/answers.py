"""Measures of one grounded answer against its reference (pure functions).

- Correctness: token F1 and ROUGE-L (F-measure of the longest common subsequence) over
  accent-folded lower-case words; an answer that lacks a number or date of the reference
  counts as wrong (both scores 0), since "le 14 mars" for "le 4 mars" is not a near miss.
- Faithfulness: the share of the answer's numbers, dates and content words that occur in
  the passages given with it; an answer that states a number no passage holds, or whose
  share is below ``FAITHFUL``, is flagged.
- Abstention: the answer is Greffier's "nothing found" reply, or says in so many words
  that the sources do not answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from greffier.documents.analysis import terms
from greffier.documents.attribution import numbers

FAITHFUL = 0.6
_WORD = re.compile(r"\w+")
_MARKER = re.compile(r"\[\d+\]")
_REFUSAL = re.compile(
    r"aucun passage|ne (?:contien\w*|mentionn\w*|précis\w*|fourni\w*|donn\w*|permett\w*)"
    r"(?: \w+)? pas|pas d'information|aucune information|je ne (?:sais|trouve|peux) pas|"
    r"n'(?:indiqu|évoqu|aborde|apport)\w* pas|found no passage|do(?:es)? not "
    r"(?:contain|mention|say|provide)|no information|cannot (?:find|answer)",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    """Lower-case, accent-folded words, [n] markers left out."""
    folded = unicodedata.normalize("NFD", _MARKER.sub(" ", text).lower())
    return _WORD.findall("".join(c for c in folded if not unicodedata.combining(c)))


def numbers_kept(answer: str, reference: str) -> bool:
    """Every number and date of the reference occurs in the answer."""
    return numbers(reference) <= numbers(answer)


def token_f1(answer: str, reference: str) -> float:
    a, r = words(answer), words(reference)
    common = sum((Counter(a) & Counter(r)).values())
    if not a or not r or not common:
        return 0.0
    precision, recall = common / len(a), common / len(r)
    return 2 * precision * recall / (precision + recall)


def rouge_l(answer: str, reference: str) -> float:
    a, r = words(answer), words(reference)
    if not a or not r:
        return 0.0
    previous = [0] * (len(r) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(r, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[-1]))
        previous = current
    lcs = previous[-1]
    if not lcs:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def correctness(answer: str, reference: str) -> tuple[float, float]:
    """(token F1, ROUGE-L), both 0 when a number or date of the reference is missing."""
    if not numbers_kept(answer, reference):
        return 0.0, 0.0
    return token_f1(answer, reference), rouge_l(answer, reference)


def faithfulness(answer: str, passages: Sequence[str]) -> tuple[float, bool]:
    """(share of the answer's numbers, dates and content words found in the passages,
    flagged): flagged when a number of the answer is in no passage or the share is low."""
    units_numbers = numbers(_MARKER.sub(" ", answer))
    units_words = {t for t in terms(_MARKER.sub(" ", answer)) if not t.isdigit()}
    held_numbers = set().union(*(numbers(p) for p in passages)) if passages else set()
    held_words = set().union(*(set(terms(p)) for p in passages)) if passages else set()
    total = len(units_numbers) + len(units_words)
    if not total:
        return 1.0, False
    found = len(units_numbers & held_numbers) + len(units_words & held_words)
    share = found / total
    return share, share < FAITHFUL or not units_numbers <= held_numbers


def abstained(answer: str, nothing_found: Sequence[str]) -> bool:
    """Greffier's own "nothing found" reply, or the model saying the sources do not tell."""
    text = answer.strip()
    return any(text == n for n in nothing_found) or bool(_REFUSAL.search(text))
