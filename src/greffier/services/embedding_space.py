"""The document index belongs to one embedder: checking it, and re-indexing for another.

A question's vector can only be compared with passages embedded by the same model: another
embedder gives vectors of another length (e5-small 384, EmbeddingGemma 768) or, at the same
length, in another space, where similarities mean nothing. So the index records the
embedder its vectors come from (``embedding_space``), and when the setting
``embedding_model`` names another one, semantic search and ingestion stop with a clear
error until ``greffier reindex`` has embedded every stored chunk again (their
texts are kept, the original files are not needed). Lexical search keeps working meanwhile.

An index without a record (made before the record existed, or new) is adopted by the
configured embedder when it is empty or its vectors have that embedder's length: every
index made before had the default embedder's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from greffier.errors import IndexNeedsReindex
from greffier.models.backends.base import EmbeddingBackend
from greffier.store.interfaces import DocumentIndex

log = logging.getLogger(__name__)
BATCH = 64  # chunks read and embedded at a time while re-indexing


@dataclass(frozen=True)
class Reindexed:
    chunks: int
    model: str
    dimensions: int
    previous: str  # the embedder the vectors came from ('' when none was recorded)


class EmbeddingSpace:
    """Checks that the index and the configured embedder agree; re-indexes when not."""

    def __init__(self, store: DocumentIndex, model_id: str, embedder: EmbeddingBackend):
        self.store = store
        self.model_id = model_id
        self.embedder = embedder
        self._agreed = False  # the configured embedder cannot change while a process runs
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise :class:`IndexNeedsReindex` unless the index's vectors come from the
        configured embedder (an index without a record is adopted when it can be)."""
        if self._agreed:
            return
        with self._lock:
            if self._agreed:
                return
            space = self.store.embedding_space()
            dimensions = self.embedder.dimensions
            if space is not None and space.model == self.model_id:
                self._agreed = space.dimensions == dimensions
            elif not self.store.has_chunks() or (
                space is None and self.store.vector_dimensions() == dimensions
            ):
                self.store.set_embedding_space(self.model_id, dimensions)
                self._agreed = True
            if not self._agreed:
                self._refuse(space.model if space else "", space.dimensions if space else None)

    def _refuse(self, model: str, dimensions: int | None) -> None:
        dimensions = dimensions or self.store.vector_dimensions()
        built = f"'{model}'" if model else "another embedder"
        raise IndexNeedsReindex(
            f"Document search is not available: the document index was built with {built} "
            f"({dimensions} dimensions) and the server is now set to embed with "
            f"'{self.model_id}' ({self.embedder.dimensions} dimensions). An administrator "
            "must re-index the documents.",
            detail="Run `greffier reindex` (it embeds every stored chunk again with "
            "the configured embedder), or set embedding_model back to the index's embedder.",
        )

    def reindex(self, progress: Callable[[int, int], None] = lambda done, total: None) -> Reindexed:
        """Embed every stored chunk again with the configured embedder and swap the
        vectors in at once (searches go on with the old vectors until then). Chunks added
        meanwhile make it fail: run it again."""
        previous = self.store.embedding_space()
        total = self.store.counts()["chunks"]
        vectors: list[tuple[int, np.ndarray]] = []
        after = 0
        while batch := self.store.chunk_texts(after, BATCH):
            texts = [f"{heading}\n{text}" if heading else text for _, heading, text in batch]
            embedded = self.embedder.embed(texts, "passage")
            vectors += [(cid, vector) for (cid, _, _), vector in zip(batch, embedded, strict=True)]
            after = batch[-1][0]
            progress(len(vectors), total)
        self.store.replace_vectors(self.model_id, self.embedder.dimensions, vectors)
        with self._lock:
            self._agreed = True
        log.info("Re-indexed %d chunks with %s", len(vectors), self.model_id)
        return Reindexed(
            len(vectors),
            self.model_id,
            self.embedder.dimensions,
            previous.model if previous else "",
        )
