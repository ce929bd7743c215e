"""Search over chunks: lexical (BM25 on French stems), semantic (e5 vectors) or hybrid.

Hybrid ranking is reciprocal rank fusion: each chunk scores Σ 1 / (k + rank) over the
lists it appears in, with k = 60. It needs no score calibration between BM25 and cosine,
which matters here because e5 similarities sit close together (an absolute threshold on
them means nothing). The caller passes the collections the person may read; the store
applies them inside each query, before ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from greffier.models.backends.base import EmbeddingBackend
from greffier.services.access import AccessService
from greffier.services.audit import AuditService, resources_of
from greffier.services.embedding_space import EmbeddingSpace
from greffier.services.principal import Principal
from greffier.store.interfaces import DocumentIndex
from greffier.store.records import Candidate

Mode = Literal["lexical", "semantic", "hybrid"]
RRF_K = 60


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    document_id: int
    document: str
    collection_id: int
    collection: str
    text: str
    page: int | None
    heading: str
    char_start: int
    char_end: int
    score: float
    lexical_rank: int | None
    semantic_rank: int | None
    meeting_id: int | None = None  # set when the passage is a meeting's transcript
    similarity: float | None = None  # the embedder's question–passage similarity


def fuse(
    lists: Sequence[Sequence[Candidate]],
    weights: Sequence[float] | None = None,
    k: int = RRF_K,
) -> dict[int, float]:
    """Weighted reciprocal rank fusion. With k=60 and equal weights, a chunk ranked 1st in
    one list and absent from the other scores 1/61 ≈ 0.0164; ranked 2nd in both,
    2/62 ≈ 0.0323: agreement wins."""
    scores: dict[int, float] = {}
    for candidates, weight in zip(lists, weights or [1.0] * len(lists), strict=True):
        for c in candidates:
            scores[c.chunk_id] = scores.get(c.chunk_id, 0.0) + weight / (k + c.rank)
    return scores


class SearchService:
    def __init__(
        self,
        store: DocumentIndex,
        embedder: EmbeddingBackend,
        access: AccessService,
        audit: AuditService,
        lexical_weight: float = 0.3,
        space: EmbeddingSpace | None = None,
    ):
        self.space = space
        self.store = store
        self.embedder = embedder
        self.access = access
        self.audit = audit
        # On paraphrased questions the lexical list is the noisier one (measured on the
        # CNIL FAQ set: docs/benchmarks.md), so by default it counts 0.3.
        self.lexical_weight = lexical_weight

    def find(
        self,
        who: Principal,
        query: str,
        collections: list[int] | None = None,
        meetings: list[int] | str | None = None,
        *,
        k: int = 5,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        """A person's search: over the collections and meetings named (or all they may
        read), audited with the documents and meetings it returned."""
        ids = self.access.scope(who, collections, meetings)
        hits = self.search(query, ids, k=k, mode=mode)
        self.audit.record(who, "search", query=query, resources=resources_of(hits))
        return hits

    def search(
        self,
        query: str,
        collection_ids: Sequence[int],
        *,
        k: int = 5,
        mode: Mode = "hybrid",
        depth: int | None = None,
    ) -> list[Hit]:
        """Blocking: embeds the query. ``depth`` candidates are taken from each list."""
        if not collection_ids or not query.strip():
            return []
        depth = depth or max(50, 5 * k)
        lexical: list[Candidate] = []
        semantic: list[Candidate] = []
        if mode in ("lexical", "hybrid"):
            lexical = self.store.lexical(query, collection_ids, depth)
        if mode in ("semantic", "hybrid"):
            if self.space is not None:
                self.space.check()
            vector = self.embedder.embed([query], "query")[0]
            semantic = self.store.semantic(vector, collection_ids, depth)
        if mode == "lexical":
            scores = {c.chunk_id: c.score for c in lexical}
        elif mode == "semantic":
            scores = {c.chunk_id: c.score for c in semantic}
        else:
            scores = fuse([lexical, semantic], [self.lexical_weight, 1.0])
        best = sorted(scores, key=scores.get, reverse=True)[:k]
        found = self.store.chunks_with_documents(best)
        lex_rank = {c.chunk_id: c.rank for c in lexical}
        sem_rank = {c.chunk_id: c.rank for c in semantic}
        similarity = {c.chunk_id: c.score for c in semantic}
        return [
            Hit(
                chunk_id=cid,
                document_id=found[cid].chunk.document_id,
                document=found[cid].document_name,
                collection_id=found[cid].chunk.collection_id,
                collection=found[cid].collection_name,
                text=found[cid].chunk.text,
                page=found[cid].chunk.page,
                heading=found[cid].chunk.heading,
                char_start=found[cid].chunk.char_start,
                char_end=found[cid].chunk.char_end,
                score=scores[cid],
                lexical_rank=lex_rank.get(cid),
                semantic_rank=sem_rank.get(cid),
                meeting_id=found[cid].meeting_id,
                similarity=similarity.get(cid),
            )
            for cid in best
            if cid in found
        ]
