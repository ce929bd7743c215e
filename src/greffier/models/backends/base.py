"""The contracts backends fulfil.

A chat backend turns one :class:`Generation` into an async stream of :class:`TextDelta`
and :class:`ToolCallDelta` events ended by exactly one :class:`Finished`: streaming and
non-streaming API calls, the CLI and the benchmarks all consume that same stream. An
embedding backend turns texts into unit vectors. Backends know nothing of HTTP.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from greffier.errors import Unsupported
from greffier.models.catalogue import ModelEntry
from greffier.settings import Settings

# Where a backend sends the text it is given. Access control (sensitivity levels) uses it.
Location = Literal["in-process", "on-premises", "external"]


@dataclass(frozen=True)
class ToolCall:
    """A function call the model made: ``arguments`` is JSON text, as OpenAI sends it."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    role: str  # system, user, assistant or tool
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # an assistant's calls
    tool_call_id: str | None = None  # the call a tool message answers


@dataclass(frozen=True)
class Tool:
    """A function the model may call; ``parameters`` is its arguments' JSON schema."""

    name: str
    description: str = ""
    parameters: dict = field(default_factory=dict)
    strict: bool = False


@dataclass(frozen=True)
class NamedTool:
    """``tool_choice`` naming the one function the model must call."""

    name: str


ToolChoice = Literal["auto", "none", "required"] | NamedTool


@dataclass(frozen=True)
class ResponseFormat:
    """The shape the answer must have: any text, a JSON object, or JSON valid against
    ``schema``. With ``strict``, a schema the backend cannot enforce is refused."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    schema: dict | None = None
    name: str = ""
    strict: bool = False


@dataclass(frozen=True)
class Generation:
    """One request: either chat ``messages`` or a raw ``prompt`` (legacy completions)."""

    messages: tuple[Message, ...] = ()
    prompt: str | None = None
    max_tokens: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    # A hint: the caller wants the answer as it comes. A backend for which one whole
    # answer is cheaper or more complete (upstream usage counts) may use it.
    stream: bool = True
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None
    # Log-probability of each generated token, and of the ``top_logprobs`` likeliest
    # tokens at each position.
    logprobs: bool = False
    top_logprobs: int = 0

    @property
    def offers_tools(self) -> bool:
        """Whether the model may call a function in this request."""
        return bool(self.tools) and self.tool_choice != "none"


@dataclass(frozen=True)
class TopLogprob:
    token: str
    logprob: float
    bytes: tuple[int, ...]


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token: its log-probability and the likeliest alternatives."""

    token: str
    logprob: float
    bytes: tuple[int, ...]
    top: tuple[TopLogprob, ...] = ()


@dataclass(frozen=True)
class TextScore:
    """A text's total log-probability (natural log) over the ``tokens`` that were scored,
    and each of them with its own (``pieces``: the token — its id, or its text from an
    upstream server — and its log-probability, in order)."""

    logprob: float
    tokens: int
    pieces: tuple[tuple[int | str, float], ...] = ()


@dataclass(frozen=True)
class TextDelta:
    text: str
    # The tokens this piece of text came from, when log-probabilities were asked for.
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of the ``index``-th function call: its id and name come first (once),
    its ``arguments`` JSON text in one or more pieces."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class Finished:
    reason: Literal["stop", "length", "tool_calls"]
    prompt_tokens: int
    completion_tokens: int
    # Estimated energy of this generation, joules (see docs/energy.md); None if unknown.
    energy_joules: float | None = None
    # Extension fields of the response's `usage`, filled by the chat service.
    extra: dict = field(default_factory=dict)


Event = TextDelta | ToolCallDelta | Finished


@dataclass
class BackendStats:
    """Live counters a backend exposes on ``/health``."""

    loaded: bool = False
    active: int = 0
    waiting: int = 0
    completed: int = 0
    cancelled: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class Backend:
    """What every backend holds: its catalogue entry, the settings, live counters."""

    # Python modules the backend runs on; a model whose backend lacks one is not ready.
    runtime_modules: ClassVar[tuple[str, ...]] = ()

    def __init__(self, entry: ModelEntry, settings: Settings):
        self.entry = entry
        self.settings = settings
        self.stats = BackendStats()


class ChatBackend(Backend, ABC):
    """Runs one catalogue entry. Subclasses implement :meth:`generate` only."""

    can_stream: ClassVar[bool] = True
    # What the backend honours beyond plain text; the chat service refuses the rest.
    supports_tools: ClassVar[bool] = False
    supports_response_format: ClassVar[bool] = False
    supports_logprobs: ClassVar[bool] = False
    location: Location = "in-process"

    @property
    def context_window(self) -> int:
        """Tokens the model accepts, prompt and completion together."""
        return self.entry.context_length

    async def load(self) -> None:
        """Prepare the model (read files, open connections). Called before first use."""

    async def close(self) -> None:
        """Release what :meth:`load` took."""

    @abstractmethod
    def generate(self, request: Generation) -> AsyncIterator[Event]:
        """Stream the answer: TextDelta and ToolCallDelta events, then one Finished."""

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        """Token ids of ``text`` in the model's own vocabulary (blocking)."""
        raise Unsupported(
            f"Model '{self.entry.id}' does not expose its tokenizer here.", param="model"
        )

    def detokenize(self, tokens: list[int]) -> str:
        """Text of token ids in the model's own vocabulary (blocking)."""
        raise Unsupported(
            f"Model '{self.entry.id}' does not expose its tokenizer here.", param="model"
        )

    def render_chat(self, messages: tuple[Message, ...]) -> str:
        """The prompt the model would see for these messages (its chat template)."""
        raise Unsupported(
            f"Model '{self.entry.id}' does not expose its chat template here.", param="model"
        )

    def score_texts(self, texts: list[str]) -> list[TextScore]:
        """The total log-probability of each text under the model, each scored alone with
        no prompt (blocking). What bias measures such as CrowS-Pairs compare."""
        raise Unsupported(
            f"Model '{self.entry.id}' cannot give the log-probabilities of a text here.",
            param="model",
        )


class EmbeddingBackend(Backend, ABC):
    """Turns texts into unit vectors. Subclasses implement :meth:`embed` only.

    The call blocks (embedding is CPU work or a remote call): callers run it off the event
    loop. ``kind`` selects the asymmetric-retrieval convention of e5-like models
    (``query:`` / ``passage:`` prefixes); models without one ignore it.
    """

    location: Location = "in-process"
    dimensions: int = 384  # the backend's default; the catalogue entry's wins
    max_tokens: int = 512

    def __init__(self, entry: ModelEntry, settings: Settings):
        super().__init__(entry, settings)
        self.dimensions = entry.dimensions or type(self).dimensions

    def load(self) -> None:
        """Prepare the model (blocking). Called before first use."""

    def close(self) -> None:
        """Release what :meth:`load` took."""

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` for the model; the default is a rough 4 characters a token."""
        return max(1, len(text) // 4)

    @abstractmethod
    def embed(self, texts: list[str], kind: Literal["query", "passage"]) -> np.ndarray:
        """A (len(texts), dimensions) float32 array of L2-normalised rows."""


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float  # seconds
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    language: str
    language_probability: float
    duration: float  # seconds of audio
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()


class SpeakerBackend(Backend, ABC):
    """Voice embeddings, to tell speakers apart. Subclasses implement :meth:`encoder` only."""

    location: Location = "in-process"

    def load(self) -> None:
        """Load the encoder now rather than at its first use (blocking)."""
        self.encoder()

    def close(self) -> None:
        """Release the encoder."""

    @abstractmethod
    def encoder(self):
        """The loaded encoder, its file checked first: an object with Resemblyzer's
        ``embed_utterance(wav, return_partials=False, rate=1.3)`` (16 kHz float32 audio →
        unit vector; with ``return_partials``, also one vector per 1.6 s window and the
        windows' sample ranges)."""


class SpeechBackend(Backend, ABC):
    """Turns recorded speech into timed text. Subclasses implement :meth:`transcribe` only.

    The call blocks (it is CPU work or a remote call): callers run it off the event loop.
    """

    location: Location = "in-process"

    def load(self) -> None:
        """Load the model now rather than at the first transcription (blocking)."""

    def close(self) -> None:
        """Release the model."""

    @abstractmethod
    def transcribe(
        self,
        audio: str,
        *,
        language: str | None = None,
        prompt: str | None = None,
        word_timestamps: bool = False,
        progress: Callable[[float], None] | None = None,
    ) -> Transcript:
        """Transcribe the audio file at path ``audio`` (any format the decoder reads);
        ``progress(seconds_done)`` after each segment."""


@dataclass(frozen=True)
class SpeechPiece:
    """Audio made by one model call: mono float32 samples in [-1, 1], and the number of
    input tokens the model read for it (what quotas and usage count)."""

    audio: np.ndarray
    tokens: int


class SpeechSynthesisBackend(Backend, ABC):
    """Speaks text. Subclasses implement :meth:`synthesize` only.

    The text arrives written out as words: numbers, dates and abbreviations are expanded by
    the caller (for French, ``voice/french.py``), so a backend only turns words into sound.
    The call blocks (CPU work or a remote call) and yields audio as it is made: callers
    consume it off the event loop, sending each piece on before the next is ready.
    """

    location: Location = "in-process"
    sample_rate: ClassVar[int] = 24000

    @property
    def voices(self) -> list[str]:
        """The voices it speaks with (the catalogue's), the first being the default."""
        return list(self.entry.voices)

    def load(self) -> None:
        """Load the model now rather than at the first synthesis (blocking)."""

    def close(self) -> None:
        """Release the model."""

    @abstractmethod
    def synthesize(self, text: str, *, voice: str, speed: float = 1.0) -> Iterator[SpeechPiece]:
        """The audio of ``text`` spoken by ``voice`` at ``speed`` (1.0 is natural), at
        :attr:`sample_rate`, one piece per model call, each yielded as soon as it is made."""
