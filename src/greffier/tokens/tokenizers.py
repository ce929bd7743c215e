"""Tokenizers to measure, behind one small interface, each loaded from local files only.

- the vocabulary of every pulled chat model in the catalogue, read from its GGUF file by
  llama.cpp (``vocab_only``: no weights loaded);
- Mistral's SentencePiece and Tekken tokenizers, from the files of the mistral-common
  package;
- other GGUF vocabularies (llama.cpp ships ``ggml-vocab-*.gguf`` for Llama 3, Qwen 2,
  Gemma, GPT-2…), Hugging Face ``tokenizer.json`` files (including the ones Greffier
  trains) and tiktoken encodings (cl100k, o200k…), found under ``data_dir/tokenizers``
  where ``greffier tokens fetch`` puts them.

Nothing here downloads anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from greffier.models import files
from greffier.models.catalogue import Catalogue, Role


class Tokenizer(Protocol):
    name: str
    family: str  # "gguf", "tiktoken", "huggingface"

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


@dataclass
class GGUFVocabulary:
    name: str
    path: Path
    family: str = "gguf"

    def __post_init__(self):
        from llama_cpp import Llama

        self._llama = Llama(model_path=str(self.path), vocab_only=True, verbose=False)

    def encode(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def decode(self, ids: list[int]) -> str:
        return self._llama.detokenize(ids).decode("utf-8", errors="replace")


@dataclass
class HuggingFaceTokenizer:
    name: str
    path: Path
    family: str = "huggingface"

    def __post_init__(self):
        from tokenizers import Tokenizer as HFTokenizer

        self._tokenizer = HFTokenizer.from_file(str(self.path))

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self._tokenizer.decode(ids, skip_special_tokens=False)


@dataclass
class TiktokenEncoding:
    name: str
    encoding: str  # e.g. "cl100k_base"
    directory: Path  # where the encoding's file lies, named as tiktoken caches it
    family: str = "tiktoken"

    def __post_init__(self):
        import tiktoken

        # tiktoken reads TIKTOKEN_CACHE_DIR before any download; with the file there it
        # never goes online.
        os.environ["TIKTOKEN_CACHE_DIR"] = str(self.directory)
        self._encoding = tiktoken.get_encoding(self.encoding)

    def encode(self, text: str) -> list[int]:
        return self._encoding.encode(text, disallowed_special=())

    def decode(self, ids: list[int]) -> str:
        return self._encoding.decode(ids)

    @property
    def vocab_size(self) -> int:
        return self._encoding.n_vocab


@dataclass
class SentencePieceModel:
    name: str
    path: Path
    family: str = "sentencepiece"

    def __post_init__(self):
        import sentencepiece

        self._model = sentencepiece.SentencePieceProcessor(model_file=str(self.path))

    def encode(self, text: str) -> list[int]:
        return self._model.encode(text)

    def decode(self, ids: list[int]) -> str:
        return self._model.decode(ids)


@dataclass
class TekkenTokenizer:
    """Mistral's tiktoken-based "Tekken" tokenizer, read by mistral-common."""

    name: str
    path: Path
    family: str = "tekken"

    def __post_init__(self):
        from mistral_common.tokens.tokenizers.tekken import Tekkenizer

        self._tokenizer = Tekkenizer.from_file(str(self.path))

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, bos=False, eos=False)

    def decode(self, ids: list[int]) -> str:
        return self._tokenizer.decode(ids)


def mistral_tokenizers() -> list[Tokenizer]:
    """Mistral's SentencePiece (v3, Mistral 7B / Mixtral) and Tekken (Nemo, Small 3)
    tokenizers, from the files the mistral-common package ships, when it is installed."""
    try:
        import mistral_common
    except ImportError:
        return []
    data = Path(mistral_common.__file__).parent / "data"
    found: list[Tokenizer] = []
    spm = data / "mistral_instruct_tokenizer_240323.model.v3"
    if spm.exists():
        found.append(SentencePieceModel("mistral-spm-v3", spm))
    tekken = data / "tekken_240911.json"
    if tekken.exists():
        found.append(TekkenTokenizer("mistral-tekken", tekken))
    return found


# Where an installed litellm package keeps tiktoken's files (named as tiktoken caches them).
LITELLM_TIKTOKEN_DIR = "litellm/litellm_core_utils/tokenizers"


def tiktoken_dirs(tokenizers_dir: Path) -> list[Path]:
    """Folders that may hold tiktoken's encoding files, without any download: the one
    `greffier tokens fetch` fills, then the installed litellm package's own (found from its
    installed files; litellm is never imported, it fetches a price list at import)."""
    found = [tokenizers_dir / "tiktoken"]
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        found.append(Path(str(distribution("litellm").locate_file(LITELLM_TIKTOKEN_DIR))))
    except (PackageNotFoundError, ImportError):
        pass
    return found


def offline_encoding(encoding: str, tokenizers_dir: Path) -> TiktokenEncoding | None:
    """A tiktoken encoding read from a local file (checked by tiktoken against the
    encoding's pinned SHA-256), or None when no file is at hand."""
    from greffier.tokens.fetch import TIKTOKEN_FILES

    for directory in tiktoken_dirs(tokenizers_dir):
        if (directory / TIKTOKEN_FILES[encoding]).is_file():
            return TiktokenEncoding(encoding, encoding, directory)
    return None


TIKTOKEN_NAMES = {
    "cl100k_base": "cl100k (GPT-4)",
    "o200k_base": "o200k (GPT-4o)",
    "p50k_base": "p50k (GPT-3)",
}


def discover(models_dir: Path, tokenizers_dir: Path, catalogue: Catalogue) -> list[Tokenizer]:
    """Every tokenizer available on this machine, catalogue chat models first."""
    found: list[Tokenizer] = []
    for entry in catalogue:
        path = files.model_path(models_dir, entry)
        if entry.role == Role.chat and entry.backend == "llamacpp" and path.is_file():
            found.append(GGUFVocabulary(entry.id, path))
    for path in sorted((tokenizers_dir / "gguf").glob("*.gguf")):
        found.append(GGUFVocabulary(path.stem.removeprefix("ggml-vocab-"), path))
    for path in sorted(tokenizers_dir.glob("*/tokenizer.json")):
        found.append(HuggingFaceTokenizer(path.parent.name, path))
    tiktoken_dir = tokenizers_dir / "tiktoken"
    for encoding, label in TIKTOKEN_NAMES.items():
        if (tiktoken_dir / f"{encoding}.ready").exists():
            found.append(TiktokenEncoding(label, encoding, tiktoken_dir))
    return found + mistral_tokenizers()
