"""OpenAI-compatible embeddings with any catalogue embedder: inputs checked against the
model's limits before anything is computed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from greffier.errors import Unsupported
from greffier.models.registry import ModelRegistry

MAX_INPUTS = 2048


@dataclass(frozen=True)
class Embedded:
    vectors: list[np.ndarray]
    tokens: list[int]  # per input, in the model's own tokenizer


class EmbeddingService:
    def __init__(self, registry: ModelRegistry):
        self.registry = registry

    def embed(self, model: str, texts: list[str], input_type: str = "query") -> Embedded:
        """Blocking. ``input_type``: e5-like models embed queries and passages differently."""
        if not texts or any(not t for t in texts):
            raise Unsupported(
                "'input' must be a non-empty string or list of non-empty strings.", param="input"
            )
        if len(texts) > MAX_INPUTS:
            raise Unsupported(f"At most {MAX_INPUTS} inputs per request.", param="input")
        embedder = self.registry.embedding_backend(model)
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
