"""POST /v1/audio/transcriptions, OpenAI-compatible: Greffier as a Whisper server."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse

from greffier.meetings import subtitles

router = APIRouter(prefix="/v1/audio", tags=["audio"])

Format = Literal["json", "text", "srt", "verbose_json", "vtt"]


@router.post("/transcriptions")
def transcriptions(
    request: Request,
    file: UploadFile = File(...),
    model: str = Form("whisper-1"),
    language: str | None = Form(None),
    prompt: str | None = Form(None),
    response_format: Format = Form("json"),
    temperature: float | None = Form(None, ge=0, le=1),
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
        prompt=prompt,
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
