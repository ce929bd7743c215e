"""One typed settings table.

Every setting is a field of :class:`Settings` with a type, a default and a description.
Values come, from lowest to highest priority, from the defaults, an optional TOML file,
``GREFFIER_*`` environment variables and CLI flags. :func:`load_settings` also records
where each effective value came from, so ``greffier config`` can show it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from greffier.errors import ConfigError

ENV_PREFIX = "GREFFIER_"
CONFIG_ENV = "GREFFIER_CONFIG"


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir("greffier")) / "greffier.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("greffier")),
        description="Directory holding the database, model files and every other stored file.",
    )
    database_url: str | None = Field(
        None,
        pattern=r"^postgres(ql)?://",
        description="A PostgreSQL 15+ database with the vector extension "
        "(postgresql://user:password@host:5432/name), shared by every node; empty: the SQLite "
        "file greffier.db in data_dir.",
    )
    database_pool_size: int = Field(
        10, ge=1, le=200, description="Connections to PostgreSQL each process may hold."
    )
    files_dir: Path | None = Field(
        None,
        description="Where uploaded files and recordings are kept (files/ and audio/ under "
        "it); with several nodes, a mount they all share. Empty: data_dir.",
    )
    run_worker: bool = Field(
        True,
        description="Run background jobs (indexing, transcription, minutes) in the server's "
        "own process; off (greffier serve --no-worker) when separate `greffier worker` "
        "processes run them.",
    )
    worker_heartbeat_seconds: float = Field(
        5.0,
        gt=0,
        description="How often a PostgreSQL queue worker says it is alive; a job whose worker "
        "has been silent for three times as long is started again by another worker.",
    )
    host: str = Field("127.0.0.1", description="Address the HTTP server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the HTTP server listens on.")
    default_model: str = Field(
        "qwen2.5-coder-1.5b-instruct",
        description="Model loaded at start-up, and used by `greffier chat` when none is named.",
    )
    preload_default_model: bool = Field(
        True, description="Load the default model when the server starts, not at first request."
    )
    context_size: int = Field(
        8192,
        ge=256,
        description="Context window (tokens) of in-process models, capped by the model's own.",
    )
    threads: int | None = Field(
        None, ge=1, description="CPU threads per in-process model; empty = all cores."
    )
    queue_size: int = Field(
        8,
        ge=0,
        description="Requests that may wait for a busy in-process model; more get 429.",
    )
    upstream_timeout: float = Field(
        120.0, gt=0, description="Seconds to wait for an upstream OpenAI-compatible server."
    )
    max_request_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Largest accepted request body, in bytes."
    )
    tool_grammar: bool = Field(
        True,
        description="Constrain in-process models' function calls to the functions' JSON "
        "schemas with a grammar once a call starts (off: the free text is parsed).",
    )
    embedding_model: str = Field(
        "multilingual-e5-small", description="Catalogue id of the embedder used for documents."
    )
    speech_model: str = Field(
        "whisper-base",
        description="Speech model used for transcriptions (and for OpenAI's name whisper-1).",
    )
    speaker_model: str = Field(
        "resemblyzer-ge2e",
        description="Speaker encoder used to tell the speakers of a meeting apart.",
    )
    max_audio_seconds: float = Field(
        4 * 3600, gt=0, description="Longest recording accepted for transcription, seconds."
    )
    audio_retention: str = Field(
        "keep",
        pattern=r"^(keep|after-transcription|[1-9][0-9]*d)$",
        description="Meeting recordings: keep, after-transcription (delete once "
        "transcribed) or Nd (delete N days after upload).",
    )
    minutes_template: Path | None = Field(
        None, description="Jinja2 template for meeting minutes (default: the bundled one)."
    )
    on_premises_max_sensitivity: Literal["public", "internal", "sensitive", "secret"] = Field(
        "sensitive",
        description="Most sensitive data a model server on the premises may receive "
        "(collections and meetings above it use in-process models only).",
    )
    external_max_sensitivity: Literal["public", "internal", "sensitive", "secret"] = Field(
        "public",
        description="Most sensitive data an external model service may receive.",
    )
    chunk_tokens: int = Field(
        200, ge=32, le=512, description="Largest chunk of a document, in embedder tokens."
    )
    chunk_overlap_tokens: int = Field(
        30, ge=0, le=128, description="Tokens a chunk repeats from the one before it."
    )
    hybrid_lexical_weight: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Weight of the lexical list in hybrid search (the semantic one weighs 1).",
    )
    max_document_bytes: int = Field(
        50 * 1024 * 1024, ge=1024, description="Largest document accepted for ingestion."
    )
    max_upload_bytes: int = Field(
        200 * 1024 * 1024, ge=1024, description="Largest upload request (one or more files)."
    )
    max_uncompressed_bytes: int = Field(
        200 * 1024 * 1024,
        ge=1024,
        description="Largest uncompressed content of a DOCX/ODT (zip bomb guard).",
    )
    energy_cpu_watts_per_core: float = Field(
        12.0, gt=0, description="Power of one busy CPU core (W), for in-process energy estimates."
    )
    energy_upstream_watts: float = Field(
        350.0, gt=0, description="Power an upstream server draws while answering (W)."
    )
    catalogue_file: Path | None = Field(
        None,
        description="Extra catalogue entries (TOML); default: catalogue.toml in the data dir.",
    )
    huggingface_endpoint: str = Field(
        "https://huggingface.co",
        description="Hub used only by an explicit `greffier models pull` of a huggingface entry.",
    )
    log_level: str = Field("info", description="Server log level (debug, info, warning, error).")
    web_language: str = Field(
        "fr",
        pattern=r"^(fr|en)$",
        description="Language of the web interface (fr or en) until a person picks another.",
    )
    web_session_hours: float = Field(
        12.0, gt=0, le=24 * 90, description="Hours a web interface sign-in lasts."
    )
    web_secure_cookie: bool = Field(
        False,
        description="Mark the web session cookie Secure (set it when served over HTTPS).",
    )
    telemetry_export: bool = Field(
        False,
        description="Let the web framework export OpenTelemetry traces, metrics and logs to "
        "the OTLP endpoint named by the OTEL_* variables. Off: nothing is exported, whatever "
        "the environment says.",
    )

    @property
    def database_path(self) -> Path:
        return self.data_dir / "greffier.db"

    @property
    def uploads_dir(self) -> Path:
        """Uploaded documents, by SHA-256."""
        return (self.files_dir or self.data_dir) / "files"

    @property
    def audio_dir(self) -> Path:
        """Meeting recordings, by SHA-256."""
        return (self.files_dir or self.data_dir) / "audio"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def effective_catalogue_file(self) -> Path:
        return self.catalogue_file or self.data_dir / "catalogue.toml"


@dataclass(frozen=True)
class Origin:
    """Where an effective setting value came from."""

    kind: str  # default | file | env | flag
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.detail}".strip()


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    origins: dict[str, Origin]
    config_file: Path


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc}") from exc
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            f"Unknown setting(s) {', '.join(unknown)} in {path}; "
            f"`greffier config` lists the valid names."
        )
    return values


def load_settings(
    overrides: dict[str, Any] | None = None, config_file: Path | None = None
) -> LoadedSettings:
    """Merge defaults < TOML file < environment < ``overrides`` (CLI flags)."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    path = config_file or Path(os.environ.get(CONFIG_ENV) or default_config_file())
    from_file = _read_config_file(path)
    from_env = EnvSettingsSource(Settings, case_sensitive=False, env_prefix=ENV_PREFIX)()
    merged = {**from_file, **from_env, **overrides}
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"Invalid settings: {problems}") from exc
    origins: dict[str, Origin] = {}
    for name in Settings.model_fields:
        if name in overrides:
            origins[name] = Origin("flag", f"--{name.replace('_', '-')}")
        elif name in from_env:
            origins[name] = Origin("env", f"{ENV_PREFIX}{name.upper()}")
        elif name in from_file:
            origins[name] = Origin("file", str(path))
        else:
            origins[name] = Origin("default")
    return LoadedSettings(settings, origins, path)
