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
from greffier.models.backends.base import ChatBackend

hookspec = pluggy.HookspecMarker("greffier")
hookimpl = pluggy.HookimplMarker("greffier")


class BackendSpecs:
    @hookspec
    def register_backends(self, register) -> None:
        """Call ``register(name, backend_class)`` for each backend the plugin provides."""


class BackendRegistry:
    def __init__(self) -> None:
        self._backends: dict[str, type[ChatBackend]] = {}

    def register(self, name: str, backend: type[ChatBackend]) -> None:
        if name in self._backends and self._backends[name] is not backend:
            raise CatalogueError(f"Two plugins register a backend named '{name}'.")
        self._backends[name] = backend

    def get(self, name: str) -> type[ChatBackend]:
        try:
            return self._backends[name]
        except KeyError:
            known = ", ".join(sorted(self._backends))
            raise CatalogueError(
                f"No backend named '{name}' is registered (known: {known}). "
                "Install the plugin that provides it."
            ) from None

    def names(self) -> list[str]:
        return sorted(self._backends)


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
