"""The typed records stores return, whatever database they run on.

Services and routes read these, never database rows: a column renamed or a second store
implementation (PostgreSQL) changes nothing above ``store/``. JSON columns arrive decoded.
Timestamps are ISO 8601 UTC text ("2026-12-01T10:00:00.000Z"), as stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np

R = TypeVar("R")

# The largest id a record can have: SQLite's INTEGER PRIMARY KEY and PostgreSQL's BIGINT are
# signed 64-bit. Ids start at 1, so a number outside 1..MAX_ID names no record on any store,
# and the doors refuse it as they refuse a missing id, before any query.
MAX_ID = 2**63 - 1


def from_row(cls: type[R], row: Mapping[str, Any], **decoded: Any) -> R:
    """Build ``cls`` from a row's columns of the same names; ``decoded`` overrides some
    (JSON columns, computed values). Extra columns are ignored."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    keys = row.keys()
    values = {name: row[name] for name in names if name in keys and name not in decoded}
    return cls(**values, **decoded)


def now_text() -> str:
    """The current time as stores write it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- people -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRecord:
    id: int
    name: str
    role: str
    created_at: str
    disabled_at: str | None
    has_password: bool


@dataclass(frozen=True)
class KeyRecord:
    id: int
    user_id: int
    user: str
    role: str
    label: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    user_disabled_at: str | None
    expires_at: str | None = None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= now_text()

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.user_disabled_at is None and not self.expired


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    description: str
    created_at: str
    users: tuple[str, ...] = ()  # direct members
    groups: tuple[str, ...] = ()  # groups nested directly in this one


@dataclass(frozen=True)
class Grant:
    id: int
    resource_type: str
    resource_id: int
    subject_type: str
    subject_id: int
    subject: str
    permission: str
    created_at: str


@dataclass(frozen=True)
class ScopeEntry:
    """What access control needs to know of a readable collection."""

    id: int
    name: str
    sensitivity: str
    meeting_id: int | None  # set for the collection that indexes a meeting's transcript
    owner_id: int = 0


@dataclass(frozen=True)
class CredentialRequest:
    """An admin's request for a credential of a person who has content or credentials
    already: done only once a second admin approves it (services/identity.py)."""

    id: int
    user_id: int
    user: str  # the person the credential is for
    kind: str  # "key" or "password"
    label: str
    expires_days: int | None
    replaces_key_id: int | None  # a key rotation: this key is revoked on approval
    requested_by: int | None
    requested_by_name: str | None
    status: str  # pending, approved, cancelled
    decided_by: int | None
    created_at: str
    decided_at: str | None


@dataclass(frozen=True)
class AccountNotice:
    """What a person is told about their own credentials: who made a key for them or set
    their password, and who approved it."""

    id: int
    user_id: int
    kind: str  # key.created, key.rotated, password.set, password.changed
    by_user: str | None
    approved_by: str | None
    key_prefix: str | None
    created_at: str
    seen_at: str | None


@dataclass(frozen=True)
class FailureCount:
    """Failed sign-ins of one account or client address (services/throttle.py)."""

    subject: str
    failures: int
    first_at: float
    last_at: float
    blocked_until: float


@dataclass(frozen=True)
class Quota:
    subject_type: str  # "key" or "group"
    subject_id: int
    requests_per_minute: int | None
    tokens_per_day: int | None
    subject: str | None = None  # the group's name or the key's prefix


# --- documents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    id: int
    name: str
    description: str
    owner_id: int
    sensitivity: str
    pii_policy: str
    created_at: str
    meeting_id: int | None = None
    documents: int = 0
    # In the reader's default search scope: their own, or a share they accepted. Set by
    # the service for the person listing it (stores leave the default).
    accepted: bool = True


@dataclass(frozen=True)
class Document:
    id: int
    collection_id: int
    name: str
    sha256: str
    size: int
    format: str | None
    pages: int | None
    status: str  # pending, indexed, failed
    error: str | None
    error_code: str | None
    warnings: list[str]
    chunks: int
    personal_data: dict[str, int]
    job_id: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Chunk:
    id: int
    document_id: int
    collection_id: int
    ordinal: int
    text: str
    page: int | None
    heading: str
    char_start: int
    char_end: int
    tokens: int


@dataclass(frozen=True)
class ChunkRow:
    ordinal: int
    text: str
    page: int | None
    heading: str
    char_start: int
    char_end: int
    tokens: int
    index_text: str  # what full-text search indexes (stemmed)
    vector: np.ndarray  # the embedder's, unit length


@dataclass(frozen=True)
class EmbeddingSpace:
    """The embedder the index's vectors come from, and their length."""

    model: str
    dimensions: int


@dataclass(frozen=True)
class Candidate:
    chunk_id: int
    rank: int
    score: float


@dataclass(frozen=True)
class ChunkSource:
    """A chunk with the document and collection it comes from (search results)."""

    chunk: Chunk
    document_name: str
    collection_name: str
    meeting_id: int | None


# --- jobs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    id: str
    kind: str  # ingest, meeting, minutes
    owner_id: int | None
    status: str  # queued, running, done, failed
    total: int
    done: int
    error: str | None
    created_at: str
    updated_at: str
    collection_id: int | None = None
    meeting_id: int | None = None
    params: dict = field(default_factory=dict)


# --- meetings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Meeting:
    id: int
    owner_id: int
    title: str
    language: str | None
    speakers_expected: int | None
    status: str  # pending, transcribed, failed
    error: str | None
    error_code: str | None
    duration: float | None
    audio_name: str
    audio_sha256: str | None  # None once the recording is deleted (retention)
    sensitivity: str
    created_at: str
    updated_at: str
    document_id: int | None = None
    accepted: bool = True  # as Collection.accepted


@dataclass(frozen=True)
class TranscriptSegment:
    start: float
    end: float
    speaker: str  # the label given by diarization ("Intervenant 1")
    speaker_name: str  # the name given by a person, or the label
    text: str
    words: list[tuple[float, float, str]]


@dataclass(frozen=True)
class StoredMinutes:
    meeting_id: int
    content: dict
    model: str
    created_at: str


# --- audit, usage, web --------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    user_id: int | None
    user_name: str | None
    key_id: int | None
    action: str
    status: int
    model: str | None
    query: str | None
    resources: list[dict]


@dataclass(frozen=True)
class UsageDay:
    day: str
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    energy_joules: float


@dataclass(frozen=True)
class EvaluationRecord:
    """One model evaluation's result (``summary``, decoded JSON) and what produced it."""

    id: int
    model: str
    kind: str  # "bias" or "answers"
    dataset: str
    dataset_sha256: str
    greffier_version: str
    model_sha256: str
    summary: dict
    created_at: str


@dataclass(frozen=True)
class SessionRecord:
    user_id: int
    key_id: int | None  # the API key signed in with; None for a password
    csrf: str
    expires_at: str


@dataclass(frozen=True)
class Conversation:
    id: int
    user_id: int
    title: str
    model: str
    sources: dict  # {"collections": [ids], "meetings": [ids]}
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class ChatMessage:
    id: int
    role: str
    content: str
    citations: list
    model: str
    created_at: str
    answer_id: str | None = None  # the completion's id, for feedback (assistant messages)


# --- the Responses API ---------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseRecord:
    """A stored /v1/responses answer. ``output``: items ``{"type": "message", "id", "text"}``
    and ``{"type": "function_call", "id", "call_id", "name", "arguments"}``;
    ``conversation``: the messages up to and including this answer (``role``, ``content``,
    ``tool_calls``, ``tool_call_id``), what a follow-up continues; ``request``: the
    parameters echoed back in the response object."""

    id: str
    user_id: int
    model: str
    previous_id: str | None
    status: str  # completed | incomplete
    output: list
    usage: dict
    conversation: list
    request: dict
    created_at: str = ""


# --- feedback on answers -------------------------------------------------------------------


@dataclass(frozen=True)
class KeptAnswer:
    """A chat completion kept so that its author can rate it: the question, the answer,
    the passages it cited (grounding's citation dicts) and the model that answered."""

    id: str  # the completion id the API returned (chatcmpl-…)
    user_id: int
    model: str
    question: str
    answer: str
    citations: list
    created_at: str = ""


@dataclass(frozen=True)
class FeedbackRecord:
    """A person's rating of one answer, with a copy of what was rated, and a curator's
    decision on it (``status``: pending, accepted, rejected)."""

    id: int
    answer_id: str  # chatcmpl-… or resp_…
    user_id: int
    model: str
    question: str
    answer: str
    citations: list
    rating: str  # up | down
    correction: str | None
    reason: str | None
    status: str
    curated_by: str | None
    curated_at: str | None
    created_at: str
    updated_at: str
