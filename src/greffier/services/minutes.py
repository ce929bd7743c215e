"""Minutes of a transcribed meeting, written by the chat model: now (within the request)
or as a background job (kind ``minutes``), then read back.

Before any work, and again when a queued job runs (the meeting may have changed since),
the same checks: the person may write to the meeting, it has a transcript, the model
exists and the meeting's sensitivity lets its text go where that model runs. The
map-reduce itself (cues, the model's lines, merging, layout) is ``meetings/minutes.py``.

The tokens the model uses are charged to the person who asked (daily token quotas), as for
a chat answer; a background job remembers who that was. Writing and reading minutes are
audited.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path

from greffier.errors import GreffierError, InvalidRequest, NotFound, public_message
from greffier.meetings import minutes
from greffier.meetings.subtitles import clock_seconds
from greffier.models.backends.base import ChatBackend, Generation, Message
from greffier.services.access import AccessService
from greffier.services.audit import AuditService
from greffier.services.chat import ChatService
from greffier.services.jobs import JobQueue
from greffier.services.meetings import MeetingService, resource
from greffier.services.principal import Principal
from greffier.settings import Settings
from greffier.store.interfaces import JobStore
from greffier.store.records import Meeting

RunAsync = Callable[[Coroutine], object]


class MinutesService:
    def __init__(
        self,
        settings: Settings,
        meetings: MeetingService,
        chat: ChatService,
        access: AccessService,
        jobs: JobStore,
        queue: JobQueue,
        audit: AuditService,
    ):
        self.settings = settings
        self.meetings = meetings
        self.chat = chat
        self.access = access
        self.jobs = jobs
        self.queue = queue
        self.audit = audit

    async def write(self, principal: Principal, meeting_id: int, model: str | None = None) -> dict:
        """Ask the chat model for the minutes, window by window (map), merge them (reduce),
        store and return them with their rendering."""
        meeting, backend = await asyncio.to_thread(self._checked, principal, meeting_id, model)
        await asyncio.to_thread(self._audit_writing, principal, meeting, backend.entry.id)
        return await self._compose(meeting, backend.entry.id, principal)

    def _audit_writing(self, principal: Principal, meeting: Meeting, model: str) -> None:
        self.audit.record(
            principal, "meeting.minutes.write", model=model, resources=[resource(meeting)]
        )

    def queue_job(self, principal: Principal, meeting_id: int, model: str | None = None) -> str:
        """The same as a background job: checked now, written by the job worker; return the
        job id. The model chosen is kept with the job, so a job resumed after a restart
        uses it too."""
        meeting, backend = self._checked(principal, meeting_id, model)
        job_id = uuid.uuid4().hex
        self.jobs.create(
            job_id,
            "minutes",
            principal.user_id,
            meeting_id=meeting.id,
            # The key asked with: the job's tokens are charged to it, as if asked now.
            params={"model": backend.entry.id, "key_id": principal.key_id},
        )
        self._audit_writing(principal, meeting, backend.entry.id)
        self.queue.submit(job_id)
        return job_id

    def run_job(self, job_id: str, run_async: RunAsync) -> None:
        """Write a 'minutes' job's minutes (blocking, on the job worker). ``run_async`` runs
        a coroutine where the chat models live (JobRunner.run_async)."""
        job = self.jobs.get(job_id)
        meeting = self.meetings.store.get(job.meeting_id) if job and job.meeting_id else None
        if meeting is None:
            return  # deleted meanwhile
        self.jobs.finish_step(job_id, "running")
        try:
            # Checked again: the meeting's sensitivity may have changed since it was queued.
            backend = self._route(meeting, job.params.get("model"))
            payer = (
                Principal(job.owner_id, "", "member", job.params.get("key_id", 0))
                if job.owner_id is not None
                else None
            )
            run_async(self._compose(meeting, backend.entry.id, payer))
        except GreffierError as exc:
            self.jobs.finish_step(job_id, "failed", exc.message)
            return
        except Exception as exc:
            self.jobs.finish_step(job_id, "failed", public_message(exc))
            raise
        self.jobs.finish_step(job_id, "done")

    def stored(self, principal: Principal, meeting_id: int) -> dict:
        """The minutes last written; reading them is audited."""
        meeting = self.meetings.meeting(principal, meeting_id)
        found = self.meetings.store.minutes(meeting_id)
        if found is None:
            raise NotFound(
                f"Meeting {meeting_id} has no minutes yet: POST to create them.", param="meeting_id"
            )
        self.audit.record(principal, "meeting.minutes", resources=[resource(meeting)])
        return found.content

    def _checked(
        self, principal: Principal, meeting_id: int, model: str | None
    ) -> tuple[Meeting, ChatBackend]:
        """What would make writing the minutes fail, checked before any work."""
        meeting = self.meetings.meeting(principal, meeting_id, "write")
        if meeting.status != "transcribed":
            raise InvalidRequest(
                "This meeting has no transcript yet.", param="meeting_id", code="not_transcribed"
            )
        return meeting, self._route(meeting, model)

    def _route(self, meeting: Meeting, model: str | None) -> ChatBackend:
        """The model's backend, if the meeting's sensitivity lets its text go there."""
        backend = self.chat.backend_for(model)
        self.access.check_route(
            meeting.sensitivity, backend.location, f"Meeting '{meeting.title}'", backend.entry.id
        )
        return backend

    async def _compose(self, meeting: Meeting, model: str, payer: Principal | None) -> dict:
        """``payer``: who is charged the tokens (None: nobody, a job of a deleted user)."""
        rows = await asyncio.to_thread(self.meetings.store.segments, meeting.id)
        segments = [{"start": r.start, "speaker": r.speaker_name, "text": r.text} for r in rows]
        if not segments:
            raise InvalidRequest(
                "This meeting has no transcript yet.", param="meeting_id", code="not_transcribed"
            )
        language = "fr" if (meeting.language or "fr") == "fr" else "en"
        result = minutes.Minutes(
            meeting.title,
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
            answer = await self.chat.answer(model, request, payer)
            start = clock_seconds(lines[0][1:9]) or 0.0
            found = minutes.parse(answer.text, start, tuple(result.participants))
            minutes.merge(result, minutes.combine(minutes.cues(lines, language), found))
        template = Path(self.settings.minutes_template) if self.settings.minutes_template else None
        body = result.as_dict() | {"markdown": minutes.render(result, template)}
        await asyncio.to_thread(self.meetings.store.save_minutes, meeting.id, body, model)
        return body
