"""POST /v1/audio/transcriptions and /v1/audio/speech, OpenAI-compatible: Greffier as a
Whisper server and as a voice."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse, StreamingResponse

from greffier.api.bodies import Language
from greffier.api.errors import documented
from greffier.api.schemas import SpeechBody
from greffier.meetings import subtitles
from greffier.services.speech_synthesis import MEDIA_TYPES, SpeechRequest

router = APIRouter(prefix="/v1/audio", tags=["audio"], responses=documented(404, 413, 503))

Format = Literal["json", "text", "srt", "verbose_json", "vtt"]
TEXT = {"schema": {"type": "string"}}


@router.post(
    "/transcriptions",
    responses={
        200: {"content": {"text/plain": TEXT, "application/x-subrip": TEXT, "text/vtt": TEXT}}
    },
)
def transcriptions(
    request: Request,
    file: UploadFile = File(..., json_schema_extra={"minLength": 1}),  # not empty
    model: str = Form("whisper-1", min_length=1),
    language: Language = Form(""),
    prompt: str = Form(""),
    response_format: Format = Form("json"),
    temperature: float = Form(0.0, ge=0, le=1),
    timestamp_granularities: list[Literal["word", "segment"]] = Form(
        [], alias="timestamp_granularities[]"
    ),
):
    """Plain def: FastAPI runs it in the threadpool, off the event loop."""
    service = request.app.state.services.transcription
    words = "word" in timestamp_granularities
    transcript = service.transcribe(
        model,
        file.file.read(),
        file.filename or "audio",
        language=language or None,
        prompt=prompt or None,
        words=words,
    )
    if response_format == "text":
        return PlainTextResponse(transcript.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(
            subtitles.srt(transcript.segments), media_type="application/x-subrip"
        )
    if response_format == "vtt":
        return PlainTextResponse(subtitles.vtt(transcript.segments), media_type="text/vtt")
    if response_format == "verbose_json":
        return subtitles.verbose_json(transcript, words)
    return {"text": transcript.text}


# The audio of each response_format, as a stream of bytes.
AUDIO = {"schema": {"type": "string", "format": "binary"}}
SPOKEN = {
    200: {"content": dict.fromkeys(MEDIA_TYPES.values(), AUDIO)},
    **documented(403, 502, 504),
}


@router.post("/speech", responses=SPOKEN, response_class=StreamingResponse)
def speech(body: SpeechBody, request: Request) -> StreamingResponse:
    """Plain def: checks and model loading run in the threadpool; the audio is then sent
    sentence by sentence as it is made (chunked transfer), each piece produced in the
    threadpool too."""
    body = body.checked()
    said = request.app.state.services.speech.speak(
        request.state.principal,
        SpeechRequest(
            text=body.input,
            model=body.model,
            voice=body.voice,
            format=body.response_format,
            speed=body.speed,
            meeting=body.meeting,
        ),
    )
    return StreamingResponse(
        said.chunks,
        media_type=said.media_type,
        headers={"X-Greffier-Model": said.model, "X-Greffier-Voice": said.voice},
    )


def state_speech_limit(document: dict, max_characters: int) -> dict:
    """The longest text to say is a setting: the published schema states this server's."""
    text = document["components"]["schemas"]["SpeechBody"]["properties"]["input"]
    text["maxLength"] = max_characters
    return document
