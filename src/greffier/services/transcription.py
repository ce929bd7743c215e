"""Transcribing uploaded recordings: checks first, then the speech model.

The recording is probed with PyAV before any decoding: a file that is not audio, is
truncated or corrupt, holds no audio stream, lasts zero seconds or longer than
``max_audio_seconds`` is refused with a precise reason. Decoding then streams from the
file (faster-whisper reads it through PyAV), so memory stays bounded by the model's
30-second windows, not the recording's length.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from greffier.errors import InvalidRequest
from greffier.models import files
from greffier.models.backends.base import Transcript
from greffier.models.registry import ModelRegistry
from greffier.settings import Settings

OPENAI_ALIASES = ("whisper-1",)

# The media types a stored recording is served with, by the container PyAV finds in its
# bytes (never by the name it was uploaded under: a WAV named x.html is still a WAV).
AUDIO_TYPES = {
    "wav": ("audio/wav", "wav"),
    "mp3": ("audio/mpeg", "mp3"),
    "ogg": ("audio/ogg", "ogg"),
    "flac": ("audio/flac", "flac"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("audio/mp4", "m4a"),
    "matroska,webm": ("audio/webm", "webm"),
    "aiff": ("audio/aiff", "aiff"),
}
UNKNOWN_AUDIO = ("application/octet-stream", "bin")


def audio_type(path: Path) -> tuple[str, str]:
    """(media type, file extension) of a stored recording, from its decoded container;
    anything not on the list is plain bytes (``application/octet-stream``)."""
    import av

    try:
        with av.open(str(path)) as container:
            return AUDIO_TYPES.get(container.format.name, UNKNOWN_AUDIO)
    except (av.error.FFmpegError, UnicodeDecodeError):
        return UNKNOWN_AUDIO


def probe_duration(path: Path, name: str) -> float:
    """Seconds of audio in the file, or InvalidRequest saying what is wrong with it."""
    import av

    try:
        with av.open(str(path)) as container:
            streams = container.streams.audio
            if not streams:
                raise InvalidRequest(
                    f"{name} holds no audio track.", param="file", code="invalid_audio"
                )
            stream = streams[0]
            if container.duration:
                return container.duration / 1_000_000
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
            # No duration in the headers (raw streams): count the decoded samples.
            samples = sum(frame.samples for frame in container.decode(stream))
            return samples / (stream.rate or 16000)
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidRequest(
            f"{name} is not a readable audio file (truncated, corrupt or another type): {exc}",
            param="file",
            code="invalid_audio",
        ) from exc


class TranscriptionService:
    def __init__(self, registry: ModelRegistry, settings: Settings):
        self.registry = registry
        self.settings = settings

    def check_ready(self, model: str | None = None) -> None:
        """Fail now, with the fix, if the speech model's files are missing or altered."""
        backend = self.registry.speech_backend(model or self.settings.speech_model)
        files.verify(self.settings.models_dir, backend.entry)

    def transcribe(
        self,
        model: str | None,
        data: bytes,
        filename: str,
        *,
        language: str | None = None,
        prompt: str | None = None,
        words: bool = False,
    ) -> Transcript:
        """Blocking. ``model`` None or an OpenAI name means the configured speech model."""
        model_id = self.settings.speech_model if model in (None, *OPENAI_ALIASES) else model
        self.registry.speech_backend(model_id)  # an unknown model fails before the upload
        name = Path(filename or "audio").name
        if not data:
            raise InvalidRequest(f"{name} is empty (0 bytes).", param="file", code="empty_file")
        with tempfile.NamedTemporaryFile(suffix=Path(name).suffix or ".bin") as handle:
            handle.write(data)
            handle.flush()
            return self.transcribe_file(
                Path(handle.name),
                name,
                model=model_id,
                language=language,
                prompt=prompt,
                words=words,
            )

    def transcribe_file(
        self,
        path: Path,
        name: str,
        *,
        model: str | None = None,
        language: str | None = None,
        prompt: str | None = None,
        words: bool = False,
        progress: Callable[[float, float], None] | None = None,
    ) -> Transcript:
        """Check then transcribe a recording on disk; ``progress(done_s, total_s)``."""
        backend = self.registry.speech_backend(model or self.settings.speech_model)
        duration = probe_duration(path, name)
        if duration <= 0.05:
            raise InvalidRequest(
                f"{name} lasts 0 seconds: there is nothing to transcribe.",
                param="file",
                code="empty_audio",
            )
        if duration > self.settings.max_audio_seconds:
            raise InvalidRequest(
                f"{name} lasts {duration:.0f} s, over the {self.settings.max_audio_seconds:.0f}"
                " s accepted (setting max_audio_seconds).",
                param="file",
                code="audio_too_long",
            )
        return backend.transcribe(
            str(path),
            language=language,
            prompt=prompt,
            word_timestamps=words,
            progress=(lambda done: progress(done, duration)) if progress else None,
        )
