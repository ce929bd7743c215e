"""The backend registry, shared by built-in backends and third-party plugins.

A plugin is a module exposing a ``register_backends(register)`` hook, announced with an
entry point in the ``greffier`` group::

    [project.entry-points.greffier]
    my_backend = "my_package.greffier_plugin"

and ``register("name", BackendClass)`` makes ``backend = "name"`` usable in the catalogue.
Greffier's own backends are registered the same way (see ``backends/builtin.py``).
"""

from __future__ import annotations

import pluggy

from greffier.errors import CatalogueError
from greffier.models.backends.base import (
    ChatBackend,
    EmbeddingBackend,
    SpeakerBackend,
    SpeechBackend,
    SpeechSynthesisBackend,
)
from greffier.models.hookspecs import BackendSpecs, hookimpl

__all__ = ["BackendRegistry", "hookimpl", "load_backends"]  # hookimpl: for plugin authors

Backend = (
    type[ChatBackend]
    | type[EmbeddingBackend]
    | type[SpeechBackend]
    | type[SpeakerBackend]
    | type[SpeechSynthesisBackend]
)


def _role(backend: Backend) -> str:
    if issubclass(backend, ChatBackend):
        return "chat"
    if issubclass(backend, EmbeddingBackend):
        return "embedding"
    if issubclass(backend, SpeechBackend):
        return "speech"
    if issubclass(backend, SpeakerBackend):
        return "speaker"
    if issubclass(backend, SpeechSynthesisBackend):
        return "voice"
    raise CatalogueError(
        f"{backend.__name__} is not a chat, embedding, speech, speaker or voice backend."
    )


class BackendRegistry:
    """Backend classes by (name, role): one name may serve chat and embeddings alike."""

    def __init__(self) -> None:
        self._backends: dict[tuple[str, str], Backend] = {}

    def register(self, name: str, backend: Backend) -> None:
        key = (name, _role(backend))
        if key in self._backends and self._backends[key] is not backend:
            raise CatalogueError(f"Two plugins register a {key[1]} backend named '{name}'.")
        self._backends[key] = backend

    def get(self, name: str, role: str = "chat") -> Backend:
        try:
            return self._backends[(name, role)]
        except KeyError:
            known = ", ".join(sorted(n for n, r in self._backends if r == role))
            raise CatalogueError(
                f"No {role} backend named '{name}' is registered (known: {known}). "
                "Install the plugin that provides it."
            ) from None

    def names(self, role: str = "chat") -> list[str]:
        return sorted(n for n, r in self._backends if r == role)


def load_backends(extra_plugins: tuple[object, ...] = ()) -> BackendRegistry:
    """Collect backends from installed entry points and from ``extra_plugins`` modules."""
    manager = pluggy.PluginManager("greffier")
    manager.add_hookspecs(BackendSpecs)
    from greffier.models.backends import builtin

    manager.register(builtin)
    manager.load_setuptools_entrypoints("greffier")
    for plugin in extra_plugins:
        manager.register(plugin)
    registry = BackendRegistry()
    manager.hook.register_backends(register=registry.register)
    return registry
