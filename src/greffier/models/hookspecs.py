"""The hook a backend plugin implements, and the markers to declare and implement it.

Kept apart from :mod:`greffier.models.plugins` (which loads plugins, Greffier's own
included) so that a plugin module, built-in or not, imports only this small module.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("greffier")
hookimpl = pluggy.HookimplMarker("greffier")


class BackendSpecs:
    @hookspec
    def register_backends(self, register) -> None:
        """Call ``register(name, backend_class)`` for each backend the plugin provides."""
