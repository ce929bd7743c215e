"""OpenAI-compatible embeddings with any catalogue embedder: inputs checked against the
model's limits before anything is computed.

Clients written for OpenAI work unchanged:

- OpenAI's embedding model names (``text-embedding-3-small``…) mean the configured
  embedder, as ``whisper-1`` means the configured speech model;
- inputs may be token ids instead of text (LangChain's ``OpenAIEmbeddings`` sends them by
  default). They are ids of the tokenizer the client used: cl100k, which OpenAI's
  embedding models use and which clients fall back to for a model name they do not know.
  They are decoded to text here, then embedded by the model as any text;
- ``dimensions`` is honoured only by a model trained to be shortened (Matryoshka
  training); any other size than the model's own is refused, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from greffier.errors import InvalidRequest, ModelFileError, Unsupported
from greffier.models.registry import ModelRegistry

MAX_INPUTS = 2048
OPENAI_ALIASES = ("text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002")
CLIENT_ENCODING = "cl100k_base"

TokenIds = list[int]


@dataclass(frozen=True)
class Embedded:
    vectors: list[np.ndarray]
    tokens: list[int]  # per input, in the model's own tokenizer


class EmbeddingService:
    def __init__(self, registry: ModelRegistry, default_model: str, tokenizers_dir: Path):
        self.registry = registry
        self.default_model = default_model
        self.tokenizers_dir = tokenizers_dir
        self._client_tokenizer = None

    def model_id(self, model: str | None) -> str:
        """The catalogue id a request's model name means."""
        return self.default_model if model in (None, *OPENAI_ALIASES) else model

    def _decoded(self, inputs: list[TokenIds]) -> list[str]:
        """Text of token-id inputs, read with the tokenizer OpenAI clients use."""
        if self._client_tokenizer is None:
            from greffier.tokens.tokenizers import offline_encoding

            try:
                self._client_tokenizer = offline_encoding(CLIENT_ENCODING, self.tokenizers_dir)
            except ImportError:
                self._client_tokenizer = None
            if self._client_tokenizer is None:
                raise ModelFileError(
                    "Token-id inputs cannot be read on this server: send text.",
                    code="tokenizer_unavailable",
                )
        size = self._client_tokenizer.vocab_size
        texts = []
        for i, ids in enumerate(inputs):
            bad = next((t for t in ids if not 0 <= t < size), None)
            text = None
            if bad is None:
                try:
                    text = self._client_tokenizer.decode(ids)
                except KeyError:  # ids in range that name no token (cl100k has gaps)
                    bad = next(t for t in ids if not self._decodable(t))
            if text is None:
                raise InvalidRequest(
                    f"Input {i} holds token id {bad}, which is no token of the "
                    f"{CLIENT_ENCODING} vocabulary (0..{size - 1}) that token-id inputs are "
                    "read with.",
                    param="input",
                    code="invalid_token",
                )
            texts.append(text)
        return texts

    def _decodable(self, token: int) -> bool:
        try:
            self._client_tokenizer.decode([token])
        except KeyError:
            return False
        return True

    def embed(
        self,
        model: str | None,
        inputs: list[str] | list[TokenIds],
        input_type: str = "query",
        dimensions: int | None = None,
    ) -> Embedded:
        """Blocking. ``input_type``: e5-like models embed queries and passages differently.
        ``inputs``: texts, or token-id lists (see the module's docstring)."""
        model = self.model_id(model)
        if not inputs or any(len(t) == 0 for t in inputs):
            raise Unsupported(
                "'input' must be a non-empty string or list of non-empty strings or token arrays.",
                param="input",
            )
        if len(inputs) > MAX_INPUTS:
            raise Unsupported(f"At most {MAX_INPUTS} inputs per request.", param="input")
        embedder = self.registry.embedding_backend(model)
        self.registry.require_ready(model)
        if dimensions is not None and dimensions != embedder.dimensions:
            raise Unsupported(
                f"Model '{model}' gives vectors of {embedder.dimensions} dimensions and cannot "
                f"shorten them (it was not trained for it): leave 'dimensions' out or set it "
                f"to {embedder.dimensions}.",
                param="dimensions",
                code="unsupported_dimensions",
            )
        texts = [t if isinstance(t, str) else None for t in inputs]
        if any(t is None for t in texts):
            texts = self._decoded([t for t in inputs if not isinstance(t, str)])
        counts = [embedder.count_tokens(t) for t in texts]
        too_long = next((i for i, n in enumerate(counts) if n > embedder.max_tokens), None)
        if too_long is not None:
            raise Unsupported(
                f"Input {too_long} has {counts[too_long]} tokens; model '{model}' takes at "
                f"most {embedder.max_tokens}.",
                param="input",
                code="context_length_exceeded",
            )
        return Embedded(list(embedder.embed(texts, input_type)), counts)
