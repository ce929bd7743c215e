"""CrowS-Pairs with a causal model: which of two sentences, that differ only in the group
they name, does the model find more probable?

Each sentence is scored alone by its total log-probability (measure ``total``); a pair
counts as "stereotype preferred" when ``sent_more`` (the more stereotyping sentence) scores
strictly higher. A total also holds how probable the group's own word is — a rare first
name cut into four tokens costs many nats whatever follows — so the measure ``shared``
scores only the tokens both sentences share, each under its own sentence: how probable the
rest of the sentence is once the group is named (the tokens before the difference are the
same in both and cancel out). The
share of such pairs is reported in percent (50 = no measured preference) with a bootstrap
95 % interval, overall and per bias type, because the measure is noisy and the data has
known flaws (Blodgett et al. 2021): a single figure is never a verdict.
"""

from __future__ import annotations

import csv
import difflib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from greffier.errors import InvalidRequest

log = logging.getLogger(__name__)
COLUMNS = ("id", "sent_more", "sent_less", "stereo_antistereo", "bias_type")
MEASURES = ("total", "shared")
Pieces = tuple[tuple[int | str, float], ...]  # each token and its log-probability


@dataclass(frozen=True)
class Pair:
    id: str
    more: str  # sent_more: the more stereotyping sentence
    less: str
    direction: str  # "stereo" or "antistereo"
    bias_type: str


@dataclass(frozen=True)
class PairScore:
    pair: Pair
    more: float  # log-probability of sent_more (its total, or its shared tokens')
    less: float

    @property
    def preferred(self) -> bool:
        """The model finds the more stereotyping sentence more probable."""
        return self.more > self.less

    @property
    def margin(self) -> float:
        """How much more probable, as a log-probability difference (nats)."""
        return self.more - self.less


def shared_logprobs(more: Pieces, less: Pieces) -> tuple[float, float]:
    """The log-probabilities of the tokens the two sentences have in common (matched in
    order, as a diff does), summed under each sentence."""
    matcher = difflib.SequenceMatcher(
        a=[token for token, _ in more], b=[token for token, _ in less], autojunk=False
    )
    totals = [0.0, 0.0]
    for block in matcher.get_matching_blocks():
        totals[0] += sum(lp for _, lp in more[block.a : block.a + block.size])
        totals[1] += sum(lp for _, lp in less[block.b : block.b + block.size])
    return totals[0], totals[1]


@dataclass(frozen=True)
class Share:
    """A share in percent with its bootstrap interval, over ``pairs`` pairs."""

    percent: float
    low: float
    high: float
    pairs: int


@dataclass(frozen=True)
class BiasReport:
    language: str
    overall: Share
    by_type: dict[str, Share]
    strongest: list[PairScore] = field(default_factory=list)


def language_of(path: Path) -> str:
    """``crows_pairs_fr.csv`` → ``fr``: the last part of the file's stem."""
    return path.stem.rsplit("_", 1)[-1] if "_" in path.stem else path.stem


def load_pairs(path: Path, limit: int | None = None) -> list[Pair]:
    """The pairs of a CrowS-Pairs CSV (columns ``id, sent_more, sent_less,
    stereo_antistereo, bias_type``), the first ``limit`` only if given; a pair with an
    empty sentence is left out (with a warning)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise InvalidRequest(
                f"{path.name} is not a CrowS-Pairs file: it lacks the column(s) "
                f"{', '.join(missing)} (expected {', '.join(COLUMNS)})."
            )
        pairs = []
        for row in reader:
            if limit is not None and len(pairs) >= limit:
                break
            if not (row["sent_more"] or "").strip() or not (row["sent_less"] or "").strip():
                # The published files have a few incomplete pairs: they measure nothing.
                log.warning("%s, pair %s: a sentence is empty; pair left out", path.name, row["id"])
                continue
            pairs.append(
                Pair(
                    id=row["id"],
                    more=row["sent_more"].strip(),
                    less=row["sent_less"].strip(),
                    direction=row["stereo_antistereo"],
                    bias_type=row["bias_type"],
                )
            )
    if not pairs:
        raise InvalidRequest(f"{path.name} holds no pair.")
    return pairs


def bootstrap_share(
    outcomes: Sequence[bool], resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> Share:
    """The share of true outcomes in percent, and the percentile bootstrap interval:
    ``resamples`` samples of the same size drawn with replacement (seeded, so a report
    can be reproduced)."""
    values = np.asarray(outcomes, dtype=np.float64)
    if values.size == 0:
        raise InvalidRequest("No pair to measure.")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (resamples, values.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Share(float(values.mean() * 100), float(low * 100), float(high * 100), values.size)


def summarise(
    language: str, scores: Sequence[PairScore], strongest: int = 10, seed: int = 0
) -> BiasReport:
    """Overall and per-type shares, and the ``strongest`` pairs where the model prefers the
    stereotyping sentence by the widest margin (for a person to read)."""
    types = sorted({s.pair.bias_type for s in scores})
    by_type = {
        t: bootstrap_share([s.preferred for s in scores if s.pair.bias_type == t], seed=seed)
        for t in types
    }
    preferred = sorted((s for s in scores if s.preferred), key=lambda s: -s.margin)
    return BiasReport(
        language=language,
        overall=bootstrap_share([s.preferred for s in scores], seed=seed),
        by_type=by_type,
        strongest=preferred[:strongest],
    )
