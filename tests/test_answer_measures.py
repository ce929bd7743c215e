"""Grounded-answer measures and sentence-to-passage attachment, on worked examples."""

from __future__ import annotations

import json

import pytest

from greffier.documents.attribution import attach, numbers, sentences
from greffier.errors import InvalidRequest
from greffier.evaluation.answers import (
    abstained,
    correctness,
    faithfulness,
    rouge_l,
    token_f1,
    words,
)
from greffier.services.answer_evaluation import AnswerResult, load_answer_set, summarise

PASSAGES = [
    "La piscine municipale ouvre de 9 h à 19 h du 1er juin au 31 août.",
    "Le conseil municipal vote le budget primitif le 4 mars 2025, en séance publique.",
    "Les inscriptions à la cantine scolaire se font en mairie ou en ligne.",
]


# --- numbers, dates, sentences --------------------------------------------------------------


def test_numbers_and_dates_have_one_spelling():
    assert numbers("1 500 euros, soit 3,5 %") == {"1500", "3.5"}
    assert numbers("le 1er juin") == {"1", "mois:6"} == numbers("le 1 Juin")
    assert numbers("le 14 mars") != numbers("le 4 mars")
    assert numbers("Bonjour.") == set()


def test_sentences_keep_their_markers_and_offsets():
    answer = "La piscine ouvre à 9 h [1]. Elle ferme à 19 h.\nLe budget est voté en mars."
    spans = sentences(answer)
    assert [answer[s:e] for s, e in spans] == [
        "La piscine ouvre à 9 h [1].",
        "Elle ferme à 19 h.",
        "Le budget est voté en mars.",
    ]


# --- attachment ---------------------------------------------------------------------------


def test_each_sentence_is_attached_to_its_passage():
    answer = "Le budget primitif est voté le 4 mars 2025. La piscine municipale ouvre à 9 h. Oui."
    supports = attach(answer, PASSAGES)
    assert [s.citation for s in supports] == [2, 1, None]
    assert [s.supported for s in supports] == [True, True, None]  # "Oui." claims nothing
    assert supports[0].lexical == 1.0 and supports[0].semantic is None
    assert answer[supports[1].start : supports[1].end] == "La piscine municipale ouvre à 9 h."


def test_a_wrong_number_or_date_is_never_supported():
    # Same words as passage 2, another day: no passage holds "14", so none supports it.
    supports = attach("Le budget primitif est voté le 14 mars 2025.", PASSAGES)
    assert supports[0].supported is False and supports[0].citation is None
    assert supports[0].missing_numbers == ("14",)
    # A month that differs is a different date too.
    assert attach("Le budget primitif est voté le 4 avril 2025.", PASSAGES)[0].supported is False


def test_a_sentence_no_passage_says_is_marked_unsupported():
    supports = attach("Le stationnement est gratuit le dimanche en centre-ville.", PASSAGES)
    assert supports[0].supported is False and supports[0].citation is None


def test_the_model_s_marker_is_kept_when_the_passage_supports_it():
    supports = attach("Les inscriptions se font en mairie [3].", PASSAGES)
    assert supports[0].citation == 3 and supports[0].marked
    # A marker naming a passage that does not support the sentence is not followed.
    wrong = attach("Les inscriptions à la cantine se font en mairie [1].", PASSAGES)
    assert wrong[0].citation == 3 and not wrong[0].marked


def test_semantic_similarity_decides_between_passages_and_lowers_the_bar():
    # "piscine" and "ouvre" only: 2 of 5 content words in passage 1 ("horaires",
    # "baignade", "tôt" are not there), below the lexical bar alone…
    answer = "Horaires de baignade : la piscine ouvre tôt."
    assert attach(answer, PASSAGES)[0].supported is False

    def similarity(sents, passages):  # the embedder ranks passage 1 first
        return [[0.91, 0.80, 0.79] for _ in sents]

    with_semantic = attach(answer, PASSAGES, similarity)[0]
    assert with_semantic.supported and with_semantic.citation == 1
    assert with_semantic.semantic == 0.91


# --- correctness, faithfulness, abstention --------------------------------------------------


def test_token_f1_and_rouge_l_worked_examples():
    assert words("L'Été [2], à Paris !") == ["l", "ete", "a", "paris"]
    # answer: le budget est voté en mars (6 words); reference: en mars (2 words)
    # common 2: precision 2/6, recall 2/2 → F1 = 2·(1/3)·1/(1/3+1) = 0.5
    assert token_f1("le budget est voté en mars", "en mars") == pytest.approx(0.5)
    # LCS of "a b c d" and "a c d e" is "a c d" (3): P = R = 3/4 → 0.75
    assert rouge_l("a b c d", "a c d e") == pytest.approx(0.75)
    assert rouge_l("d c b a", "a b c d") == pytest.approx(0.25)
    assert token_f1("rien", "tout") == 0.0


def test_numbers_and_dates_of_the_reference_are_required():
    assert correctness("Le budget est voté le 4 mars.", "le 4 mars")[0] > 0.5
    assert correctness("Le budget est voté le 14 mars.", "le 4 mars") == (0.0, 0.0)
    assert correctness("Le budget est voté en avril, le 4.", "le 4 mars") == (0.0, 0.0)


def test_faithfulness_counts_what_the_passages_say():
    share, flagged = faithfulness("La piscine ouvre à 9 h [1].", PASSAGES)
    assert share == 1.0 and not flagged
    # "piscine", "ouvr", "dimanch", "22": 2 of 4 units found, and 22 is in no passage.
    share, flagged = faithfulness("La piscine ouvre le dimanche à 22 h.", PASSAGES)
    assert share == pytest.approx(0.5) and flagged


def test_abstention():
    nothing = ["Je n'ai trouvé dans les documents consultés aucun passage qui réponde."]
    assert abstained(nothing[0], nothing)
    assert abstained("Les sources ne contiennent pas cette information.", nothing)
    assert abstained("The sources do not mention it.", nothing)
    assert not abstained("La piscine ouvre à 9 h.", nothing)


# --- data sets and the summary --------------------------------------------------------------


def test_answer_sets_in_squad_and_jsonl(tmp_path):
    squad = tmp_path / "set.json"
    squad.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "paragraphs": [
                            {
                                "context": PASSAGES[0],
                                "qas": [
                                    {
                                        "question": "Quand ouvre la piscine ?",
                                        "answers": [{"text": "9 h", "answer_start": 0}],
                                    }
                                ],
                            }
                        ]
                    }
                ]
            }
        )
    )
    documents, items = load_answer_set(squad)
    assert documents == [("doc-0000-0.txt", PASSAGES[0])]
    assert items[0].reference == "9 h" and items[0].document == "doc-0000-0.txt"
    lines = tmp_path / "set.jsonl"
    lines.write_text(
        '{"question": "Quand ouvre la piscine ?", "answer": "9 h", "document": "piscine.txt"}\n'
        '{"question": "Qui a écrit Carmen ?"}\n'
    )
    documents, items = load_answer_set(lines)
    assert documents == [] and items[0].document == "piscine.txt" and items[1].reference is None
    lines.write_text('{"answer": "9 h"}\n')
    with pytest.raises(InvalidRequest, match="line 1"):
        load_answer_set(lines)


def result(**changes) -> AnswerResult:
    base = dict(
        question="q", reference="r", document="a.txt", answer="x", cited=["a.txt"],
        first_cited=True, any_cited=True, f1=1.0, rouge_l=1.0, faithfulness=1.0,
        unfaithful=False, abstained=False, claims=2, attached=2, attached_gold=2,
        model_markers=False, seconds=1.0, prompt_tokens=100, completion_tokens=20,
        energy_joules=10.0,
    )  # fmt: skip
    return AnswerResult(**{**base, **changes})


def test_summary_of_a_run():
    report = summarise(
        "m",
        [
            result(),
            result(first_cited=False, f1=0.5, rouge_l=0.4, attached=1, attached_gold=0,
                   model_markers=True, seconds=3.0),
            result(reference=None, document=None, abstained=True, claims=0, attached=0,
                   attached_gold=0),
            result(reference=None, document=None, abstained=False, claims=1, attached=0,
                   attached_gold=0),
        ],
    )  # fmt: skip
    assert (report.questions, report.out_of_domain) == (2, 2)
    assert report.first_citation == 0.5 and report.any_citation == 1.0
    assert report.f1 == 0.75 and report.rouge_l == pytest.approx(0.7)
    assert report.abstention == 0.5 and report.false_abstention == 0.0
    assert report.marker_coverage == 3 / 4  # 3 of 4 claim sentences attached
    assert report.marker_precision == 2 / 3  # 2 of the 3 to the gold document
    assert report.model_marker_share == 0.5
    assert report.p50_seconds == 1.0 and report.mean_tokens == 120
