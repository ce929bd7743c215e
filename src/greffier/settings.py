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
from pydantic import Field, ValidationError, field_validator
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
    upstream_health_interval: float = Field(
        5.0,
        gt=0,
        description="Seconds between health checks of a model's upstream servers (an upstream "
        "out of service comes back at the first check it answers).",
    )
    upstream_max_in_flight: int = Field(
        256,
        ge=1,
        description="Requests one model's upstream servers may be answering at once, from "
        "this process; beyond, 429 model_busy.",
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
        "multilingual-e5-small",
        description="Catalogue id of the embedder used for documents. The index belongs to "
        "one embedder: after changing it, run `greffier reindex` (search and ingestion "
        "wait for it).",
    )
    grounding_min_similarity: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="A grounded answer says it found nothing when no passage is at least this "
        "similar to the question (cosine, embedding model). Empty: the embedding model's "
        "catalogue value (relevance_floor); -1: off.",
    )
    grounding_instructions: str = Field(
        "",
        description="The system message of answers grounded in documents, instead of "
        "Greffier's own (French for French questions, English otherwise). It must hold "
        "{sources}, where the numbered passages go; {language_name} becomes the question's "
        "language (English, German…). Measure a change with `greffier eval answers`.",
    )

    @field_validator("grounding_instructions")
    @classmethod
    def _instructions_hold_sources(cls, value: str) -> str:
        if value and "{sources}" not in value:
            raise ValueError("must hold {sources}, where the numbered passages go")
        return value

    speech_model: str = Field(
        "whisper-base",
        description="Speech model used for transcriptions (and for OpenAI's name whisper-1).",
    )
    speaker_model: str = Field(
        "resemblyzer-ge2e",
        description="Speaker encoder used to tell the speakers of a meeting apart.",
    )
    voice_model: str = Field(
        "kokoro-82m",
        description="Voice model used to speak (and for OpenAI's names tts-1, tts-1-hd, "
        "gpt-4o-mini-tts).",
    )
    max_speech_characters: int = Field(
        4096, ge=1, description="Longest text accepted by /v1/audio/speech, in characters."
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
    answer_days: int = Field(
        30,
        ge=1,
        description="Days a chat answer is kept for its author's feedback.",
    )
    curators_group: str = Field(
        "curators",
        min_length=1,
        description="Group whose members (with admins) curate feedback for data sets.",
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
        description="Always mark the web session cookie Secure. A sign-in that came over "
        "HTTPS (directly, or through a trusted proxy that says so) gets a Secure cookie "
        "anyway.",
    )
    trusted_proxies: str = Field(
        "127.0.0.1",
        description="Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto headers are "
        "believed (client address, https): comma-separated addresses or networks; empty: "
        "none.",
    )
    api_docs: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Serve /docs and /openapi.json to anyone: on, off, or auto (on only while "
        "the server listens on loopback; a server others can reach is a production one).",
    )
    signin_free_failures: int = Field(
        5,
        ge=1,
        description="Failed sign-ins an account may have in a row before each further "
        "attempt must wait (1 s, doubling each time, at most signin_max_wait).",
    )
    signin_max_wait: int = Field(
        60, ge=1, description="Longest wait, in seconds, imposed on an account after failures."
    )
    signin_address_failures: int = Field(
        30,
        ge=1,
        description="Failed sign-ins accepted from one client address per "
        "signin_address_window; further attempts from it are refused until the window ends.",
    )
    signin_address_window: int = Field(
        900, ge=1, description="Seconds over which a client address's failed sign-ins count."
    )
    metrics_token: str | None = Field(
        None,
        description="Bearer token Prometheus sends to read /metrics; empty: /metrics answers "
        "requests from this machine only.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Server logs as text, or as one JSON object a line (with the request id "
        "carried to upstream model servers).",
    )
    telemetry_export: bool = Field(
        False,
        description="Let the web framework export OpenTelemetry traces, metrics and logs to "
        "the OTLP endpoint named by the OTEL_* variables. Off: nothing is exported, whatever "
        "the environment says.",
    )

    @property
    def serves_api_docs(self) -> bool:
        """/docs and /openapi.json for anyone: ``api_docs`` on, or auto while the server
        listens on loopback only (a server others can reach is a production one)."""
        if self.api_docs == "auto":
            return self.host in ("127.0.0.1", "localhost", "::1")
        return self.api_docs == "on"

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
