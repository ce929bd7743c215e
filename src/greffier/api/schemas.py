"""Request bodies of the OpenAI-compatible routes.

Unknown fields are ignored, as OpenAI-compatible servers commonly do, so clients written
for newer API versions keep working; fields we accept are checked strictly. Where a field
takes only part of what OpenAI's type allows (one prompt, n=1, text parts), its published
schema says so (``_ONLY``), while the check itself keeps its precise message.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from greffier.api.bodies import exactly_one
from greffier.errors import Unsupported
from greffier.http.inputs import CollectionId, MeetingId
from greffier.models.backends.base import Generation, Message


def _only(*schemas: dict) -> dict:
    """The published schema of a field that accepts only these shapes (or null)."""
    return {"anyOf": [*schemas, {"type": "null"}]}


class TextPart(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["type", "text"]})

    type: str = Field(json_schema_extra={"enum": ["text"]})
    text: Annotated[str | None, WithJsonSchema({"type": "string"})] = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self, index: int) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        texts = []
        for part in self.content:
            if part.type != "text" or part.text is None:
                raise Unsupported(
                    f"Content parts of type '{part.type}' are not supported: send text.",
                    param=f"messages.{index}.content",
                )
            texts.append(part.text)
        return "".join(texts)


class StreamOptions(BaseModel):
    include_usage: bool = False


class _Sampling(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = Field(
        None,
        json_schema_extra=_only(
            {"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 4}
        ),
    )
    # In-process models use the low 32 bits; the bounds are exact as JSON numbers.
    seed: int | None = Field(None, ge=-(2**31), le=2**32 - 1)
    n: int | None = Field(None, json_schema_extra=_only({"const": 1}))
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, value):
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @field_validator("n")
    @classmethod
    def _only_one(cls, value):
        if value not in (None, 1):
            raise ValueError("only n=1 is supported")
        return value

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def _sampling(self, max_tokens: int | None) -> dict:
        stops = [self.stop] if isinstance(self.stop, str) else (self.stop or [])
        return {
            "max_tokens": max_tokens,
            "temperature": 1.0 if self.temperature is None else self.temperature,
            "top_p": 1.0 if self.top_p is None else self.top_p,
            "stop": tuple(stops),
            "seed": self.seed,
            "presence_penalty": self.presence_penalty or 0.0,
            "frequency_penalty": self.frequency_penalty or 0.0,
            "stream": self.stream,
        }


class Retrieval(BaseModel):
    """Extension: ground the answer in documents (send with the openai client's extra_body)."""

    model_config = ConfigDict(extra="forbid")

    # Nothing named: every collection and meeting the caller may read (and the model may
    # receive). "all" for meetings: every readable meeting.
    collections: list[CollectionId] | None = None
    meetings: list[MeetingId] | Literal["all"] | None = None
    k: int = Field(4, ge=1, le=20)
    mode: Literal["lexical", "semantic", "hybrid"] = "hybrid"


class ChatCompletionRequest(_Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    # Tool calling is not supported yet: the schema says so (only an empty list).
    tools: list | None = Field(None, json_schema_extra=_only({"type": "array", "maxItems": 0}))
    retrieval: Retrieval | None = None

    def to_generation(self) -> Generation:
        if self.tools:
            raise Unsupported("Tool calling is not supported yet.", param="tools")
        messages = tuple(
            Message("system" if m.role == "developer" else m.role, m.text(i))
            for i, m in enumerate(self.messages)
        )
        return Generation(
            messages=messages, **self._sampling(self.max_completion_tokens or self.max_tokens)
        )


class CompletionRequest(_Sampling):
    prompt: str | list[str] = Field(
        json_schema_extra={
            "anyOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "minItems": 1,
                    "maxItems": 1,
                },
            ]
        }
    )
    max_tokens: int | None = Field(16, ge=1)  # OpenAI's default for legacy completions
    echo: bool = Field(False, json_schema_extra={"enum": [False]})
    suffix: str | None = Field(None, json_schema_extra=_only({"type": "string", "maxLength": 0}))

    def to_generation(self) -> Generation:
        prompt = self.prompt
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise Unsupported("Send one prompt per request.", param="prompt")
            prompt = prompt[0]
        if self.echo or self.suffix:
            raise Unsupported("'echo' and 'suffix' are not supported.", param="echo")
        return Generation(prompt=prompt, **self._sampling(self.max_tokens))


# The longest text to say by default (setting max_speech_characters); the published
# schema states the server's own setting (api/app.py).
SPEECH_CHARACTERS = 4096


def _speech_input(schema: dict) -> None:
    """Absent when a meeting is read (``exactly_one``), never empty: no default shown."""
    schema.pop("default", None)
    schema.update(minLength=1, maxLength=SPEECH_CHARACTERS, pattern=r"\S")


class SpeechBody(BaseModel):
    """POST /v1/audio/speech. ``meeting`` (Greffier's extension) reads that meeting's
    minutes instead of ``input``. The schema states what is refused before any sound
    except what depends on the catalogue (a model's voices) or on the text once written
    out (no word left to say); those refusals keep their own codes in the service."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=exactly_one("input", "meeting"))

    model: str = Field("tts-1", min_length=1)
    input: str = Field("", json_schema_extra=_speech_input)
    voice: str | None = Field(None, json_schema_extra={"examples": ["ff_siwis", "alloy"]})
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    instructions: str | None = Field(
        None, json_schema_extra=_only({"type": "string", "maxLength": 0})
    )
    stream_format: Literal["audio", "sse"] = Field("audio", json_schema_extra={"enum": ["audio"]})
    meeting: MeetingId | None = None

    def checked(self) -> SpeechBody:
        """Refuse what OpenAI's newer voices accept and this server cannot do."""
        if self.instructions:
            raise Unsupported(
                "'instructions' (how to speak) is not supported: the voice reads the text as "
                "written.",
                param="instructions",
            )
        if self.stream_format == "sse":
            raise Unsupported(
                "stream_format 'sse' is not supported: the audio itself is streamed "
                "(stream_format 'audio').",
                param="stream_format",
            )
        return self
