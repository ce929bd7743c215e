"""Token cost per language on parallel text: parity, fertility, characters per token.

For each tokenizer and language, over the same aligned sections:

- parity = tokens(language) / tokens(English) for the same content (1.0 for English;
  1.6 means the language pays 60 % more than English);
- fertility = tokens per word (words are runs of letters and digits);
- characters and UTF-8 bytes per token;
- split share = the share of word occurrences cut into two or more tokens (each distinct
  word is tokenized once, with a leading space as it appears in running text).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass

from greffier.tokens.corpus import ParallelCorpus
from greffier.tokens.tokenizers import Tokenizer

_WORD = re.compile(r"\w+")
MAX_DISTINCT_WORDS = 5000  # the most frequent ones: enough for a stable share


@dataclass(frozen=True)
class LanguageCost:
    tokenizer: str
    language: str
    sections: int
    tokens: int
    words: int
    characters: int
    parity: float
    fertility: float
    characters_per_token: float
    bytes_per_token: float
    split_share: float


def split_share(tokenizer: Tokenizer, texts: list[str]) -> float:
    counts = Counter(w for t in texts for w in _WORD.findall(t))
    common = counts.most_common(MAX_DISTINCT_WORDS)
    total = sum(n for _, n in common)
    split = sum(n for word, n in common if len(tokenizer.encode(" " + word)) > 1)
    return split / total if total else 0.0


def measure(
    tokenizer: Tokenizer, corpus: ParallelCorpus, reference: str = "en"
) -> list[LanguageCost]:
    totals: dict[str, dict[str, int]] = {}
    for language in corpus.languages:
        texts = corpus.texts(language)
        joined = "\n\n".join(texts)
        totals[language] = {
            "tokens": sum(len(tokenizer.encode(t)) for t in texts),
            "words": len(_WORD.findall(joined)),
            "characters": len(joined),
            "bytes": len(joined.encode("utf-8")),
            "share": split_share(tokenizer, texts),
        }
    base = totals.get(reference, {}).get("tokens") or 0
    return [
        LanguageCost(
            tokenizer=tokenizer.name,
            language=language,
            sections=len(corpus.sections),
            tokens=t["tokens"],
            words=t["words"],
            characters=t["characters"],
            parity=t["tokens"] / base if base else float("nan"),
            fertility=t["tokens"] / max(1, t["words"]),
            characters_per_token=t["characters"] / max(1, t["tokens"]),
            bytes_per_token=t["bytes"] / max(1, t["tokens"]),
            split_share=t["share"],
        )
        for language, t in totals.items()
    ]


def as_dicts(costs: list[LanguageCost]) -> list[dict]:
    return [asdict(c) for c in costs]
