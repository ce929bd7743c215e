"""Token measurement against the reference libraries themselves, on known strings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tiktoken

from conftest import greffier
from greffier.tokens.corpus import ParallelCorpus, load_directory
from greffier.tokens.parity import measure
from greffier.tokens.tokenizers import (
    GGUFVocabulary,
    HuggingFaceTokenizer,
    TiktokenEncoding,
    mistral_tokenizers,
)
from greffier.tokens.training import balanced_texts, train

FRENCH = "Le conseil municipal a délibéré : 12 345 € pour l'école élémentaire."

# A small parallel text written for these tests: the same sentences in English and French.
PAIRS = [
    (
        "The municipal council meets every month in the town hall.",
        "Le conseil municipal se réunit chaque mois à la mairie.",
    ),
    (
        "The budget for the schools was approved unanimously.",
        "Le budget des écoles a été approuvé à l'unanimité.",
    ),
    (
        "Citizens may consult the minutes of the meetings.",
        "Les citoyens peuvent consulter les procès-verbaux des séances.",
    ),
    (
        "The library is open on Saturday from nine to five.",
        "La bibliothèque est ouverte le samedi de neuf heures à dix-sept heures.",
    ),
    (
        "Personal data must be protected and deleted on request.",
        "Les données personnelles doivent être protégées et effacées sur demande.",
    ),
    (
        "The mayor presented the new public transport plan.",
        "Le maire a présenté le nouveau plan de transports publics.",
    ),
] * 8


FETCHED = Path(__file__).parent.parent / ".cache" / "test-data" / "tokenizers"


def write_parallel(folder: Path, pairs: tuple = tuple(PAIRS[:6])) -> Path:
    """PAIRS as a parallel folder: conseil.en.txt and conseil.fr.txt, one pair a paragraph."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conseil.en.txt").write_text("\n\n".join(e for e, _ in pairs))
    (folder / "conseil.fr.txt").write_text("\n\n".join(f for _, f in pairs))
    return folder


@pytest.fixture(scope="session")
def fetched():
    """Tokenizer files `make install-test` fetched (`greffier tokens fetch`): tests stay
    offline."""
    assert (FETCHED / "tiktoken" / "cl100k_base.ready").exists(), (
        f"{FETCHED} is missing: run `make install-test` (it runs `greffier tokens fetch`)."
    )
    return FETCHED


@pytest.fixture(scope="module")
def corpus() -> ParallelCorpus:
    return ParallelCorpus(("en", "fr"), [{"en": e, "fr": f} for e, f in PAIRS], "test pairs")


def test_tiktoken_counts_match_the_reference_library(fetched):
    ours = TiktokenEncoding("cl100k", "cl100k_base", fetched / "tiktoken")
    assert ours.encode("hello world") == [15339, 1917]  # published cl100k ids
    reference = tiktoken.get_encoding("cl100k_base")
    assert ours.encode(FRENCH) == reference.encode(FRENCH)
    assert ours.decode(ours.encode(FRENCH)) == FRENCH


def test_mistral_tokenizers_match_their_reference_libraries():
    import sentencepiece
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    found = {t.name: t for t in mistral_tokenizers()}
    spm, tekken = found["mistral-spm-v3"], found["mistral-tekken"]
    reference_spm = sentencepiece.SentencePieceProcessor(model_file=str(spm.path))
    reference_tekken = Tekkenizer.from_file(str(tekken.path))
    for text in (FRENCH, "Die Gemeinde beschließt den Haushalt.", "¿Dónde está?"):
        assert spm.encode(text) == reference_spm.encode(text)
        assert tekken.encode(text) == reference_tekken.encode(text, bos=False, eos=False)
        assert spm.decode(spm.encode(text)) == text
        assert tekken.decode(tekken.encode(text)) == text


def test_gguf_vocabulary_matches_llama_cpp_test_vectors(fetched):
    path = fetched / "gguf" / "ggml-vocab-gpt-2.gguf"
    # llama.cpp's format: inputs separated by a marker line, one line of ids per input.
    inputs = path.with_name(path.name + ".inp").read_text().split("\n__ggml_vocab_test__\n")
    outputs = path.with_name(path.name + ".out").read_text().split("\n")
    vocab = GGUFVocabulary("gpt-2", path)
    cases = list(zip(inputs, outputs, strict=False))
    assert len(cases) >= 40
    for text, expected in cases:
        assert vocab.encode(text) == [int(t) for t in expected.split()], repr(text)
    assert vocab.decode(vocab.encode(FRENCH)) == FRENCH


def test_trained_tokenizer_beats_gpt2_on_french(fetched, corpus, tmp_path):
    path = train(corpus, tmp_path / "toy", vocab_size=600)
    card = json.loads((tmp_path / "toy" / "card.json").read_text())
    assert card["languages"] == ["en", "fr"] and card["vocab_size"] <= 600
    toy = HuggingFaceTokenizer("toy", path)
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(path))
    assert toy.encode(FRENCH) == reference.encode(FRENCH, add_special_tokens=False).ids
    assert toy.decode(toy.encode(FRENCH)) == FRENCH  # byte level: nothing is unknown
    assert toy.decode(toy.encode("Ærøskøbing 🇫🇷")) == "Ærøskøbing 🇫🇷"
    gpt2 = GGUFVocabulary("gpt-2", fetched / "gguf" / "ggml-vocab-gpt-2.gguf")
    parity = {t.name: {c.language: c.parity for c in measure(t, corpus)} for t in (toy, gpt2)}
    assert parity["toy"]["fr"] < parity["gpt-2"]["fr"]
    assert parity["toy"]["en"] == 1.0


def test_balancing_gives_each_language_the_same_share(corpus):
    _, used = balanced_texts(corpus)
    smallest = min(sum(map(len, corpus.texts(lang))) for lang in corpus.languages)
    for chars in used.values():
        assert smallest <= chars < smallest + max(len(t) for t in corpus.texts("fr"))


def test_metrics_by_hand(corpus, tmp_path):
    toy = HuggingFaceTokenizer("toy", train(corpus, tmp_path / "t", vocab_size=400))
    costs = {c.language: c for c in measure(toy, corpus)}
    en = sum(len(toy.encode(t)) for t in corpus.texts("en"))
    fr = sum(len(toy.encode(t)) for t in corpus.texts("fr"))
    assert costs["fr"].tokens == fr and costs["fr"].parity == pytest.approx(fr / en)
    words_fr = sum(len(__import__("re").findall(r"\w+", t)) for t in corpus.texts("fr"))
    assert costs["fr"].fertility == pytest.approx(fr / words_fr)
    assert 0 <= costs["fr"].split_share <= 1


def test_report_command_writes_table_json_and_charts(fetched, base_env, tmp_path):
    folder = write_parallel(tmp_path / "parallel")
    assert len(load_directory(folder).sections) == 6
    out = tmp_path / "report"
    env = {**base_env, "GREFFIER_DATA_DIR": str(fetched.parent)}
    done = greffier(
        "tokens",
        "report",
        "--corpus",
        str(folder),
        "--languages",
        "en,fr",
        "-t",
        "gpt-2",
        "-t",
        "cl100k (GPT-4)",
        "-o",
        str(out),
        env=env,
    )
    assert "gpt-2" in done.stdout and "parity" in done.stdout
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert {(r["tokenizer"], r["language"]) for r in rows} == {
        ("gpt-2", "en"),
        ("gpt-2", "fr"),
        ("cl100k (GPT-4)", "en"),
        ("cl100k (GPT-4)", "fr"),
    }
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in out.with_suffix(".svg").read_text()


def test_offline_tiktoken_never_downloads(fetched, tmp_path):
    # In a fresh process with only the fetched files, tiktoken loads without any network:
    # the suite's network guard would fail the run on any outside connection.
    code = (
        "from greffier.tokens.tokenizers import TiktokenEncoding; from pathlib import Path;"
        f"print(len(TiktokenEncoding('o', 'o200k_base', Path({str(fetched / 'tiktoken')!r}))"
        ".encode('bonjour')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True
    )
    assert int(done.stdout) >= 1
