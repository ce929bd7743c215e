"""The passage a citation points to, for a person to check an answer: the document's
chunks around it, or the meeting turn (speaker, time) it quotes. Opening one is reading,
and is audited as the API audits reading a document or a meeting."""

from __future__ import annotations

from dataclasses import dataclass

from greffier.errors import NotFound
from greffier.meetings import turns
from greffier.services.audit import AuditService
from greffier.services.documents import DocumentService
from greffier.services.meetings import MeetingService, resource
from greffier.services.principal import Principal
from greffier.store.records import Chunk, Document, Meeting


@dataclass(frozen=True)
class CitedPassage:
    chunks: list[Chunk]  # the whole document's, in order (a document's passage)
    cited: Chunk | None  # the chunk that starts at the cited offset, or the first
    document: Document | None = None
    meeting: Meeting | None = None  # set instead of document for a meeting's transcript
    turn: turns.Turn | None = None  # who spoke, and when, in the cited chunk


class PassageService:
    def __init__(self, documents: DocumentService, meetings: MeetingService, audit: AuditService):
        self.documents = documents
        self.meetings = meetings
        self.audit = audit

    def cited(self, who: Principal, document_id: int, start: int = 0) -> CitedPassage:
        """404 unless the person may read the document (or the meeting it transcribes)."""
        meeting_id = self.meetings.store.for_document(document_id)
        if meeting_id is not None:
            meeting = self.meetings.meeting(who, meeting_id)
            self.audit.record(who, "meeting", resources=[resource(meeting)])
            chunks = self.documents.store.chunks_of(document_id)
            cited = _cited(chunks, start)
            turn = turns.parse(cited.heading) if cited else None
            return CitedPassage(chunks, cited, meeting=meeting, turn=turn)
        try:
            document = self.documents.document(who, document_id)
        except NotFound:
            raise NotFound(f"No document with id {document_id}.", param="document") from None
        chunks = self.documents.chunks(who, document_id)  # audited as "document.chunks"
        return CitedPassage(chunks, _cited(chunks, start), document=document)


def _cited(chunks: list[Chunk], start: int) -> Chunk | None:
    return next((c for c in chunks if c.char_start == start), chunks[0] if chunks else None)
