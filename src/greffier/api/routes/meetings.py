"""Meetings: upload a recording, follow its job, read and export the transcript."""

from __future__ import annotations

import asyncio
import mimetypes
from typing import Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from greffier.store.records import Meeting, TranscriptSegment

router = APIRouter(prefix="/v1/meetings", tags=["meetings"])


def _meeting(m: Meeting) -> dict:
    return {
        "id": m.id,
        "object": "meeting",
        "title": m.title,
        "status": m.status,
        "language": m.language,
        "duration": m.duration,
        "speakers_expected": m.speakers_expected,
        "sensitivity": m.sensitivity,
        "owner_id": m.owner_id,
        "audio_name": m.audio_name,
        "audio_available": m.audio_sha256 is not None,
        "error": {"code": m.error_code, "message": m.error} if m.error else None,
        "created_at": m.created_at,
    }


def _segment(s: TranscriptSegment) -> dict:
    return {
        "start": s.start,
        "end": s.end,
        "speaker": s.speaker_name,
        "speaker_label": s.speaker,
        "text": s.text,
        "words": [{"start": start, "end": end, "word": w} for start, end, w in s.words],
    }


@router.post("", status_code=202)
def add_meeting(
    request: Request,
    file: UploadFile = File(...),
    title: str = Form(..., min_length=1, max_length=300),
    language: str | None = Form(None),
    speakers: int | None = Form(None),
    sensitivity: str = Form("internal"),
) -> dict:
    services, who = request.app.state.services, request.state.principal
    meeting_id, job_id = services.meetings.add(
        who,
        title,
        file.file.read(),
        file.filename or "audio",
        language=language or None,
        speakers=speakers,
        sensitivity=sensitivity,
    )
    return {"id": meeting_id, "object": "meeting", "job_id": job_id, "status": "pending"}


@router.get("")
def list_meetings(request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    return {"object": "list", "data": [_meeting(r) for r in services.meetings.meetings(who)]}


@router.get("/{meeting_id}")
def get_meeting(meeting_id: int, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    meeting, segments = services.meetings.read(who, meeting_id)
    return _meeting(meeting) | {"segments": [_segment(s) for s in segments]}


class MeetingChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=300)
    sensitivity: str | None = None


@router.patch("/{meeting_id}")
def change_meeting(meeting_id: int, body: MeetingChange, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    row = services.meetings.update(who, meeting_id, title=body.title, sensitivity=body.sensitivity)
    return _meeting(row)


OFFICE_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
}


@router.get("/{meeting_id}/export")
def export(
    meeting_id: int,
    request: Request,
    format: Literal["txt", "srt", "vtt", "docx", "odt"] = "txt",
) -> Response:
    services, who = request.app.state.services, request.state.principal
    data = services.meetings.export(who, meeting_id, format)
    if format in OFFICE_TYPES:
        disposition = f'attachment; filename="meeting-{meeting_id}.{format}"'
        return Response(
            data, media_type=OFFICE_TYPES[format], headers={"Content-Disposition": disposition}
        )
    media = {"txt": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt"}[format]
    return PlainTextResponse(data, media_type=media)


class SpeakerName(BaseModel):
    label: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=200)


@router.post("/{meeting_id}/speakers")
def rename_speaker(meeting_id: int, body: SpeakerName, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    services.meetings.rename_speaker(who, meeting_id, body.label, body.name)
    return {"id": meeting_id, "label": body.label, "name": body.name}


class MinutesRequest(BaseModel):
    model: str | None = None  # default: the server's default chat model


@router.post("/{meeting_id}/minutes", response_model=None)
async def write_minutes(
    meeting_id: int,
    request: Request,
    body: MinutesRequest | None = None,
    background: bool = False,
) -> dict | JSONResponse:
    """(Re)write the minutes with the chat model; returns them, Markdown included. With
    ``?background=true``: 202 and a job to follow at GET /v1/jobs/{job_id}, then GET the
    minutes."""
    services, who = request.app.state.services, request.state.principal
    model = body.model if body else None
    if background:
        job_id = await asyncio.to_thread(services.minutes.queue_job, who, meeting_id, model)
        return JSONResponse(
            {"id": meeting_id, "object": "meeting.minutes", "job_id": job_id, "status": "queued"},
            status_code=202,
        )
    return await services.minutes.write(who, meeting_id, model)


@router.get("/{meeting_id}/minutes")
def get_minutes(meeting_id: int, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    return services.minutes.stored(who, meeting_id)


@router.delete("/{meeting_id}")
def delete_meeting(meeting_id: int, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    services.meetings.delete(who, meeting_id)
    return {"id": meeting_id, "object": "meeting", "deleted": True}


@router.get("/{meeting_id}/audio")
def audio(meeting_id: int, request: Request) -> Response:
    """The recording as uploaded, with HTTP Range support (a player seeks without
    downloading it all); 404 once the retention policy has deleted it."""
    services, who = request.app.state.services, request.state.principal
    meeting, path = services.meetings.audio(who, meeting_id)
    media_type = mimetypes.guess_type(meeting.audio_name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private"})
