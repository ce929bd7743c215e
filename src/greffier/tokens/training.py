"""Train a European byte-level BPE tokenizer with the Hugging Face `tokenizers` library.

The recipe follows the one described for Lucie-7B's tokenizer: Unicode NFC normalisation,
digits split one by one (numbers tokenize the same way in every language), byte-level
pre-tokenization so that every byte is representable (no unknown token: the byte fallback),
and BPE merges learnt on text balanced across languages — each language contributes the
same number of characters, sampled by whole sections, so English does not dominate.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

from greffier.tokens.corpus import ParallelCorpus

SPECIAL_TOKENS = ["<s>", "</s>", "<pad>", "<unk>"]


def balanced_texts(corpus: ParallelCorpus, seed: int = 0) -> tuple[list[str], dict[str, int]]:
    """The same number of characters per language (that of the smallest), in sections."""
    sizes = {lang: sum(map(len, corpus.texts(lang))) for lang in corpus.languages}
    budget = min(sizes.values())
    rng = random.Random(seed)
    texts, used = [], {}
    for lang in corpus.languages:
        sections = corpus.texts(lang)
        order = list(range(len(sections)))
        rng.shuffle(order)
        taken = 0
        for i in order:
            if taken >= budget:
                break
            texts.append(sections[i])
            taken += len(sections[i])
        used[lang] = taken
    return texts, used


def train(corpus: ParallelCorpus, output: Path, vocab_size: int = 65536, seed: int = 0) -> Path:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    texts, used = balanced_texts(corpus, seed)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    output.mkdir(parents=True, exist_ok=True)
    path = output / "tokenizer.json"
    tokenizer.save(str(path))
    card = {
        "kind": "byte-level BPE (Hugging Face tokenizers)",
        "vocab_size": tokenizer.get_vocab_size(),
        "requested_vocab_size": vocab_size,
        "languages": list(corpus.languages),
        "characters_per_language": used,
        "sections": len(corpus.sections),
        "corpus": corpus.source,
        "settings": {
            "normalizer": "NFC",
            "digits": "split one by one",
            "pre_tokenizer": "byte level",
            "special_tokens": SPECIAL_TOKENS,
            "balance": "same number of characters per language",
            "seed": seed,
        },
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (output / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return path
