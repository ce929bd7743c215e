"""Which store implementation a process uses: SQLite (default, one file in data_dir) or
PostgreSQL (setting database_url). Both return the same records through the protocols of
``store/interfaces.py``; only this module and the container know which one runs."""

from __future__ import annotations

from dataclasses import dataclass

from greffier.settings import Settings
from greffier.store.access import AccessStore
from greffier.store.audit import AuditStore
from greffier.store.conversations import ConversationStore
from greffier.store.counters import CounterStore
from greffier.store.credentials import CredentialStore
from greffier.store.database import Database
from greffier.store.documents import DocumentStore
from greffier.store.erasure import ErasureStore
from greffier.store.evaluations import EvaluationStore
from greffier.store.feedback import FeedbackStore
from greffier.store.identity import IdentityStore
from greffier.store.jobs import JobStore
from greffier.store.meetings import MeetingStore
from greffier.store.quotas import QuotaStore
from greffier.store.responses import ResponseStore
from greffier.store.sessions import SessionStore
from greffier.store.usage import UsageStore


@dataclass
class Stores:
    database: Database
    documents: DocumentStore
    jobs: JobStore
    identity: IdentityStore
    access: AccessStore
    quotas: QuotaStore
    audit: AuditStore
    usage: UsageStore
    meetings: MeetingStore
    sessions: SessionStore
    conversations: ConversationStore
    erasure: ErasureStore
    responses: ResponseStore
    counters: CounterStore
    credentials: CredentialStore
    evaluations: EvaluationStore
    feedback: FeedbackStore


def open_stores(settings: Settings, *, migrate: bool = True) -> Stores:
    if settings.database_url:
        from greffier.store.postgres.audit import PgAuditStore
        from greffier.store.postgres.database import PgDatabase
        from greffier.store.postgres.documents import PgDocumentStore
        from greffier.store.postgres.erasure import PgErasureStore

        database = PgDatabase(settings.database_url, settings.database_pool_size, migrate=migrate)
        documents, audit, erasure = PgDocumentStore, PgAuditStore, PgErasureStore
    else:
        database = Database(settings.database_path)
        documents, audit, erasure = DocumentStore, AuditStore, ErasureStore
    return Stores(
        database=database,
        documents=documents(database),
        jobs=JobStore(database),
        identity=IdentityStore(database),
        access=AccessStore(database),
        quotas=QuotaStore(database),
        audit=audit(database),
        usage=UsageStore(database),
        evaluations=EvaluationStore(database),
        meetings=MeetingStore(database),
        sessions=SessionStore(database),
        conversations=ConversationStore(database),
        erasure=erasure(database),
        responses=ResponseStore(database),
        counters=CounterStore(database),
        credentials=CredentialStore(database),
        feedback=FeedbackStore(database),
    )
