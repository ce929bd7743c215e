"""State shared by the subcommands: global flags and lazily loaded settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from greffier.settings import LoadedSettings, load_settings


@dataclass
class State:
    config_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def load(self, **more: Any) -> LoadedSettings:
        return load_settings({**self.overrides, **more}, self.config_file)


def state(ctx: typer.Context) -> State:
    return ctx.find_root().obj
