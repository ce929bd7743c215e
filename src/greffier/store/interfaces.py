"""What the services need from storage: one protocol per store, returning the typed
records of ``store/records.py``.

The SQLite stores beside this file implement them (FTS5 and sqlite-vec for search). A
PostgreSQL implementation (full text with ``tsvector``, vectors with pgvector) implements
the same methods and returns the same records: services and routes do not change. Each
table has one owner, the store named after it; ``store/erasure.py`` only counts rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from greffier.store.records import (
    AccountNotice,
    AuditEntry,
    Candidate,
    ChatMessage,
    Chunk,
    ChunkRow,
    ChunkSource,
    Collection,
    Conversation,
    CredentialRequest,
    Document,
    EmbeddingSpace,
    EvaluationRecord,
    FailureCount,
    FeedbackRecord,
    Grant,
    Group,
    Job,
    KeptAnswer,
    KeyRecord,
    Meeting,
    Quota,
    ResponseRecord,
    ScopeEntry,
    SessionRecord,
    StoredMinutes,
    TranscriptSegment,
    UsageDay,
    UserRecord,
)


class IdentityStore(Protocol):
    """Users and API keys (keys stored as digests)."""

    def ensure_user(self, name: str, role: str) -> int: ...
    def create_user(self, name: str, role: str) -> int: ...
    def user(self, user_id: int) -> UserRecord | None: ...
    def user_by_name(self, name: str) -> UserRecord | None: ...
    def users(self) -> list[UserRecord]: ...
    def update_user(self, user_id: int, **fields: object) -> None: ...
    def password_hash(self, name: str) -> tuple[int, str | None] | None: ...
    def delete_user(self, user_id: int) -> None: ...
    def add_key(
        self, user_id: int, key: str, label: str, prefix: str, expires_at: str | None = None
    ) -> int: ...
    def key(self, key_id: int) -> KeyRecord | None: ...
    def find_key(self, key: str) -> KeyRecord | None: ...
    def touch_key(self, key_id: int) -> None: ...
    def list_keys(self, user_id: int | None = None) -> list[KeyRecord]: ...
    def revoke_key(self, key_id: int) -> bool: ...
    def count_active_admin_keys(self) -> int: ...


class AccessStore(Protocol):
    """Groups, memberships, grants, and the access rule as one condition inside queries."""

    def collection_ids(
        self, user_id: int, level: str = "read", meetings: bool | None = False
    ) -> list[int]: ...
    def meeting_ids(self, user_id: int, level: str = "read") -> list[int]: ...
    def can(self, user_id: int, resource_type: str, resource_id: int, level: str) -> bool: ...
    def scope_entries(self, ids: Sequence[int]) -> dict[int, ScopeEntry]: ...
    def create_group(self, name: str, description: str) -> int: ...
    def group(self, group_id: int) -> Group | None: ...
    def group_by_name(self, name: str) -> Group | None: ...
    def groups(self) -> list[Group]: ...
    def delete_group(self, group_id: int) -> None: ...
    def contains_group(self, outer: int, inner: int) -> bool: ...
    def add_member(
        self, group_id: int, *, user_id: int | None = None, member_group_id: int | None = None
    ) -> None: ...
    def remove_member(
        self, group_id: int, *, user_id: int | None = None, member_group_id: int | None = None
    ) -> bool: ...
    def user_groups(self, user_id: int) -> list[int]: ...
    def set_grant(
        self,
        resource_type: str,
        resource_id: int,
        subject_type: str,
        subject_id: int,
        permission: str,
        granted_by: int,
    ) -> None: ...
    def remove_grant(
        self, resource_type: str, resource_id: int, subject_type: str, subject_id: int
    ) -> bool: ...
    def grants(self, resource_type: str, resource_id: int) -> list[Grant]: ...
    def accept(self, user_id: int, resource_type: str, resource_id: int) -> None:
        """Let a share into the user's default search scope."""

    def unaccept(self, user_id: int, resource_type: str, resource_id: int) -> bool: ...
    def accepted(self, user_id: int, resource_type: str) -> set[int]: ...


class CredentialStore(Protocol):
    """Credential requests waiting for a second admin; each person's account notices."""

    def add_request(
        self,
        user_id: int,
        kind: str,
        requested_by: int,
        *,
        label: str = "",
        expires_days: int | None = None,
        replaces_key_id: int | None = None,
        password_hash: str | None = None,
    ) -> int: ...
    def request(self, request_id: int) -> CredentialRequest | None: ...
    def requested_password(self, request_id: int) -> str | None: ...
    def pending(self) -> list[CredentialRequest]: ...
    def decide(self, request_id: int, status: str, decided_by: int) -> bool:
        """Close a pending request; the password hash it carried is dropped."""

    def add_notice(
        self,
        user_id: int,
        kind: str,
        by_user: str | None,
        approved_by: str | None = None,
        key_prefix: str | None = None,
        seen: bool = False,
    ) -> None: ...
    def notices(self, user_id: int) -> list[AccountNotice]: ...
    def unseen(self, user_id: int) -> int: ...
    def mark_seen(self, user_id: int) -> None: ...


class CounterStore(Protocol):
    """Counters shared by every API process (a table, never a process's memory): requests
    per quota subject over a sliding window, failed sign-ins per account and address.
    Each call is atomic on its own, and joins an enclosing transaction."""

    def take(self, subject: str, now: float, window: float, limit: int) -> float | None:
        """Count one request unless ``limit`` were counted in the last ``window`` s; None
        when counted, else the time of the oldest request in the window."""

    def failures(self, subject: str) -> FailureCount | None: ...
    def add_failure(
        self, subject: str, now: float, window: float | None = None
    ) -> FailureCount: ...
    def block(self, subject: str, until: float) -> None: ...
    def clear(self, subject: str) -> None: ...
    def forget_older_than(self, when: float) -> None: ...


class DocumentIndex(Protocol):
    """Collections, documents, chunks and their full-text and vector index. Every search
    takes the collection ids the caller may read and applies them inside the query,
    before ranking and limits."""

    def create_collection(
        self,
        name: str,
        description: str,
        owner_id: int,
        sensitivity: str,
        pii_policy: str = "report",
        meeting_id: int | None = None,
    ) -> int: ...
    def update_collection(self, collection_id: int, **fields: object) -> None: ...
    def meeting_collection(self, meeting_id: int) -> Collection | None: ...
    def collection(self, collection_id: int) -> Collection | None: ...
    def collection_by_name(self, owner_id: int, name: str) -> Collection | None: ...
    def collections(self, ids: Sequence[int]) -> list[Collection]: ...
    def delete_collection(self, collection_id: int) -> list[str]:
        """Delete with everything derived; return the sha256 of the files it held."""

    def document(self, document_id: int) -> Document | None: ...
    def document_by_name(self, collection_id: int, name: str) -> Document | None: ...
    def documents(self, collection_id: int) -> list[Document]: ...
    def documents_of_job(self, job_id: str) -> list[Document]: ...
    def upsert_pending(
        self, collection_id: int, name: str, sha256: str, size: int, job_id: str
    ) -> int: ...
    def pending_documents(self, job_id: str) -> list[Document]: ...
    def replace_chunks(
        self,
        document_id: int,
        fmt: str,
        pages: int | None,
        warnings: list[str],
        chunks: Sequence[ChunkRow],
        pii: dict[str, int] | None = None,
    ) -> None:
        """Swap all chunks of a document in one transaction."""

    def mark_failed(self, document_id: int, code: str, message: str) -> None: ...
    def delete_document(self, document_id: int) -> str | None: ...
    def sha_in_use(self, sha256: str) -> bool: ...
    def chunks_of(self, document_id: int) -> list[Chunk]: ...
    def lexical(self, query: str, collection_ids: Sequence[int], limit: int) -> list[Candidate]:
        """Full-text search of the query's words (any may match), best first. Scores and
        order depend on ``collection_ids``' content only (no statistic of the whole index:
        a caller must learn nothing of words outside their scope)."""

    def semantic(
        self, vector: np.ndarray, collection_ids: Sequence[int], limit: int
    ) -> list[Candidate]: ...
    def chunks_with_documents(self, chunk_ids: Sequence[int]) -> dict[int, ChunkSource]: ...
    def embedding_space(self) -> EmbeddingSpace | None:
        """The embedder recorded for the index's vectors (None: none recorded yet)."""

    def vector_dimensions(self) -> int:
        """The length of the vectors the index holds (its vector column's)."""

    def has_chunks(self) -> bool: ...
    def counts(self) -> dict[str, int]:
        """Rows per table (``chunks`` among them)."""

    def set_embedding_space(self, model: str, dimensions: int) -> None:
        """Record the embedder of the index; an index without chunks takes its vector
        length. Raise ValueError if chunks of another length are there."""

    def chunk_texts(self, after_id: int, limit: int) -> list[tuple[int, str, str]]:
        """(chunk id, heading, text) in id order, the ids above ``after_id``."""

    def replace_vectors(
        self, model: str, dimensions: int, vectors: Sequence[tuple[int, np.ndarray]]
    ) -> None:
        """Every chunk's vector replaced at once (another embedder), in one transaction."""


class JobStore(Protocol):
    """Background jobs: kind, subject, progress, parameters."""

    def create(
        self,
        job_id: str,
        kind: str,
        owner_id: int | None,
        *,
        collection_id: int | None = None,
        meeting_id: int | None = None,
        total: int = 1,
        params: dict | None = None,
    ) -> None: ...
    def update(self, job_id: str, **fields: object) -> None: ...
    def finish_step(self, job_id: str, status: str, error: str | None = None) -> None: ...
    def get(self, job_id: str) -> Job | None: ...
    def unfinished(self) -> list[Job]: ...
    def count_by_status(self) -> dict[str, int]: ...
    def delete_of_owner(self, owner_id: int) -> None: ...


class MeetingStore(Protocol):
    """Meetings, their transcript segments, speaker names and minutes."""

    def create(
        self,
        owner_id: int,
        title: str,
        language: str | None,
        speakers: int | None,
        audio_name: str,
        audio_sha256: str,
        duration: float,
        sensitivity: str = "internal",
    ) -> int: ...
    def get(self, meeting_id: int) -> Meeting | None: ...
    def for_document(self, document_id: int) -> int | None: ...
    def listing(self, ids: Sequence[int]) -> list[Meeting]: ...
    def owned_by(self, owner_id: int) -> list[int]: ...
    def update(self, meeting_id: int, **fields: object) -> None: ...
    def save_transcript(
        self,
        meeting_id: int,
        language: str,
        duration: float,
        segments: Sequence[TranscriptSegment],
    ) -> None: ...
    def fail(self, meeting_id: int, code: str, message: str) -> None: ...
    def segments(self, meeting_id: int) -> list[TranscriptSegment]: ...
    def rename_speaker(self, meeting_id: int, label: str, name: str) -> bool: ...
    def delete(self, meeting_id: int) -> str | None: ...
    def audio_in_use(self, sha256: str) -> bool: ...
    def forget_audio(self, meeting_id: int) -> str | None: ...
    def with_audio_older_than(self, days: int) -> list[int]: ...
    def set_document(self, meeting_id: int, document_id: int | None) -> None: ...
    def save_minutes(self, meeting_id: int, content: dict, model: str) -> None: ...
    def minutes(self, meeting_id: int) -> StoredMinutes | None: ...


class AuditStore(Protocol):
    def record(
        self,
        *,
        user_id: int | None,
        user_name: str | None,
        key_id: int | None,
        action: str,
        status: int,
        model: str | None,
        query: str | None,
        resources: list[dict],
    ) -> None: ...
    def entries(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        resource: tuple[str, int] | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
    ) -> Iterator[AuditEntry]: ...
    def forget_user(self, user_id: int) -> int: ...
    def scrub(self, names: list[str], resources: list[tuple[str, int]]) -> int:
        """Erasure: ``names`` cut out of every row's query, listed resources' names
        dropped."""

    def mentions(self, names: list[str], resources: list[tuple[str, int]]) -> int: ...


class ErasureStore(Protocol):
    """The census that proves an erasure, and the purge of the database's own files."""

    scans_files: bool  # whether residue() reads the database's own files

    def owned(self, user_id: int) -> tuple[list[int], list[int]]: ...
    def derived(
        self, collection_ids: Sequence[int], meeting_ids: Sequence[int]
    ) -> tuple[list[int], list[str], list[str]]: ...
    def resources(
        self, collection_ids: Sequence[int], meeting_ids: Sequence[int]
    ) -> list[tuple[str, int, str]]: ...
    def samples(
        self, user_id: int, collection_ids: Sequence[int], meeting_ids: Sequence[int]
    ) -> list[tuple[str, str]]: ...
    def remaining(
        self,
        user_id: int,
        name: str,
        collection_ids: Sequence[int],
        meeting_ids: Sequence[int],
        chunk_ids: Sequence[int],
    ) -> dict[str, int]: ...
    def purge(self) -> bool:
        """Leave no deleted byte readable in the database's storage (SQLite: merge the
        full-text index, VACUUM, truncate the write-ahead log; PostgreSQL: VACUUM FULL of
        the tables an erasure touched). False if it could not be completed now."""

    def residue(self, samples: Sequence[tuple[str, str]]) -> list[str]:
        """Labels of the samples whose bytes the storage still holds outside any live row."""


class QuotaStore(Protocol):
    def set(self, subject_type: str, subject_id: int, rpm: int | None, tpd: int | None) -> None: ...
    def all(self) -> list[Quota]: ...
    def applying_to(self, user_id: int, key_id: int) -> list[Quota]: ...
    def add_tokens(self, day: str, user_id: int, key_id: int, tokens: int) -> None: ...
    def tokens_of_key(self, day: str, key_id: int) -> int: ...
    def tokens_of_group(self, day: str, group_id: int) -> int: ...
    def forget_user(self, user_id: int) -> None: ...


class UsageStore(Protocol):
    def add(
        self, day: str, model: str, prompt_tokens: int, completion_tokens: int, joules: float
    ) -> None: ...
    def since(self, day: str) -> list[UsageDay]: ...


class SessionStore(Protocol):
    """Web sessions, by the digest of their cookie value."""

    def add_session(
        self, token: str, user_id: int, key_id: int | None, csrf: str, expires_at: str
    ) -> None: ...
    def session(self, token: str) -> SessionRecord | None: ...
    def delete_session(self, token: str) -> None: ...
    def delete_sessions_of(self, user_id: int) -> None: ...


class ConversationStore(Protocol):
    def create_conversation(self, user_id: int, title: str, model: str, sources: dict) -> int: ...
    def conversation(self, conversation_id: int) -> Conversation | None: ...
    def conversations(self, user_id: int, limit: int = 100) -> list[Conversation]: ...
    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        citations: list,
        model: str,
        sources: dict | None = None,
        answer_id: str | None = None,
    ) -> int: ...
    def messages(self, conversation_id: int) -> list[ChatMessage]: ...
    def rename_conversation(self, conversation_id: int, title: str) -> None: ...
    def delete_conversation(self, conversation_id: int) -> None: ...


class ResponseStore(Protocol):
    def save(self, record: ResponseRecord) -> None: ...
    def get(self, response_id: str) -> ResponseRecord | None: ...
    def delete(self, response_id: str) -> None: ...
    def forget_user(self, user_id: int) -> int: ...


class EvaluationStore(Protocol):
    def add(
        self,
        model: str,
        kind: str,
        dataset: str,
        dataset_sha256: str,
        greffier_version: str,
        model_sha256: str,
        summary: dict,
    ) -> int: ...
    def latest(self, model: str | None = None) -> list[EvaluationRecord]: ...


class FeedbackStore(Protocol):
    def keep_answer(self, answer: KeptAnswer) -> None: ...
    def forget_answers_before(self, cutoff: str) -> int: ...
    def answer(self, answer_id: str) -> KeptAnswer | None: ...
    def give(
        self, answer: KeptAnswer, rating: str, correction: str | None, reason: str | None
    ) -> FeedbackRecord: ...
    def of_answer(self, answer_id: str) -> FeedbackRecord | None: ...
    def get(self, feedback_id: int) -> FeedbackRecord | None: ...
    def find(
        self, status: str | None = None, user_id: int | None = None
    ) -> list[FeedbackRecord]: ...
    def curate(self, feedback_id: int, status: str, curator: str) -> None: ...
    def forget_user(self, user_id: int, name: str) -> int: ...
