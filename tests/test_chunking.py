"""Chunking: offsets that point back into the text, budgets, headings, pages, overlap."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from greffier.documents.chunking import chunk_blocks, document_text
from greffier.documents.parsers import Block


def words(text: str) -> int:  # a stand-in tokenizer: one token per word, exact and fast
    return len(text.split())


def test_worked_example():
    blocks = [
        Block("Budget", "heading", level=1),
        Block("Investissements", "heading", level=2),
        Block("Un. Deux. Trois.", "paragraph"),
        Block("Fonctionnement", "heading", level=2),
        Block("Quatre cinq.", "paragraph"),
    ]
    chunks = chunk_blocks(blocks, words, max_tokens=10)
    assert [(c.heading, c.text) for c in chunks] == [
        ("Budget > Investissements", "Un. Deux. Trois."),
        ("Budget > Fonctionnement", "Quatre cinq."),
    ]


def test_pages_are_never_mixed():
    blocks = [Block("page un", "paragraph", page=1), Block("page deux", "paragraph", page=2)]
    assert [c.page for c in chunk_blocks(blocks, words, max_tokens=50)] == [1, 2]


def test_long_paragraph_is_cut_at_sentences_with_overlap():
    sentences = [f"Phrase numéro {i} du rapport." for i in range(40)]
    blocks = [Block(" ".join(sentences), "paragraph")]
    chunks = chunk_blocks(blocks, words, max_tokens=30, overlap_tokens=10)
    assert len(chunks) > 4
    for before, after in itertools.pairwise(chunks):
        assert after.char_start < before.char_end  # the next one repeats the end of this one
        assert after.text.startswith("Phrase numéro")


paragraphs = st.lists(
    st.text(alphabet=st.sampled_from("abcdé .,;!?"), min_size=1, max_size=300)
    .map(str.strip)
    .filter(bool),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(paragraphs, st.integers(min_value=5, max_value=60), st.integers(min_value=0, max_value=8))
def test_offsets_budget_and_coverage(texts, budget, overlap):
    blocks = [Block(t, "paragraph", page=i // 4 + 1) for i, t in enumerate(texts)]
    full = document_text(blocks)
    chunks = chunk_blocks(blocks, words, max_tokens=budget, overlap_tokens=overlap)
    covered = set()
    for c in chunks:
        assert full[c.char_start : c.char_end] == c.text  # offsets point at the text
        assert c.tokens == words(c.text)
        assert c.tokens <= budget or len(c.text.split()) == 1  # one over-long word stays whole
        covered.update(range(c.char_start, c.char_end))
    every_word = {i for i, ch in enumerate(full) if not ch.isspace()}
    assert every_word <= covered  # nothing of the document is lost
