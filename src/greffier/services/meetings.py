"""Meetings: upload a recording, transcribe it as a background job, read, rename speakers,
export, delete.

The recording is checked (type, length) before anything is stored, so a bad file leaves
nothing behind. Recordings are kept under ``data_dir/audio`` by SHA-256 until their meeting
is deleted. Speakers are told apart, and segments cut where the voice changes, in
services/diarization.py; minutes are written by the chat model (services/minutes.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from pathlib import Path

from greffier.documents.parsers import Block
from greffier.errors import GreffierError, InvalidRequest, NotFound
from greffier.models.backends.base import Generation, Message, Segment, Word
from greffier.services import diarization, minutes, office, subtitles
from greffier.services.access import SENSITIVITIES, AccessService
from greffier.services.documents import DocumentService
from greffier.services.identity import Principal
from greffier.services.transcription import TranscriptionService, probe_duration
from greffier.settings import Settings
from greffier.store.meetings import MeetingStore

MEETINGS = "Réunions"  # how search results name the collections of meeting transcripts


class MeetingService:
    def __init__(
        self,
        settings: Settings,
        store: MeetingStore,
        transcription: TranscriptionService,
        documents: DocumentService,
        access: AccessService,
    ):
        self.settings = settings
        self.store = store
        self.transcription = transcription
        self.documents = documents
        self.access = access

    def audio_path(self, sha: str) -> Path:
        return self.settings.data_dir / "audio" / sha[:2] / sha

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
        if sensitivity not in SENSITIVITIES:
            raise InvalidRequest(
                f"Unknown sensitivity '{sensitivity}': use one of {', '.join(SENSITIVITIES)}.",
                param="sensitivity",
            )
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
        meeting_id = self.store.create(
            principal.user_id, title.strip(), language, speakers, name, sha, duration, job_id
        )
        if sensitivity != "internal":
            self.store.update(meeting_id, sensitivity=sensitivity)
        return meeting_id, job_id

    def run_job(self, job_id: str, progress=None) -> None:
        """Transcribe the job's meeting (blocking; on the job worker or in the CLI)."""
        meeting = self.store.for_job(job_id)
        if meeting is None:
            return  # deleted meanwhile
        self._set_job(job_id, "running")
        try:
            transcript = self.transcription.transcribe_file(
                self.audio_path(meeting["audio_sha256"]),
                meeting["audio_name"],
                language=meeting["language"],
                words=True,
                progress=progress,
            )
        except InvalidRequest as exc:
            self.store.fail(meeting["id"], exc.code or "invalid_audio", exc.message)
            self._set_job(job_id, "failed", exc.message)
            return
        except Exception as exc:
            self.store.fail(meeting["id"], "transcription_failed", str(exc))
            self._set_job(job_id, "failed", str(exc))
            raise
        if not transcript.segments:
            message = "No speech was found in the recording (silence only?)."
            self.store.fail(meeting["id"], "no_speech", message)
            self._set_job(job_id, "failed", message)
            return
        try:
            speaker = self.transcription.registry.speaker_backend(self.settings.speaker_model)
            turns = diarization.turns(
                str(self.audio_path(meeting["audio_sha256"])),
                transcript.segments,
                meeting["speakers_expected"],
                speaker.encoder(),
            )
        except Exception as exc:
            self.store.fail(meeting["id"], "diarization_failed", str(exc))
            self._set_job(job_id, "failed", str(exc))
            raise
        self.store.save_transcript(
            meeting["id"],
            transcript.language,
            transcript.duration,
            turns,
        )
        self.index(meeting["id"])
        self._set_job(job_id, "done")
        if self.settings.audio_retention == "after-transcription":
            self._forget_audio(meeting["id"])
        self.apply_retention()

    def index(self, meeting_id: int) -> int:
        """Index the transcript, one heading per turn ("Mme Martin — 00:14:32"), so search
        and grounded chat cite meeting, speaker and time. Each meeting has a collection of
        its own (collections.meeting_id), so that access to it follows the meeting's grants.
        Re-run after speakers are renamed or the meeting changes."""
        meeting = self.store.get(meeting_id)
        store = self.documents.store
        collection = store.meeting_collection(meeting_id)
        if collection is None:
            collection_id = store.create_collection(
                f"{MEETINGS}/{meeting_id}",
                "",
                meeting["owner_id"],
                meeting["sensitivity"],
                meeting_id=meeting_id,
            )
        else:
            collection_id = collection["id"]
            store.update_collection(collection_id, sensitivity=meeting["sensitivity"])
        blocks: list[Block] = []
        for s in self.store.segments(meeting_id):
            speaker = s["speaker_name"]
            if not blocks or blocks[-2].text.split(" — ")[0] != speaker:
                at = subtitles.timestamp(s["start"])[:8]
                blocks += [
                    Block(f"{speaker} — {at}", "heading", level=1),
                    Block(s["text"], "paragraph"),
                ]
            else:
                blocks[-1] = Block(f"{blocks[-1].text} {s['text']}", "paragraph")
        for old in store.documents(collection_id):  # a new title replaces the old document
            if old["name"] != meeting["title"]:
                self.documents.remove_document(old["id"])
        document_id = self.documents.index_blocks(collection_id, meeting["title"], blocks)
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

    def _set_job(self, job_id: str, status: str, error: str | None = None) -> None:
        self.store.set_job(job_id, status, error)

    # --- reading --------------------------------------------------------------------------

    def meeting(self, principal: Principal, meeting_id: int, level: str = "read"):
        row = self.store.get(meeting_id)
        if row is None:
            raise NotFound(f"No meeting with id {meeting_id}.", param="meeting_id")
        self.access.require(principal, "meeting", meeting_id, level)
        return row

    def meetings(self, principal: Principal):
        return self.store.listing(self.access.meeting_ids(principal))

    def update(
        self,
        principal: Principal,
        meeting_id: int,
        *,
        title: str | None = None,
        sensitivity: str | None = None,
    ):
        """Rename a meeting or change its sensitivity (needs 'manage'); re-indexed."""
        self.meeting(principal, meeting_id, "manage")
        fields = {}
        if title is not None:
            if not title.strip():
                raise InvalidRequest("A meeting needs a title.", param="title")
            fields["title"] = title.strip()
        if sensitivity is not None:
            if sensitivity not in SENSITIVITIES:
                raise InvalidRequest(
                    f"Unknown sensitivity '{sensitivity}': use one of {', '.join(SENSITIVITIES)}.",
                    param="sensitivity",
                )
            fields["sensitivity"] = sensitivity
        if fields:
            self.store.update(meeting_id, **fields)
            if self.store.get(meeting_id)["status"] == "transcribed":
                self.index(meeting_id)
        return self.store.get(meeting_id)

    def transcript(self, principal: Principal, meeting_id: int) -> list[dict]:
        self.meeting(principal, meeting_id)
        return [
            {
                "start": r["start"],
                "end": r["end"],
                "speaker": r["speaker_name"],
                "speaker_label": r["speaker"],
                "text": r["text"],
                "words": [{"start": s, "end": e, "word": w} for s, e, w in json.loads(r["words"])],
            }
            for r in self.store.segments(meeting_id)
        ]

    def export_office(self, principal: Principal, meeting_id: int, fmt: str) -> bytes:
        """The transcript as a DOCX or ODT document."""
        meeting = self.meeting(principal, meeting_id)
        subtitle = (
            f"{meeting['audio_name']} — {meeting['duration']:.0f} s — {meeting['language'] or ''}"
        )
        make = office.docx if fmt == "docx" else office.odt
        return make(meeting["title"], subtitle, self.transcript(principal, meeting_id))

    def export(self, principal: Principal, meeting_id: int, fmt: str) -> str:
        meeting = self.meeting(principal, meeting_id)
        segments = [
            Segment(
                s["start"],
                s["end"],
                f"{s['speaker']} : {s['text']}",
                tuple(Word(w["start"], w["end"], w["word"], 1.0) for w in s["words"]),
            )
            for s in self.transcript(principal, meeting_id)
        ]
        if fmt == "srt":
            return subtitles.srt(segments)
        if fmt == "vtt":
            return subtitles.vtt(segments)
        lines = [f"{meeting['title']}\n"] + [
            f"[{subtitles.timestamp(s.start, ',')[:8]}] {s.text}" for s in segments
        ]
        return "\n".join(lines) + "\n"

    def rename_speaker(self, principal: Principal, meeting_id: int, label: str, name: str) -> None:
        self.meeting(principal, meeting_id, "write")
        if not name.strip():
            raise InvalidRequest("A speaker needs a name.", param="name")
        if not self.store.rename_speaker(meeting_id, label, name.strip()):
            raise NotFound(f"No speaker '{label}' in meeting {meeting_id}.", param="label")
        self.index(meeting_id)

    async def write_minutes(
        self, principal: Principal, meeting_id: int, chat, model: str | None = None
    ) -> dict:
        """Ask the chat model for the minutes, window by window (map), merge them (reduce),
        store and return them with their rendering (within the request)."""
        meeting, backend = self._minutes_checks(principal, meeting_id, chat, model)
        return await self._compose_minutes(meeting, chat, backend.entry.id)

    def queue_minutes(
        self, principal: Principal, meeting_id: int, chat, model: str | None = None
    ) -> str:
        """The same as a background job (kind 'minutes'): checked now, written by the job
        worker; return the job id. The model chosen is kept with the job, so a job resumed
        after a restart uses it too."""
        meeting, backend = self._minutes_checks(principal, meeting_id, chat, model)
        job_id = uuid.uuid4().hex
        params = {"model": backend.entry.id}
        self.store.create_job(job_id, "minutes", principal.user_id, meeting["id"], params)
        return job_id

    def run_minutes_job(self, job_id: str, chat, run_async) -> None:
        """Write a 'minutes' job's minutes (blocking, on the job worker). ``run_async`` runs
        a coroutine where the chat models live (JobRunner.run_async)."""
        meeting = self.store.for_job(job_id)
        if meeting is None:
            return  # deleted meanwhile
        self._set_job(job_id, "running")
        model = self.store.job_params(job_id).get("model")
        try:
            backend = chat.backend_for(model)
            # Checked again: the meeting's sensitivity may have changed since it was queued.
            self.access.check_route(
                meeting["sensitivity"],
                backend.location,
                f"Meeting '{meeting['title']}'",
                backend.entry.id,
            )
            run_async(self._compose_minutes(meeting, chat, backend.entry.id))
        except GreffierError as exc:
            self._set_job(job_id, "failed", exc.message)
            return
        except Exception as exc:
            self._set_job(job_id, "failed", str(exc))
            raise
        self._set_job(job_id, "done")

    def _minutes_checks(self, principal: Principal, meeting_id: int, chat, model: str | None):
        """What would make writing the minutes fail, checked before any work: access,
        transcript, model, and where the meeting's sensitivity lets it be sent."""
        meeting = self.meeting(principal, meeting_id, "write")
        if meeting["status"] != "transcribed":
            raise InvalidRequest(
                "This meeting has no transcript yet.", param="meeting_id", code="not_transcribed"
            )
        backend = chat.backend_for(model)
        self.access.check_route(
            meeting["sensitivity"],
            backend.location,
            f"Meeting '{meeting['title']}'",
            backend.entry.id,
        )
        return meeting, backend

    async def _compose_minutes(self, meeting, chat, model: str) -> dict:
        meeting_id = meeting["id"]
        rows = await asyncio.to_thread(self.store.segments, meeting_id)
        segments = [
            {"start": r["start"], "speaker": r["speaker_name"], "text": r["text"]} for r in rows
        ]
        if not segments:
            raise InvalidRequest(
                "This meeting has no transcript yet.", param="meeting_id", code="not_transcribed"
            )
        language = "fr" if (meeting["language"] or "fr") == "fr" else "en"
        result = minutes.Minutes(
            meeting["title"],
            language,
            list(dict.fromkeys(s["speaker"] for s in segments)),
            model=model,
        )
        for lines in minutes.windows(segments):
            request = Generation(
                messages=(
                    Message("system", minutes.INSTRUCTIONS[language]),
                    Message("user", "\n".join(lines)),
                ),
                max_tokens=400,
                temperature=0.0,
            )
            answer = await chat.answer(model, request)
            start = minutes.seconds(lines[0][1:9]) or 0.0
            found = minutes.parse(answer.text, start, tuple(result.participants))
            minutes.merge(result, minutes.combine(minutes.cues(lines, language), found))
        template = Path(self.settings.minutes_template) if self.settings.minutes_template else None
        body = result.as_dict() | {"markdown": minutes.render(result, template)}
        await asyncio.to_thread(
            self.store.save_minutes, meeting_id, json.dumps(body, ensure_ascii=False), model
        )
        return body

    def stored_minutes(self, principal: Principal, meeting_id: int) -> dict:
        self.meeting(principal, meeting_id)
        row = self.store.minutes(meeting_id)
        if row is None:
            raise NotFound(
                f"Meeting {meeting_id} has no minutes yet: POST to create them.", param="meeting_id"
            )
        return json.loads(row["content"])

    def delete(self, principal: Principal, meeting_id: int) -> None:
        self.meeting(principal, meeting_id, "manage")
        self.remove(meeting_id)

    def remove(self, meeting_id: int) -> None:
        """Delete a meeting and everything derived from it (no access check: callers do)."""
        collection = self.documents.store.meeting_collection(meeting_id)
        if collection is not None:
            self.documents.store.delete_collection(collection["id"])
        sha = self.store.delete(meeting_id)
        if sha and not self.store.audio_in_use(sha):
            self.audio_path(sha).unlink(missing_ok=True)
