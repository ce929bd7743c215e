"""Speaking text: the use case behind ``/v1/audio/speech``, ``greffier say`` and the web
interface's "listen" buttons.

Before any sound, in order: the voice model is found (OpenAI's model names mean the
configured one), the voice, format and speed are checked, then the text: the caller's
(not empty, at most ``max_speech_characters``), or a meeting's minutes read by the server
itself, which needs read access to the meeting and a sensitivity the model's location may
receive (the same routing rule as a grounded answer; text a caller sends is theirs to
send, as in a chat message). The model's files are checked (a missing or altered file is a
503 now, not a cut stream later), and the request goes to the audit log: what was read
aloud, for whom, by which model, from which meeting.

Then the text is written out the French way (``voice/french.py``), cut into sentences
(``voice/text.py``), and each sentence is synthesised, encoded and handed on before the
next one is started. The model's input tokens count toward the caller's daily token quota
and the model's usage totals, as a chat answer's do, with an energy estimate (CPU seconds
× ``energy_cpu_watts_per_core``).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from greffier.errors import InvalidRequest
from greffier.models.backends.base import Finished, SpeechSynthesisBackend
from greffier.models.registry import ModelRegistry
from greffier.services.access import AccessService
from greffier.services.audit import AuditService
from greffier.services.meetings import MeetingService, resource
from greffier.services.minutes import MinutesService
from greffier.services.principal import OPERATOR, Principal
from greffier.services.quotas import QuotaService
from greffier.services.usage import UsageService
from greffier.settings import Settings
from greffier.voice import french
from greffier.voice.encoding import FORMATS, Encoder
from greffier.voice.text import from_markdown, sentences

# Names OpenAI clients send. Each model name means the configured voice model; each voice
# name the model's own first voice (French), so that a client written for OpenAI speaks
# French here unchanged.
OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
OPENAI_VOICES = (
    "alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx",
    "sage", "shimmer", "verse",
)  # fmt: skip
SPEEDS = (0.25, 4.0)
# response_format → the media type of its audio (what the API documents).
MEDIA_TYPES = {name: audio.media_type for name, audio in FORMATS.items()}


@dataclass(frozen=True)
class SpeechRequest:
    """What to say and how. ``meeting``: say that meeting's minutes (then ``text`` is
    empty)."""

    text: str = ""
    model: str | None = None
    voice: str | None = None
    format: str = "mp3"
    speed: float = 1.0
    meeting: int | None = None


@dataclass
class Speech:
    """Audio on its way: ``chunks`` is a blocking iterator of encoded bytes, sentence by
    sentence (the first already made); consume it off the event loop."""

    model: str
    voice: str
    format: str
    media_type: str
    sentences: int
    chunks: Iterator[bytes]


class SpeechSynthesisService:
    def __init__(
        self,
        registry: ModelRegistry,
        settings: Settings,
        access: AccessService,
        audit: AuditService,
        meetings: MeetingService,
        minutes: MinutesService,
        usage: UsageService | None = None,
        quotas: QuotaService | None = None,
    ):
        self.registry = registry
        self.settings = settings
        self.access = access
        self.audit = audit
        self.meetings = meetings
        self.minutes = minutes
        self.usage = usage
        self.quotas = quotas

    def backend_for(self, model: str | None) -> SpeechSynthesisBackend:
        model_id = self.settings.voice_model if model in (None, "", *OPENAI_MODELS) else model
        return self.registry.voice_backend(model_id)

    def voice_for(self, backend: SpeechSynthesisBackend, voice: str | None) -> str:
        voices = backend.voices
        if not voices:
            raise InvalidRequest(
                f"Model '{backend.entry.id}' lists no voice in the catalogue.", param="model"
            )
        if not voice or voice in OPENAI_VOICES:
            return voices[0]
        if voice not in voices:
            raise InvalidRequest(
                f"Unknown voice '{voice}' for model '{backend.entry.id}': use "
                f"{', '.join(voices)} (or an OpenAI voice name, which speaks with "
                f"{voices[0]}).",
                param="voice",
                code="invalid_voice",
            )
        return voice

    def speak(
        self,
        who: Principal,
        request: SpeechRequest,
        progress: Callable[[int, int], None] | None = None,
    ) -> Speech:
        """Check, audit and start; blocking (it loads the model). ``progress(done, total)``
        after each sentence."""
        backend = self.backend_for(request.model)
        voice = self.voice_for(backend, request.voice)
        if request.format not in FORMATS:
            raise InvalidRequest(
                f"Unknown response_format '{request.format}': use {', '.join(FORMATS)}.",
                param="response_format",
                code="invalid_format",
            )
        if not SPEEDS[0] <= request.speed <= SPEEDS[1]:
            raise InvalidRequest(
                f"speed must be between {SPEEDS[0]} and {SPEEDS[1]} (1.0 is natural).",
                param="speed",
            )
        text, resources = self._text(who, request, backend)
        said = sentences(french.normalise(text))
        if not any(re.search(r"\w", s) for s in said):
            raise InvalidRequest(
                "The text holds no word to say.", param="input", code="nothing_to_say"
            )
        backend.load()  # files checked now: a missing one is a 503, not a cut stream
        self.audit.record(who, "speech", model=backend.entry.id, query=text, resources=resources)
        encoder = Encoder(request.format, backend.sample_rate)
        chunks = self._audio(who, backend, said, voice, request.speed, encoder, progress)
        # The first sentence is made now: what fails before any sound (an upstream that is
        # down, a refused voice) is an error status, not a stream cut after its headers.
        first = next(chunks, b"")
        return Speech(
            backend.entry.id,
            voice,
            request.format,
            FORMATS[request.format].media_type,
            len(said),
            itertools.chain([first], chunks),
        )

    def _text(
        self, who: Principal, request: SpeechRequest, backend: SpeechSynthesisBackend
    ) -> tuple[str, list[dict]]:
        """The text to say, and the resources it was read from (for the audit log)."""
        if request.meeting is not None:
            if request.text.strip():
                raise InvalidRequest(
                    "Give either 'input' or 'meeting' (its minutes are read), not both.",
                    param="input",
                )
            meeting = self.meetings.meeting(who, request.meeting)
            self.access.check_route(
                meeting.sensitivity,
                backend.location,
                f"Meeting '{meeting.title}'",
                backend.entry.id,
            )
            minutes = self.minutes.stored(who, request.meeting)
            return from_markdown(minutes.get("markdown", "")), [resource(meeting)]
        if not request.text.strip():  # the published schema: pattern \S
            raise InvalidRequest(
                "'input' is empty: give the text to say.", param="input", code="empty_input"
            )
        limit = self.settings.max_speech_characters  # what was sent, as the schema counts
        if len(request.text) > limit:
            raise InvalidRequest(
                f"'input' holds {len(request.text)} characters, over the {limit} accepted (setting "
                "max_speech_characters): send it in parts.",
                param="input",
                code="input_too_long",
            )
        return request.text.strip(), []

    def _audio(
        self,
        who: Principal,
        backend: SpeechSynthesisBackend,
        said: list[str],
        voice: str,
        speed: float,
        encoder: Encoder,
        progress: Callable[[int, int], None] | None,
    ) -> Iterator[bytes]:
        tokens, cpu = 0, time.process_time()
        try:
            for done, sentence in enumerate(said, 1):
                for piece in backend.synthesize(sentence, voice=voice, speed=speed):
                    tokens += piece.tokens
                    data = encoder.encode(piece.audio)
                    if data:
                        yield data
                if progress:
                    progress(done, len(said))
            tail = encoder.finish()
            if tail:
                yield tail
        finally:
            encoder.close()
            self._account(who, backend, tokens, time.process_time() - cpu)

    def _account(
        self, who: Principal, backend: SpeechSynthesisBackend, tokens: int, cpu: float
    ) -> None:
        """What was said (all of it, or up to where the listener left) is counted."""
        if not tokens:
            return
        joules = cpu * self.settings.energy_cpu_watts_per_core
        if self.usage is not None:
            self.usage.record(backend.entry.id, Finished("stop", tokens, 0, energy_joules=joules))
        if self.quotas is not None and who != OPERATOR:
            self.quotas.record_tokens(who, tokens)
