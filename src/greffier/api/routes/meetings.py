"""Meetings: upload a recording, follow its job, read and export the transcript."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from greffier.api.bodies import Language, NonBlank, Sensitivity
from greffier.api.errors import documented
from greffier.api.links import links
from greffier.http.inputs import MeetingId
from greffier.store.records import Meeting, TranscriptSegment

router = APIRouter(prefix="/v1/meetings", tags=["meetings"], responses=documented(403, 404))
BODY = documented(413)  # operations that take a body

MEETING = links(
    {
        "/v1/meetings/{meeting_id}": ("get", "patch", "delete"),
        "/v1/meetings/{meeting_id}/export": ("get",),
        "/v1/meetings/{meeting_id}/audio": ("get",),
        "/v1/meetings/{meeting_id}/speakers": ("post",),
        "/v1/meetings/{meeting_id}/minutes": ("get", "post"),
        "/v1/meetings/{meeting_id}/grants": ("get", "post", "delete"),
    },
    meeting_id="$response.body#/id",
) | links({"/v1/jobs/{job_id}": ("get",)}, job_id="$response.body#/job_id")


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
        "accepted": m.accepted,
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


@router.post(
    "",
    status_code=202,
    responses={202: {"description": "The meeting, and its transcription job.", "links": MEETING}}
    | BODY,
)
def add_meeting(
    request: Request,
    file: UploadFile = File(..., json_schema_extra={"minLength": 1}),  # not empty
    title: str = Form(..., min_length=1, max_length=300, pattern=r"\S"),
    language: Language = Form(""),
    speakers: int = Form(0, ge=0, le=20, description="How many people speak (0: found)."),
    sensitivity: Sensitivity = Form("internal"),
) -> dict:
    services, who = request.app.state.services, request.state.principal
    meeting_id, job_id = services.meetings.add(
        who,
        title,
        file.file.read(),
        file.filename or "audio",
        language=language or None,
        speakers=speakers or None,
        sensitivity=sensitivity,
    )
    return {"id": meeting_id, "object": "meeting", "job_id": job_id, "status": "pending"}


@router.get("")
def list_meetings(request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    return {"object": "list", "data": [_meeting(r) for r in services.meetings.meetings(who)]}


@router.get("/{meeting_id}")
def get_meeting(meeting_id: MeetingId, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    meeting, segments = services.meetings.read(who, meeting_id)
    return _meeting(meeting) | {"segments": [_segment(s) for s in segments]}


class MeetingChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: NonBlank(300) | None = None
    sensitivity: Sensitivity | None = None


@router.patch("/{meeting_id}", responses=BODY)
def change_meeting(meeting_id: MeetingId, body: MeetingChange, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    row = services.meetings.update(who, meeting_id, title=body.title, sensitivity=body.sensitivity)
    return _meeting(row)


OFFICE_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
}
TEXT_TYPES = {"txt": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt"}
BINARY = {"schema": {"type": "string", "format": "binary"}}
EXPORT_CONTENT = {media: BINARY for media in (*TEXT_TYPES.values(), *OFFICE_TYPES.values())}
PLAYABLE = ("audio/*", "video/*")  # a WebM or MP4 recording is a video/… type


@router.get(
    "/{meeting_id}/export", response_class=Response, responses={200: {"content": EXPORT_CONTENT}}
)
def export(
    meeting_id: MeetingId,
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
    return PlainTextResponse(data, media_type=TEXT_TYPES[format])


class SpeakerName(BaseModel):
    label: str = Field(min_length=1, max_length=200)
    name: NonBlank(200)


@router.post("/{meeting_id}/speakers", responses=BODY)
def rename_speaker(meeting_id: MeetingId, body: SpeakerName, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    services.meetings.rename_speaker(who, meeting_id, body.label, body.name)
    return {"id": meeting_id, "label": body.label, "name": body.name}


class MinutesRequest(BaseModel):
    model: str | None = Field(None, min_length=1, description="Default: the default chat model.")


@router.post(
    "/{meeting_id}/minutes",
    response_model=None,
    responses={202: {"description": "With background=true: the job that writes them."}}
    | documented(413, 502, 503, 504),
)
async def write_minutes(
    meeting_id: MeetingId,
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
def get_minutes(meeting_id: MeetingId, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    return services.minutes.stored(who, meeting_id)


@router.delete("/{meeting_id}")
def delete_meeting(meeting_id: MeetingId, request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    services.meetings.delete(who, meeting_id)
    return {"id": meeting_id, "object": "meeting", "deleted": True}


@router.get(
    "/{meeting_id}/audio",
    response_class=FileResponse,
    responses={
        200: {"content": {media: BINARY for media in (*PLAYABLE, "application/octet-stream")}}
    },
)
def audio(meeting_id: MeetingId, request: Request) -> Response:
    """The recording as uploaded, with HTTP Range support (a player seeks without
    downloading it all); 404 once the retention policy has deleted it. Its type is the
    one its bytes decode as (audio/wav, audio/ogg…), never guessed from the uploader's
    file name; anything else is an attachment."""
    services, who = request.app.state.services, request.state.principal
    wanted = request.headers.get("range", "")
    stored = services.meetings.audio(who, meeting_id, first=not wanted or wanted == "bytes=0-")
    inline = stored.media_type.startswith("audio/")
    disposition = f'{"inline" if inline else "attachment"}; filename="{stored.filename}"'
    return FileResponse(
        stored.path,
        media_type=stored.media_type,
        headers={"Cache-Control": "private", "Content-Disposition": disposition},
    )
