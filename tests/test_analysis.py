"""French analysis for lexical search, rank fusion, retrieval metrics."""

from __future__ import annotations

import math

from greffier.documents.analysis import guess_language, terms
from greffier.services.evaluation import document_rank, score
from greffier.services.search import fuse
from greffier.store.documents import Candidate


def test_stems_and_accents_meet():
    assert terms("Délibérations") == terms("délibéré") == terms("deliberation")
    assert terms("Les élus de la commune") == ["elus", "commun"]
    assert terms("l'autorité") == terms("autorités")


def test_terms_cannot_carry_fts_syntax():
    # The store quotes each term; terms are word characters only, so no operator survives.
    assert terms('budget" OR * NEAR(x) "') == ["budget", "near"]
    assert terms("le la les de") == []


def test_language_guess():
    assert guess_language("Quelle est la capitale de la France ?") == "fr"
    assert guess_language("What is the capital of France?") == "en"
    assert guess_language("Où se réunit le conseil") == "fr"


def test_rrf_worked_example():
    # A: 1st lexically, absent semantically; B: 2nd in both. Agreement wins.
    lexical = [Candidate(1, 1, 9.0), Candidate(2, 2, 8.0)]
    semantic = [Candidate(2, 2, 0.9), Candidate(3, 1, 0.95)]
    scores = fuse([lexical, semantic], k=60)
    assert math.isclose(scores[1], 1 / 61)
    assert math.isclose(scores[2], 2 / 62)
    assert max(scores, key=scores.get) == 2


def test_metrics_by_hand():
    assert document_rank(["a", "a", "b", "c"], "b") == 2  # a document counts once
    assert document_rank(["a"], "z") is None
    report = score([1, 3, None, 10], [0.01, 0.02, 0.03, 0.04], "hybrid")
    assert report.hit_at_1 == 0.25 and report.hit_at_5 == 0.5
    assert math.isclose(report.mrr, (1 + 1 / 3 + 1 / 10) / 4)
    assert math.isclose(report.ndcg_at_10, (1 + 1 / math.log2(4) + 1 / math.log2(11)) / 4)
    assert report.p95_ms == 40.0
