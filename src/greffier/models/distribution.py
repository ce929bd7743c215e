"""Moving checksummed model files between Greffier instances: from a central instance over
HTTP (resumable), or on removable media to an air-gapped site (a bundle folder).

Both carry the same manifest: for each model, its catalogue entry (source, licence,
openness card) and its files with their SHA-256 and size. A file is installed only once
its SHA-256 matches the manifest's — and, for the model's main file, the checksum the
receiving catalogue pins, when it pins one — so neither a tampered file nor a tampered
manifest for a known model gets in. A model the receiving catalogue does not know is added
to the operator's catalogue file with its card. A fine-tuned model travels with its LoRA
adapter (checked against the adapter SHA-256 its entry pins) and is re-pointed at where
its base file and adapter were installed here.

Out of scope: choosing which models a node needs (the operator names them).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from greffier.errors import ModelFileError
from greffier.models import files
from greffier.models.catalogue import (
    Catalogue,
    LocalFileSource,
    ModelEntry,
    PackageVersionsSource,
    PyPISource,
)

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str
    size: int


def local_files(models_dir: Path, entry: ModelEntry) -> list[tuple[ModelFile, Path]]:
    """The files of a model that is ready here (checked), as a manifest lists them."""
    main = files.verify(models_dir, entry)
    found = [
        (ModelFile(main.name, files.expected_sha256(models_dir, entry), main.stat().st_size), main)
    ]
    if isinstance(entry.source, PyPISource):
        for companion in entry.source.companions:
            path = main.parent / Path(companion.path).name
            if path.is_file():
                found.append((ModelFile(path.name, companion.sha256, path.stat().st_size), path))
    adapter = files.verify_adapter(entry)
    if adapter is not None:
        found.append(
            (ModelFile(adapter.name, entry.adapter.sha256, adapter.stat().st_size), adapter)
        )
    if isinstance(entry.source, PackageVersionsSource):  # a whole folder: its other files
        files.verify_folder(models_dir, entry)
        for pinned in entry.source.files:
            if pinned.path != entry.filename:
                path = main.parent / pinned.path
                found.append((ModelFile(pinned.path, pinned.sha256, path.stat().st_size), path))
    return found


def manifest(models_dir: Path, entries: Iterable[ModelEntry]) -> list[dict]:
    """Entries with their files, for the models ready here (others are left out)."""
    listed = []
    for entry in entries:
        if not entry.has_file:
            continue
        try:
            found = local_files(models_dir, entry)
        except ModelFileError:
            continue
        listed.append(
            {
                "entry": entry.model_dump(mode="json"),
                "files": [f.__dict__ for f, _ in found],
            }
        )
    return listed


def _check(path: Path, expected: str, what: str) -> None:
    actual = files.sha256_file(path)
    if actual != expected:
        path.unlink(missing_ok=True)
        raise ModelFileError(
            f"{what} does not match its checksum (expected SHA-256 {expected}, got {actual}): "
            "it was discarded. The source may be corrupt or tampered with."
        )


def _target(models_dir: Path, entry: ModelEntry, name: str, main: bool) -> Path:
    if main:
        path = files.model_path(models_dir, entry)
        if not path.is_relative_to(models_dir):  # inside an installed package: ours instead
            path = files.model_dir(models_dir, entry) / name
        return path
    return files.model_dir(models_dir, entry) / name


def _entry(item: dict, catalogue: Catalogue) -> tuple[ModelEntry, bool]:
    """The catalogue's own entry when it knows the model (its pins win), else the sent one."""
    sent = ModelEntry.model_validate(item["entry"])
    if sent.id in catalogue:
        known = catalogue.get(sent.id)
        if known.sha256 and sent.sha256 and known.sha256 != sent.sha256:
            raise ModelFileError(
                f"The source's model '{sent.id}' pins SHA-256 {sent.sha256}, this catalogue "
                f"pins {known.sha256}: refused."
            )
        return known, False
    return sent, True


def install(
    item: dict,
    catalogue: Catalogue,
    models_dir: Path,
    catalogue_file: Path,
    fetch: Callable[[ModelFile, Path], None],
) -> ModelEntry:
    """Install one manifest item, each file brought by ``fetch(file, partial_path)`` then
    checked; the entry added to ``catalogue_file`` if the catalogue did not know it. When a
    file is refused, the files this call installed are removed again: nothing half-done."""
    entry, new = _entry(item, catalogue)
    expected_main = files.expected_sha256(models_dir, entry) or item["files"][0]["sha256"]
    pinned = _pinned_files(entry)
    targets: dict[str, Path] = {}
    for i, raw in enumerate(item["files"]):
        wanted = ModelFile(**raw)
        if i == 0 and wanted.sha256 != expected_main:
            raise ModelFileError(
                f"The main file of '{entry.id}' should have SHA-256 {expected_main}, the source "
                f"announces {wanted.sha256}: refused."
            )
        if wanted.name in pinned and wanted.sha256 != pinned[wanted.name][1]:
            what, sha256 = pinned[wanted.name]
            raise ModelFileError(
                f"{what} of '{entry.id}' should have SHA-256 {sha256}, the source announces "
                f"{wanted.sha256}: refused."
            )
        targets[wanted.name] = _target(models_dir, entry, wanted.name, main=i == 0)
    installed: list[Path] = []
    partial = None
    try:
        for raw in item["files"]:
            wanted = ModelFile(**raw)
            target = targets[wanted.name]
            if target.is_file() and files.sha256_file(target) == wanted.sha256:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            fetch(wanted, partial)
            _check(partial, wanted.sha256, f"File {wanted.name} of model '{entry.id}'")
            partial.replace(target)
            installed.append(target)
    except BaseException:
        if partial is not None:
            partial.unlink(missing_ok=True)
        _remove(installed, files.model_dir(models_dir, entry))
        raise
    if new:
        entry = _located(entry, targets, item["files"][0]["name"])
        _add_to_catalogue(catalogue_file, entry)
        if not entry.sha256:
            files.record_sha256(models_dir, entry, item["files"][0]["sha256"])
    files.verify(models_dir, entry)
    return entry


def _pinned_files(entry: ModelEntry) -> dict[str, tuple[str, str]]:
    """Files other than the main one whose checksum the entry pins: its adapter, a model
    folder's other files; name → (what it is, SHA-256)."""
    pinned = {}
    if entry.adapter is not None:
        pinned[entry.adapter.path.name] = ("The adapter", entry.adapter.sha256)
    if isinstance(entry.source, PackageVersionsSource):
        for f in entry.source.files:
            if f.path != entry.filename:
                pinned[f.path] = (f"File {f.path}", f.sha256)
    return pinned


def _remove(installed: list[Path], folder: Path) -> None:
    """Files installed by an install that failed, and the folders left empty under the
    model's own folder."""
    for path in installed:
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent.is_relative_to(folder) and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def _located(entry: ModelEntry, targets: dict[str, Path], main: str) -> ModelEntry:
    """A new entry whose files were named by paths on the source machine (a fine-tuned
    model: its base file and adapter), pointed at where they were installed here."""
    update: dict = {}
    if isinstance(entry.source, LocalFileSource):
        update["source"] = entry.source.model_copy(update={"path": targets[main]})
    if entry.adapter is not None:
        if entry.adapter.path.name not in targets:
            raise ModelFileError(f"The source sent model '{entry.id}' without its adapter.")
        update["adapter"] = entry.adapter.model_copy(
            update={"path": targets[entry.adapter.path.name]}
        )
    return entry.model_copy(update=update) if update else entry


def _add_to_catalogue(catalogue_file: Path, entry: ModelEntry) -> None:
    import tomli_w

    catalogue_file.parent.mkdir(parents=True, exist_ok=True)
    text = tomli_w.dumps({"model": [entry.model_dump(mode="json", exclude_defaults=True)]})
    with catalogue_file.open("a", encoding="utf-8") as out:
        out.write(f"\n# Added by greffier models pull/import: {entry.id}\n{text}")


# --- over HTTP, from a central instance -----------------------------------------------------


class Hub:
    """A central Greffier instance's models, read with an API key."""

    def __init__(self, url: str, key: str, timeout: float = 60.0):
        self.base = url.rstrip("/")
        self.client = httpx.Client(
            headers={"Authorization": f"Bearer {key}"}, timeout=timeout, follow_redirects=False
        )

    def manifest(self) -> list[dict]:
        response = self.client.get(f"{self.base}/v1/hub/models")
        if response.status_code != 200:
            raise ModelFileError(
                f"{self.base} did not list its models (HTTP {response.status_code}): "
                f"{response.text[:200]}"
            )
        return response.json()["data"]

    def item(self, model_id: str) -> dict:
        for item in self.manifest():
            if item["entry"]["id"] == model_id:
                return item
        raise ModelFileError(f"{self.base} has no ready model '{model_id}'.")

    def fetcher(self, model_id: str, progress: Progress) -> Callable[[ModelFile, Path], None]:
        def fetch(wanted: ModelFile, partial: Path) -> None:
            """Download, going on from what a previous attempt left in ``partial``."""
            have = partial.stat().st_size if partial.is_file() else 0
            if have > wanted.size:
                partial.unlink()
                have = 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            url = f"{self.base}/v1/hub/models/{model_id}/files/{wanted.name}"
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 200:
                    have = 0  # the server sends it whole: start again
                elif response.status_code != 206:
                    raise ModelFileError(f"Downloading {url} failed: HTTP {response.status_code}.")
                with partial.open("ab" if have else "wb") as out:
                    for block in response.iter_bytes(files.CHUNK):
                        out.write(block)
                        have += len(block)
                        progress(f"downloading {wanted.name}", have, wanted.size)

        return fetch


# --- on removable media ---------------------------------------------------------------------


def export(models_dir: Path, entries: list[ModelEntry], folder: Path, progress: Progress) -> int:
    """Copy the models' files into ``folder`` with their manifest; the bytes written."""
    folder.mkdir(parents=True, exist_ok=True)
    items, written = [], 0
    for entry in entries:
        found = local_files(models_dir, entry)
        target = folder / files.dir_name(entry.id)
        target.mkdir(exist_ok=True)
        for model_file, path in found:
            (target / model_file.name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / model_file.name)
            written += model_file.size
            progress(f"copying {entry.id}", written, None)
        items.append(
            {"entry": entry.model_dump(mode="json"), "files": [f.__dict__ for f, _ in found]}
        )
    (folder / MANIFEST).write_text(json.dumps({"models": items}, indent=2) + "\n")
    return written


def bundle_items(folder: Path) -> list[dict]:
    path = folder / MANIFEST
    if not path.is_file():
        raise ModelFileError(f"{folder} holds no {MANIFEST}: not a model bundle.")
    return json.loads(path.read_text())["models"]


def bundle_fetcher(folder: Path, entry_id: str) -> Callable[[ModelFile, Path], None]:
    source = folder / files.dir_name(entry_id)

    def fetch(wanted: ModelFile, partial: Path) -> None:
        shutil.copyfile(source / wanted.name, partial)

    return fetch
