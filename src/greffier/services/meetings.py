"""Meetings: upload a recording, transcribe it as a background job, read, rename speakers,
export, delete.

The recording is checked (type, length) before anything is stored, so a bad file leaves
nothing behind. Recordings are kept under ``data_dir/audio`` by SHA-256 until their meeting
is deleted or the retention policy removes them. Speakers are told apart, and segments cut
where the voice changes, in ``meetings/diarization.py``; minutes are the MinutesService's
(services/minutes.py).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path

from greffier.documents.parsers import Block
from greffier.errors import InvalidRequest, NotFound, public_message
from greffier.meetings import diarization, office, subtitles, turns
from greffier.models.backends.base import Segment, Word
from greffier.services.access import SENSITIVITIES, AccessService
from greffier.services.audit import AuditService
from greffier.services.documents import DocumentService
from greffier.services.jobs import JobQueue
from greffier.services.principal import Principal
from greffier.services.transcription import TranscriptionService, audio_type, probe_duration
from greffier.settings import Settings
from greffier.store.interfaces import JobStore, MeetingStore
from greffier.store.records import Meeting, TranscriptSegment

MEETINGS = "Réunions"  # how search results name the collections of meeting transcripts
EXPORTS = ("txt", "srt", "vtt", "docx", "odt")


def _check_sensitivity(value: str) -> None:
    if value not in SENSITIVITIES:
        raise InvalidRequest(
            f"Unknown sensitivity '{value}': use one of {', '.join(SENSITIVITIES)}.",
            param="sensitivity",
        )


@dataclass(frozen=True)
class StoredAudio:
    meeting: Meeting
    path: Path
    media_type: str  # audio/… from the container, or application/octet-stream
    filename: str  # meeting-<id>.<ext>: never the uploader's name


def resource(meeting: Meeting) -> dict:
    """How the audit log names a meeting."""
    return {"type": "meeting", "id": meeting.id, "name": meeting.title}


class MeetingService:
    def __init__(
        self,
        settings: Settings,
        store: MeetingStore,
        jobs: JobStore,
        queue: JobQueue,
        transcription: TranscriptionService,
        documents: DocumentService,
        access: AccessService,
        audit: AuditService,
        atomic: Callable[[], AbstractContextManager],
    ):
        self.settings = settings
        self.store = store
        self.jobs = jobs
        self.queue = queue
        self.transcription = transcription
        self.documents = documents
        self.access = access
        self.audit = audit
        self.atomic = atomic

    def audio_path(self, sha: str) -> Path:
        return self.settings.audio_dir / sha[:2] / sha

    def add(
        self,
        principal: Principal,
        title: str,
        data: bytes,
        filename: str,
        *,
        language: str | None = None,
        speakers: int | None = None,
        sensitivity: str = "internal",
    ) -> tuple[int, str]:
        """Check and store the recording, queue its transcription: (meeting id, job id)."""
        name = Path(filename or "audio").name
        if not title.strip():
            raise InvalidRequest("A meeting needs a title.", param="title")
        _check_sensitivity(sensitivity)
        speech = self.transcription.registry.speech_backend(self.settings.speech_model)
        self.access.check_route(
            sensitivity, speech.location, f"Meeting '{title.strip()}'", speech.entry.id
        )
        if speakers is not None and not 1 <= speakers <= 20:
            raise InvalidRequest("speakers must be between 1 and 20.", param="speakers")
        if not data:
            raise InvalidRequest(f"{name} is empty (0 bytes).", param="file", code="empty_file")
        self.transcription.check_ready()
        sha = hashlib.sha256(data).hexdigest()
        path = self.audio_path(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        try:
            duration = probe_duration(partial, name)
            if duration <= 0.05:
                raise InvalidRequest(f"{name} lasts 0 seconds.", param="file", code="empty_audio")
            if duration > self.settings.max_audio_seconds:
                raise InvalidRequest(
                    f"{name} lasts {duration:.0f} s, over the "
                    f"{self.settings.max_audio_seconds:.0f} s accepted (setting "
                    "max_audio_seconds).",
                    param="file",
                    code="audio_too_long",
                )
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        job_id = uuid.uuid4().hex
        with self.atomic():  # the meeting and its job, or neither
            meeting_id = self.store.create(
                principal.user_id,
                title.strip(),
                language,
                speakers,
                name,
                sha,
                duration,
                sensitivity,
            )
            self.jobs.create(job_id, "meeting", principal.user_id, meeting_id=meeting_id)
        self.queue.submit(job_id)
        return meeting_id, job_id

    def run_job(self, job_id: str, progress=None) -> None:
        """Transcribe the job's meeting (blocking; on the job worker or in the CLI)."""
        job = self.jobs.get(job_id)
        meeting = self.store.get(job.meeting_id) if job and job.meeting_id else None
        if meeting is None:
            return  # deleted meanwhile
        self.jobs.finish_step(job_id, "running")
        try:
            transcript = self.transcription.transcribe_file(
                self.audio_path(meeting.audio_sha256),
                meeting.audio_name,
                language=meeting.language,
                words=True,
                progress=progress,
            )
        except InvalidRequest as exc:
            self._fail(meeting.id, job_id, exc.code or "invalid_audio", exc.message)
            return
        except Exception as exc:
            self._fail(meeting.id, job_id, "transcription_failed", public_message(exc))
            raise
        if not transcript.segments:
            message = "No speech was found in the recording (silence only?)."
            self._fail(meeting.id, job_id, "no_speech", message)
            return
        try:
            speaker = self.transcription.registry.speaker_backend(self.settings.speaker_model)
            parts = diarization.turns(
                str(self.audio_path(meeting.audio_sha256)),
                transcript.segments,
                meeting.speakers_expected,
                speaker.encoder(),
            )
        except Exception as exc:
            self._fail(meeting.id, job_id, "diarization_failed", public_message(exc))
            raise
        segments = [
            TranscriptSegment(
                s.start, s.end, label, label, s.text, [(w.start, w.end, w.text) for w in s.words]
            )
            for label, s in parts
        ]
        self.store.save_transcript(meeting.id, transcript.language, transcript.duration, segments)
        self.index(meeting.id)
        self.jobs.finish_step(job_id, "done")
        if self.settings.audio_retention == "after-transcription":
            self._forget_audio(meeting.id)
        self.apply_retention()

    def _fail(self, meeting_id: int, job_id: str, code: str, message: str) -> None:
        self.store.fail(meeting_id, code, message)
        self.jobs.finish_step(job_id, "failed", message)

    def index(self, meeting_id: int) -> int:
        """Index the transcript, one heading per turn (meetings/turns.py), so search and
        grounded chat cite meeting, speaker and time. Each meeting has a collection of its
        own (collections.meeting_id), so that access to it follows the meeting's grants.
        Re-run after speakers are renamed or the meeting changes."""
        meeting = self.store.get(meeting_id)
        store = self.documents.store
        collection = store.meeting_collection(meeting_id)
        if collection is None:
            collection_id = store.create_collection(
                f"{MEETINGS}/{meeting_id}",
                "",
                meeting.owner_id,
                meeting.sensitivity,
                meeting_id=meeting_id,
            )
        else:
            collection_id = collection.id
            store.update_collection(collection_id, sensitivity=meeting.sensitivity)
        blocks: list[Block] = []
        for s in self.store.segments(meeting_id):
            if not blocks or turns.speaker_of(blocks[-2].text) != s.speaker_name:
                blocks += [
                    Block(turns.heading(s.speaker_name, s.start), "heading", level=1),
                    Block(s.text, "paragraph"),
                ]
            else:
                blocks[-1] = Block(f"{blocks[-1].text} {s.text}", "paragraph")
        for old in store.documents(collection_id):  # a new title replaces the old document
            if old.name != meeting.title:
                self.documents.remove_document(old.id)
        document_id = self.documents.index_blocks(collection_id, meeting.title, blocks)
        self.store.set_document(meeting_id, document_id)
        return document_id

    def _forget_audio(self, meeting_id: int) -> None:
        sha = self.store.forget_audio(meeting_id)
        if sha and not self.store.audio_in_use(sha):
            self.audio_path(sha).unlink(missing_ok=True)

    def apply_retention(self) -> list[int]:
        """Delete recordings older than the retention setting allows (``Nd``); return the
        meetings whose audio went. Runs after each transcription and at server start."""
        policy = self.settings.audio_retention
        if not policy.endswith("d"):
            return []
        expired = self.store.with_audio_older_than(int(policy[:-1]))
        for meeting_id in expired:
            self._forget_audio(meeting_id)
        return expired

    # --- reading --------------------------------------------------------------------------

    def meeting(self, principal: Principal, meeting_id: int, level: str = "read") -> Meeting:
        """The meeting if this person has ``level`` on it (404 when they may not read it,
        403 when they may read but not do this), without an audit row: for checks."""
        row = self.store.get(meeting_id)
        if row is None:
            raise NotFound(f"No meeting with id {meeting_id}.", param="meeting_id")
        self.access.require(principal, "meeting", meeting_id, level)
        return row

    def read(
        self, principal: Principal, meeting_id: int
    ) -> tuple[Meeting, list[TranscriptSegment]]:
        """The meeting and its transcript; reading it is audited."""
        meeting = self.meeting(principal, meeting_id)
        self.audit.record(principal, "meeting", resources=[resource(meeting)])
        return meeting, self.store.segments(meeting_id)

    def meetings(self, principal: Principal) -> list[Meeting]:
        """Readable meetings, each marked ``accepted`` when it is in the person's default
        search scope (their own, or a share they accepted)."""
        accepted = self.access.accepted(principal, "meeting")
        return [
            replace(m, accepted=m.owner_id == principal.user_id or m.id in accepted)
            for m in self.store.listing(self.access.meeting_ids(principal))
        ]

    def update(
        self,
        principal: Principal,
        meeting_id: int,
        *,
        title: str | None = None,
        sensitivity: str | None = None,
    ) -> Meeting:
        """Rename a meeting or change its sensitivity (needs 'manage'); re-indexed."""
        self.meeting(principal, meeting_id, "manage")
        fields = {}
        if title is not None:
            if not title.strip():
                raise InvalidRequest("A meeting needs a title.", param="title")
            fields["title"] = title.strip()
        if sensitivity is not None:
            _check_sensitivity(sensitivity)
            fields["sensitivity"] = sensitivity
        if fields:
            self.store.update(meeting_id, **fields)
            if self.store.get(meeting_id).status == "transcribed":
                self.index(meeting_id)
        return self.store.get(meeting_id)

    def export(self, principal: Principal, meeting_id: int, fmt: str) -> str | bytes:
        """The transcript as text, SRT, WebVTT (str) or a DOCX or ODT document (bytes)."""
        if fmt not in EXPORTS:
            raise InvalidRequest(f"Unknown format '{fmt}': use one of {', '.join(EXPORTS)}.")
        meeting = self.meeting(principal, meeting_id)
        self.audit.record(principal, f"meeting.export.{fmt}", resources=[resource(meeting)])
        segments = self.store.segments(meeting_id)
        if fmt in ("docx", "odt"):
            subtitle = f"{meeting.audio_name} — {meeting.duration:.0f} s — {meeting.language or ''}"
            lines = [
                {"start": s.start, "speaker": s.speaker_name, "text": s.text} for s in segments
            ]
            make = office.docx if fmt == "docx" else office.odt
            return make(meeting.title, subtitle, lines)
        timed = [
            Segment(
                s.start,
                s.end,
                f"{s.speaker_name} : {s.text}",
                tuple(Word(start, end, word, 1.0) for start, end, word in s.words),
            )
            for s in segments
        ]
        if fmt == "srt":
            return subtitles.srt(timed)
        if fmt == "vtt":
            return subtitles.vtt(timed)
        lines = [f"{meeting.title}\n"] + [
            f"[{subtitles.timestamp(s.start, ',')[:8]}] {s.text}" for s in timed
        ]
        return "\n".join(lines) + "\n"

    def audio(self, principal: Principal, meeting_id: int, *, first: bool = True) -> StoredAudio:
        """The stored recording, with the media type of what it holds (never taken from
        the name it was uploaded under); 404 once the retention policy has deleted it.
        Listening is audited once per playback (``first``: the request that starts it,
        not each range a player asks for when seeking)."""
        meeting = self.meeting(principal, meeting_id)
        path = self.audio_path(meeting.audio_sha256) if meeting.audio_sha256 else None
        if path is None or not path.is_file():
            raise NotFound(
                f"The recording of meeting {meeting_id} is no longer kept.", param="meeting_id"
            )
        if first:
            self.audit.record(principal, "meeting.audio", resources=[resource(meeting)])
        media_type, extension = audio_type(path)
        return StoredAudio(meeting, path, media_type, f"meeting-{meeting_id}.{extension}")

    def rename_speaker(self, principal: Principal, meeting_id: int, label: str, name: str) -> None:
        self.meeting(principal, meeting_id, "write")
        if not name.strip():
            raise InvalidRequest("A speaker needs a name.", param="name")
        if not self.store.rename_speaker(meeting_id, label, name.strip()):
            raise NotFound(f"No speaker '{label}' in meeting {meeting_id}.", param="label")
        self.index(meeting_id)

    def delete(self, principal: Principal, meeting_id: int) -> None:
        meeting = self.meeting(principal, meeting_id, "manage")
        self.audit.record(principal, "meeting.delete", resources=[resource(meeting)])
        self.remove(meeting_id)

    def remove(self, meeting_id: int) -> None:
        """Delete a meeting and everything derived from it (no access check: callers do)."""
        collection = self.documents.store.meeting_collection(meeting_id)
        if collection is not None:
            self.documents.store.delete_collection(collection.id)
        sha = self.store.delete(meeting_id)
        if sha and not self.store.audio_in_use(sha):
            self.audio_path(sha).unlink(missing_ok=True)
