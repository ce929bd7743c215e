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
from greffier.errors import InvalidRequest, Unsupported
from greffier.http.inputs import CollectionId, MeetingId
from greffier.models.backends.base import (
    Generation,
    Message,
    NamedTool,
    ResponseFormat,
    Tool,
    ToolCall,
    ToolChoice,
)


def _only(*schemas: dict) -> dict:
    """The published schema of a field that accepts only these shapes (or null)."""
    return {"anyOf": [*schemas, {"type": "null"}]}


class TextPart(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["type", "text"]})

    type: str = Field(json_schema_extra={"enum": ["text", "input_text", "output_text"]})
    text: Annotated[str | None, WithJsonSchema({"type": "string"})] = None


def part_texts(content: str | list[TextPart] | None, param: str) -> str:
    """The text of message content given as a string or as text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if part.type not in ("text", "input_text", "output_text") or part.text is None:
            raise Unsupported(
                f"Content parts of type '{part.type}' are not supported: send text.",
                param=param,
            )
        texts.append(part.text)
    return "".join(texts)


class FunctionCall(BaseModel):
    name: str = Field(min_length=1)
    arguments: str = "{}"


class ToolCallIn(BaseModel):
    """A function call of an earlier assistant message, sent back in the history."""

    model_config = ConfigDict(extra="ignore")

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    # A tool message names the call it answers (checked in to_message).
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "anyOf": [
                {"properties": {"role": {"enum": ["system", "developer", "user", "assistant"]}}},
                {
                    "properties": {
                        "role": {"const": "tool"},
                        "tool_call_id": {"type": "string", "minLength": 1},
                    },
                    "required": ["tool_call_id"],
                },
            ]
        },
    )

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None

    def to_message(self, index: int) -> Message:
        if self.role == "tool" and not self.tool_call_id:
            raise InvalidRequest(
                "A tool message needs the tool_call_id of the call it answers.",
                param=f"messages.{index}.tool_call_id",
            )
        return Message(
            "system" if self.role == "developer" else self.role,
            part_texts(self.content, f"messages.{index}.content"),
            tuple(
                ToolCall(c.id, c.function.name, c.function.arguments) for c in self.tool_calls or ()
            ),
            self.tool_call_id if self.role == "tool" else None,
        )


class FunctionDefinition(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")
    description: str = ""
    parameters: dict = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = False

    def to_tool(self) -> Tool:
        return Tool(self.name, self.description, self.parameters, bool(self.strict))


def _function_definition_schema() -> dict:
    """FunctionDefinition's schema, inlined where ToolIn refers to it."""
    schema = FunctionDefinition.model_json_schema()
    schema.pop("title", None)
    return schema


FUNCTION_DEFINITION = _function_definition_schema()


class ToolIn(BaseModel):
    # Only functions: the schema says so, the check (chat_tools) names the type refused.
    model_config = ConfigDict(extra="ignore", json_schema_extra={"required": ["type", "function"]})

    type: str = Field(json_schema_extra={"enum": ["function"]})
    function: Annotated[FunctionDefinition | None, WithJsonSchema(FUNCTION_DEFINITION)] = None


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: NamedFunction


def chat_tools(tools: list[ToolIn] | None) -> tuple[Tool, ...]:
    out = []
    for i, tool in enumerate(tools or ()):
        if tool.type != "function" or tool.function is None:
            raise Unsupported(
                f"Tools of type '{tool.type}' are not supported: only functions.",
                param=f"tools.{i}.type",
            )
        out.append(tool.function.to_tool())
    return tuple(out)


class JsonSchemaFormat(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = "response"
    description: str = ""
    json_schema: dict | None = Field(None, alias="schema")
    strict: bool | None = False


class ResponseFormatIn(BaseModel):
    # A json_schema format carries its schema (checked in to_format).
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "anyOf": [
                {"properties": {"type": {"enum": ["text", "json_object"]}}},
                {
                    "properties": {
                        "type": {"const": "json_schema"},
                        "json_schema": {
                            "type": "object",
                            "properties": {"schema": {"type": "object"}},
                            "required": ["schema"],
                        },
                    },
                    "required": ["json_schema"],
                },
            ]
        },
    )

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    def to_format(self) -> ResponseFormat:
        if self.type != "json_schema":
            return ResponseFormat(self.type)
        if self.json_schema is None or self.json_schema.json_schema is None:
            raise InvalidRequest(
                "A json_schema response_format needs json_schema.schema.",
                param="response_format.json_schema",
            )
        spec = self.json_schema
        return ResponseFormat("json_schema", spec.json_schema, spec.name, bool(spec.strict))


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
    # Not implemented: refused when it would change the answer (an empty map would not).
    logit_bias: dict[str, float] | None = Field(
        None, json_schema_extra=_only({"type": "object", "maxProperties": 0})
    )
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

    def _refuse_logit_bias(self) -> None:
        if self.logit_bias:
            raise Unsupported("logit_bias is not supported.", param="logit_bias")

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


def tool_choice_of(choice: str | NamedToolChoice | None) -> ToolChoice:
    if choice is None:
        return "auto"
    if isinstance(choice, NamedToolChoice):
        return NamedTool(choice.function.name)
    return choice


class ChatCompletionRequest(_Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    tools: list[ToolIn] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormatIn | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    # The deprecated forerunners of tools: refused rather than silently ignored.
    functions: list | None = Field(None, json_schema_extra=_only({"type": "array", "maxItems": 0}))
    function_call: str | dict | None = Field(
        None, json_schema_extra=_only({"const": ""}, {"type": "object", "maxProperties": 0})
    )
    # Text answers only: other output modalities and audio settings are refused.
    modalities: list[str] | None = Field(
        None, json_schema_extra=_only({"type": "array", "items": {"const": "text"}})
    )
    audio: dict | None = Field(None, json_schema_extra={"anyOf": [{"type": "null"}]})
    retrieval: Retrieval | None = None
    # Greffier keeps each answer (question, answer, citations, model) for its author's
    # feedback (POST /v1/chat/completions/{id}/feedback); false keeps nothing.
    store: bool = True

    def to_generation(self) -> Generation:
        self._refuse_logit_bias()
        if self.functions or self.function_call:
            raise Unsupported(
                "'functions' and 'function_call' are deprecated: send 'tools' and 'tool_choice'.",
                param="functions" if self.functions else "function_call",
            )
        if any(m != "text" for m in self.modalities or ()) or self.audio is not None:
            raise Unsupported(
                "Answers are text only: audio output is not supported.",
                param="audio" if self.audio is not None else "modalities",
            )
        messages = tuple(m.to_message(i) for i, m in enumerate(self.messages))
        return Generation(
            messages=messages,
            tools=chat_tools(self.tools),
            tool_choice=tool_choice_of(self.tool_choice),
            parallel_tool_calls=self.parallel_tool_calls is not False,
            response_format=self.response_format.to_format() if self.response_format else None,
            logprobs=bool(self.logprobs),
            top_logprobs=self.top_logprobs or 0,
            **self._sampling(self.max_completion_tokens or self.max_tokens),
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
    logprobs: int | None = Field(None, ge=0, le=5)  # the legacy API's likeliest-token count

    def to_generation(self) -> Generation:
        prompt = self.prompt
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise Unsupported("Send one prompt per request.", param="prompt")
            prompt = prompt[0]
        if self.echo or self.suffix:
            raise Unsupported("'echo' and 'suffix' are not supported.", param="echo")
        self._refuse_logit_bias()
        return Generation(
            prompt=prompt,
            logprobs=self.logprobs is not None,
            top_logprobs=self.logprobs or 0,
            **self._sampling(self.max_tokens),
        )


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
