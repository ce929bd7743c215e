"""Embedders packaged as a sentence-transformers folder (EmbeddingGemma-300M), on PyTorch.

The folder is loaded from disk only: the Hugging Face libraries are told they are offline
before they are imported, so nothing is looked up on a model hub, even for a file the
folder lacks (that fails instead). Questions and passages get the model's own task prompts
(``query`` / ``document`` in its ``config_sentence_transformers.json``), as e5 gets
``query:`` / ``passage:``: retrieval embedders are trained with them and rank worse
without.
"""

from __future__ import annotations

import threading
from typing import Literal

import numpy as np

from greffier.errors import ModelFileError
from greffier.models import files
from greffier.models.backends.base import EmbeddingBackend

BATCH = 16


class SentenceTransformersBackend(EmbeddingBackend):
    runtime_modules = ("sentence_transformers", "torch")
    location = "in-process"
    dimensions = 768
    max_tokens = 2048

    _model = None

    def __init__(self, entry, settings):
        super().__init__(entry, settings)
        self.max_tokens = entry.context_length
        self._lock = threading.Lock()  # PyTorch already uses every core for one batch

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            folder = files.verify_folder(self.settings.models_dir, self.entry).parent
            files.hub_offline()
            try:
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ModelFileError(
                    f"The embedder '{self.entry.id}' is not ready on this server: an "
                    "administrator must install its runtime.",
                    detail="It runs on sentence-transformers and PyTorch: "
                    "`pip install 'greffier[embedding-gemma]'`.",
                ) from None
            if self.settings.threads:
                torch.set_num_threads(self.settings.threads)
            model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            dimension = getattr(model, "get_embedding_dimension", None) or (
                model.get_sentence_embedding_dimension  # before sentence-transformers 6.1
            )
            found = dimension()
            if found != self.dimensions:
                raise ModelFileError(
                    f"The embedder '{self.entry.id}' gives vectors of {found} dimensions, its "
                    f"catalogue entry says {self.dimensions}: fix the entry."
                )
            self.max_tokens = min(self.max_tokens, model.max_seq_length)
            self._model = model
            self.stats.loaded = True

    def close(self) -> None:
        with self._lock:
            self._model = None
            self.stats.loaded = False

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])

    def embed(self, texts: list[str], kind: Literal["query", "passage"]) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encode = self._model.encode_query if kind == "query" else self._model.encode_document
        with self._lock:
            self.stats.active += 1
            try:
                vectors = encode(
                    texts,
                    batch_size=BATCH,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            finally:
                self.stats.active -= 1
        self.stats.completed += 1
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimensions)
