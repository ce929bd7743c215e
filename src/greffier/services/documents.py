"""Collections and documents: upload, ingestion (parse → chunk → embed → index), deletion.

Uploaded files are kept under ``data_dir/files`` by content hash, so a job interrupted by a
restart can resume from them. Each document is indexed in one transaction: a crash leaves
its previous version (or nothing), never part of a new one. A bad file is refused with a
reason and the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from greffier.documents import analysis, pii
from greffier.documents.chunking import chunk_blocks
from greffier.documents.parsers import DocumentRefused, parse
from greffier.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    public_message,
)
from greffier.models.backends.base import EmbeddingBackend
from greffier.services.access import SENSITIVITIES, AccessService
from greffier.services.audit import AuditService
from greffier.services.embedding_space import EmbeddingSpace, Reindexed
from greffier.services.jobs import JobQueue
from greffier.services.principal import Principal
from greffier.settings import Settings
from greffier.store.interfaces import DocumentIndex, JobStore
from greffier.store.records import Chunk, ChunkRow, Collection, Document, Job

log = logging.getLogger(__name__)

PII_POLICIES = ("report", "mask")
EMBED_BATCH = 16


@dataclass
class Submission:
    job_id: str | None
    queued: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)  # {"name", "code", "reason"}


@dataclass(frozen=True)
class JobReport:
    job: Job
    documents: list[Document]  # what an ingestion job indexes (none for other kinds)


def _check_choice(value: str, choices: tuple[str, ...], param: str) -> None:
    if value not in choices:
        raise InvalidRequest(
            f"Unknown {param} '{value}': use one of {', '.join(choices)}.", param=param
        )


def clean_name(name: str) -> str:
    """A document name as a relative POSIX path; refuses absolute paths and '..'."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidRequest(
            f"'{name}' is not an acceptable document name: use a relative path without '..'.",
            code="path_outside_folder",
        )
    return str(path)


class DocumentService:
    def __init__(
        self,
        settings: Settings,
        store: DocumentIndex,
        jobs: JobStore,
        queue: JobQueue,
        embedder: EmbeddingBackend,
        access: AccessService,
        audit: AuditService,
        atomic: Callable[[], AbstractContextManager],
        space: EmbeddingSpace | None = None,
    ):
        """``atomic()``: a transaction that the stores' writes inside it join; ``space``:
        the check that the index belongs to ``embedder``."""
        self.space = space or EmbeddingSpace(store, settings.embedding_model, embedder)
        self.settings = settings
        self.store = store
        self.jobs = jobs
        self.queue = queue
        self.embedder = embedder
        self.access = access
        self.audit = audit
        self.atomic = atomic

    # --- collections -------------------------------------------------------------------

    def readable_collection_ids(self, principal: Principal) -> list[int]:
        """Document collections this person may read (services/access.py has the rule)."""
        return self.access.collection_ids(principal)

    def create_collection(
        self,
        principal: Principal,
        name: str,
        description: str = "",
        sensitivity: str = "internal",
        pii_policy: str = "report",
    ) -> Collection:
        _check_choice(sensitivity, SENSITIVITIES, "sensitivity")
        _check_choice(pii_policy, PII_POLICIES, "pii_policy")
        if not name.strip():
            raise InvalidRequest("A collection needs a name.", param="name")
        if self.store.collection_by_name(principal.user_id, name.strip()):
            raise Conflict(
                f"You already have a collection named '{name}'.",
                param="name",
            )
        cid = self.store.create_collection(
            name.strip(), description, principal.user_id, sensitivity, pii_policy
        )
        return self.store.collection(cid)

    def update_collection(self, principal: Principal, collection_id: int, **fields) -> Collection:
        """Change description, sensitivity or pii_policy (needs 'manage'). A new PII policy
        applies to documents indexed from then on; re-upload to re-index older ones."""
        self.collection(principal, collection_id, "manage")
        if fields.get("sensitivity") is not None:
            _check_choice(fields["sensitivity"], SENSITIVITIES, "sensitivity")
        if fields.get("pii_policy") is not None:
            _check_choice(fields["pii_policy"], PII_POLICIES, "pii_policy")
        changes = {k: v for k, v in fields.items() if v is not None}
        if changes:
            self.store.update_collection(collection_id, **changes)
        return self.store.collection(collection_id)

    def ensure_collection(self, principal: Principal, name: str) -> Collection:
        return self.store.collection_by_name(principal.user_id, name) or self.create_collection(
            principal, name
        )

    def collection(
        self, principal: Principal, collection_id: int, level: str = "read"
    ) -> Collection:
        # 404, not 403, for a collection the person may not read: no hint that it exists.
        row = self.store.collection(collection_id)
        if row is None or row.meeting_id is not None:  # a meeting's index: not addressable
            raise NotFound(f"No collection with id {collection_id}.", param="collection_id")
        self.access.require(principal, "collection", collection_id, level)
        if row.owner_id == principal.user_id:
            return row
        return replace(row, accepted=row.id in self.access.accepted(principal, "collection"))

    def collections(self, principal: Principal) -> list[Collection]:
        """Readable collections, each marked ``accepted`` when it is in the person's
        default search scope (their own, or a share they accepted)."""
        accepted = self.access.accepted(principal, "collection")
        return [
            replace(c, accepted=c.owner_id == principal.user_id or c.id in accepted)
            for c in self.store.collections(self.readable_collection_ids(principal))
        ]

    def delete_collection(self, principal: Principal, collection_id: int) -> None:
        row = self.collection(principal, collection_id, "manage")
        self.audit.record(
            principal,
            "collection.delete",
            resources=[{"type": "collection", "id": row.id, "name": row.name}],
        )
        self.remove_collection(collection_id)

    def remove_collection(self, collection_id: int) -> None:
        """Delete a collection with everything derived (callers check access)."""
        for sha in self.store.delete_collection(collection_id):
            self._drop_file(sha)

    # --- documents ---------------------------------------------------------------------

    def documents(self, principal: Principal, collection_id: int) -> list[Document]:
        self.collection(principal, collection_id)
        return self.store.documents(collection_id)

    def document(self, principal: Principal, document_id: int) -> Document:
        """The document if this person may read it (404 otherwise), without an audit row:
        for checks. Reading it is :meth:`read`."""
        row = self.store.document(document_id)
        if row is None or row.collection_id not in self.readable_collection_ids(principal):
            raise NotFound(f"No document with id {document_id}.", param="document_id")
        return row

    def read(self, principal: Principal, document_id: int) -> Document:
        row = self.document(principal, document_id)
        self.audit.record(principal, "document", resources=[_resource(row)])
        return row

    def chunks(self, principal: Principal, document_id: int) -> list[Chunk]:
        """The indexed passages (masked where the collection masks personal data)."""
        row = self.document(principal, document_id)
        self.audit.record(principal, "document.chunks", resources=[_resource(row)])
        return self.store.chunks_of(document_id)

    def original(self, principal: Principal, document_id: int) -> tuple[Document, bytes]:
        """The file as uploaded. Where the collection masks personal data, only people who
        manage it may fetch the unmasked original."""
        row = self.document(principal, document_id)
        collection = self.store.collection(row.collection_id)
        if collection.pii_policy == "mask":
            self.collection(principal, row.collection_id, "manage")
        try:
            data = self.file_path(row.sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"The file of document {document_id} is gone.") from None
        self.audit.record(principal, "document.file", resources=[_resource(row)])
        return row, data

    def delete_document(self, principal: Principal, document_id: int) -> None:
        row = self.document(principal, document_id)
        self.collection(principal, row.collection_id, "write")
        self.audit.record(principal, "document.delete", resources=[_resource(row)])
        sha = self.store.delete_document(document_id)
        if sha:
            self._drop_file(sha)

    def file_path(self, sha: str) -> Path:
        return self.settings.uploads_dir / sha[:2] / sha

    def _drop_file(self, sha: str) -> None:
        if not self.store.sha_in_use(sha):
            self.file_path(sha).unlink(missing_ok=True)

    def submit(
        self, principal: Principal, collection_id: int, files: Sequence[tuple[str, bytes]]
    ) -> Submission:
        """Store the files and queue them for indexing; unchanged files are skipped."""
        collection = self.collection(principal, collection_id, "write")
        self.space.check()
        self.access.check_route(
            collection.sensitivity,
            self.embedder.location,
            f"Collection '{collection.name}'",
            self.settings.embedding_model,
        )
        job_id = uuid.uuid4().hex
        result = Submission(job_id)
        accepted: list[tuple[str, str, int]] = []
        for raw_name, data in files:
            try:
                name = clean_name(raw_name)
                if len(data) > self.settings.max_document_bytes:
                    raise InvalidRequest(
                        f"{name} is {len(data)} bytes, over the {self.settings.max_document_bytes}"
                        "-byte limit (setting max_document_bytes).",
                        code="file_too_large",
                    )
                if not data:
                    raise DocumentRefused(f"{name} is empty (0 bytes).", code="empty_file")
            except InvalidRequest as exc:
                result.refused.append({"name": raw_name, "code": exc.code, "reason": exc.message})
                continue
            sha = hashlib.sha256(data).hexdigest()
            existing = self.store.document_by_name(collection_id, name)
            if existing and existing.sha256 == sha and existing.status == "indexed":
                result.unchanged.append(name)
                continue
            path = self.file_path(sha)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".partial")
                partial.write_bytes(data)
                partial.replace(path)
            accepted.append((name, sha, len(data)))
        if not accepted:
            result.job_id = None
            return result
        with self.atomic():  # the job and its documents, or nothing
            self.jobs.create(
                job_id,
                "ingest",
                principal.user_id,
                collection_id=collection_id,
                total=len(accepted),
            )
            for name, sha, size in accepted:
                self.store.upsert_pending(collection_id, name, sha, size, job_id)
                result.queued.append(name)
        self.queue.submit(job_id)
        return result

    # --- ingestion (blocking; runs on the job worker or in the CLI) -----------------------

    def run_job(
        self, job_id: str, on_document: Callable[[str, str, str | None], None] | None = None
    ) -> None:
        """Index the job's pending documents. ``on_document(name, result, reason)`` with
        result "indexed" or the refusal's code."""
        self.jobs.update(job_id, status="running")
        job = self.jobs.get(job_id)
        done = job.total - len(self.store.pending_documents(job_id))
        try:
            self.space.check()
            for doc in self.store.pending_documents(job_id):
                status, reason = self._index(doc)
                done += 1
                self.jobs.update(job_id, done=done)
                if on_document:
                    on_document(doc.name, status, reason)
        except Exception as exc:
            log.exception("Ingestion job %s failed", job_id)
            self.jobs.update(job_id, status="failed", error=public_message(exc))
            raise
        self.jobs.update(job_id, status="done")

    def reindex(
        self, principal: Principal, progress: Callable[[int, int], None] = lambda d, t: None
    ) -> Reindexed:
        """Embed every stored chunk again with the configured embedder (after a change of
        ``embedding_model``). Admins only: it changes every collection's index."""
        if not principal.is_admin:
            raise PermissionDenied("Re-indexing the documents is for admins.", code="admin_only")
        done = self.space.reindex(progress)
        self.audit.record(
            principal,
            "documents.reindex",
            model=done.model,
            query=f"{done.chunks} chunks re-embedded, from {done.previous or 'unrecorded'}",
        )
        return done

    def _index(self, doc: Document) -> tuple[str, str | None]:
        try:
            data = self.file_path(doc.sha256).read_bytes()
        except FileNotFoundError:
            self.store.mark_failed(doc.id, "file_missing", "The uploaded file is gone.")
            return "file_missing", "The uploaded file is gone."
        try:
            parsed = parse(
                data, doc.name, max_uncompressed_bytes=self.settings.max_uncompressed_bytes
            )
            chunks = chunk_blocks(
                parsed.blocks,
                self.embedder.count_tokens,
                max_tokens=self.settings.chunk_tokens,
                overlap_tokens=self.settings.chunk_overlap_tokens,
            )
            if not chunks:
                raise DocumentRefused(f"{doc.name} has no text to index.", code="no_text")
        except DocumentRefused as exc:
            self.store.mark_failed(doc.id, exc.code, exc.message)
            return exc.code, exc.message
        found = pii.count("\n".join(b.text for b in parsed.blocks))
        if found and self.store.collection(doc.collection_id).pii_policy == "mask":
            chunks = [
                replace(c, text=pii.mask(c.text), heading=pii.mask(c.heading)) for c in chunks
            ]
        self._store_chunks(doc.id, chunks, parsed.format, parsed.pages, parsed.warnings, found)
        return "indexed", None

    def _store_chunks(
        self,
        document_id: int,
        chunks,
        fmt: str,
        pages: int | None,
        warnings: list[str],
        personal_data: dict[str, int] | None = None,
    ) -> None:
        # The embedder sees the heading path too: a chunk of "Article 3" under
        # "Budget > Investissements" is found by a question about the budget.
        texts = [f"{c.heading}\n{c.text}" if c.heading else c.text for c in chunks]
        vectors = [
            self.embedder.embed(texts[i : i + EMBED_BATCH], "passage")
            for i in range(0, len(texts), EMBED_BATCH)
        ]
        rows = [
            ChunkRow(
                i,
                c.text,
                c.page,
                c.heading,
                c.char_start,
                c.char_end,
                c.tokens,
                analysis.index_text(f"{c.heading}\n{c.text}"),
                v,
            )
            for i, (c, v) in enumerate(zip(chunks, (v for b in vectors for v in b), strict=True))
        ]
        self.store.replace_chunks(document_id, fmt, pages, warnings, rows, personal_data)

    def index_blocks(self, collection_id: int, name: str, blocks) -> int:
        """Index text that is not an uploaded file (a meeting's transcript) as a document of
        the collection, replacing any previous version with that name. Blocking."""
        self.space.check()
        content = "\n".join(b.text for b in blocks).encode("utf-8")
        sha = hashlib.sha256(content).hexdigest()
        document_id = self.store.upsert_pending(collection_id, name, sha, len(content), "")
        chunks = chunk_blocks(
            blocks,
            self.embedder.count_tokens,
            max_tokens=self.settings.chunk_tokens,
            overlap_tokens=self.settings.chunk_overlap_tokens,
        )
        self._store_chunks(document_id, chunks, "transcript", None, [])
        return document_id

    def remove_document(self, document_id: int) -> None:
        """Delete a derived document (no access check: its owner's service calls this)."""
        sha = self.store.delete_document(document_id)
        if sha:
            self._drop_file(sha)

    def job(self, principal: Principal, job_id: str) -> JobReport:
        """A job, for its author only, and only while they may still read what it works
        on: a job shows document names and errors, so losing access to the collection or
        meeting (a deny, a revoked share) hides it too."""
        job = self.jobs.get(job_id)
        missing = NotFound(f"No job with id {job_id}.", param="job_id")
        if job is None or job.owner_id != principal.user_id:
            raise missing
        subject = (
            ("collection", job.collection_id)
            if job.collection_id is not None
            else ("meeting", job.meeting_id)
            if job.meeting_id is not None
            else None
        )
        if subject is not None and not self.access.can(principal, *subject, "read"):
            raise missing
        return JobReport(job, self.store.documents_of_job(job_id))


def _resource(document: Document) -> dict:
    """How the audit log names a document."""
    return {"type": "document", "id": document.id, "name": document.name}
