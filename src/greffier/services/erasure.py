"""Right to erasure: delete a person's account and everything derived from what they own.

Removed: their collections (documents, chunks, full-text and vector rows, stored files),
their meetings (audio, transcript, speakers, minutes, index), jobs, API keys, group
memberships, grants made to them, token counts, sign-in counts, their stored
/v1/responses answers, the chat answers kept for feedback and the feedback they gave
(their name leaves the decisions they made as a curator), and — in the audit log — their
name, ids and questions (the fact that an access happened stays, unattributed);
other people's audit rows lose the person's name and the names of their documents,
collections and meetings. Then the database's files are purged (no deleted byte left in
free pages or the write-ahead log).

The report proves it three ways: every table counted for what is left of the person, each
stored file checked on disk, and the database file and its log scanned for samples of the
erased text (pieces of their documents, transcripts and questions, and their names).

Not covered: documents a person uploaded into a collection someone else owns belong to
that collection's owner and stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from greffier.errors import InvalidRequest, PermissionDenied
from greffier.services.audit import AuditService
from greffier.services.documents import DocumentService
from greffier.services.identity import IdentityService
from greffier.services.meetings import MeetingService
from greffier.services.principal import Principal
from greffier.services.throttle import SignInThrottle
from greffier.store.interfaces import (
    ErasureStore,
    FeedbackStore,
    JobStore,
    QuotaStore,
    ResponseStore,
)


@dataclass
class ErasureReport:
    user_id: int
    user: str
    collections: int
    meetings: int
    remaining: dict[str, int]
    files_left: list[str] = field(default_factory=list)  # files still on disk, unshared
    samples_checked: int = 0  # pieces of the erased text looked for in the database files
    residue: list[str] = field(default_factory=list)  # those found ("chunk 2", "name"…)
    purged: bool = True  # the write-ahead log could be emptied

    @property
    def complete(self) -> bool:
        return (
            not any(self.remaining.values())
            and not self.files_left
            and not self.residue
            and self.purged
        )


class ErasureService:
    def __init__(
        self,
        store: ErasureStore,
        identity: IdentityService,
        documents: DocumentService,
        meetings: MeetingService,
        jobs: JobStore,
        quotas: QuotaStore,
        audit: AuditService,
        responses: ResponseStore,
        throttle: SignInThrottle,
        feedback: FeedbackStore,
    ):
        self.store = store
        self.identity = identity
        self.documents = documents
        self.meetings = meetings
        self.jobs = jobs
        self.quotas = quotas
        self.audit = audit
        self.responses = responses
        self.throttle = throttle
        self.feedback = feedback

    def erase(self, who: Principal, user_id: int) -> ErasureReport:
        """Erase a user (``who`` must be an admin, or the operator at the console)."""
        if not who.is_admin:
            raise PermissionDenied("Erasing a person's data is for admins.", code="admin_only")
        user = self.identity.user(user_id)
        if who.user_id == user_id:
            raise InvalidRequest("An admin cannot erase their own account.", param="user_id")
        collections, meetings = self.store.owned(user_id)
        chunks, files, audio = self.store.derived(collections, meetings)
        owned = self.store.resources(collections, meetings)
        samples = self.store.samples(user_id, collections, meetings) + [
            (f"name of {kind} {rid}" if kind != "user" else "user name", name)
            for kind, rid, name in [("user", user_id, user.name), *owned]
            if len(name.strip()) >= 4
        ]
        for meeting_id in meetings:
            self.meetings.remove(meeting_id)
        for collection_id in collections:
            self.documents.remove_collection(collection_id)
        self.jobs.delete_of_owner(user_id)
        self.quotas.forget_user(user_id)
        self.responses.forget_user(user_id)
        self.feedback.forget_user(user_id, user.name)
        self.audit.forget_user(user_id)
        resources = [(kind, rid) for kind, rid, _ in owned] + [("user", user_id)]
        # Their name leaves others' questions and targets ("read to user zoe"); their
        # resources' names leave the lists of what was returned (not the questions: a
        # collection named "Budget" must not erase that word from everyone's).
        self.audit.scrub([user.name], resources)
        self.throttle.forget(user.name)
        self.identity.delete_user(user_id)
        remaining = self.store.remaining(user_id, user.name, collections, meetings, chunks)
        remaining["audit_log (others' rows naming them)"] = self.audit.mentions(
            [user.name], resources
        )
        left = [
            sha
            for sha in files
            if self.documents.file_path(sha).exists() and not self.documents.store.sha_in_use(sha)
        ] + [
            sha
            for sha in audio
            if self.meetings.audio_path(sha).exists() and not self.meetings.store.audio_in_use(sha)
        ]
        self.audit.record(
            who,
            "erasure",
            query=f"user {user_id}",
            resources=[{"type": "user", "id": user_id, "name": None}],
        )
        purged = self.store.purge()
        residue = self.store.residue(samples)
        if not self.store.scans_files:  # a database server's files: not the client's to read
            samples = []
        return ErasureReport(
            user_id,
            user.name,
            len(collections),
            len(meetings),
            remaining,
            left,
            samples_checked=len(samples),
            residue=residue,
            purged=purged,
        )
