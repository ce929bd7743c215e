"""Model files: where they live, how they are assembled or downloaded, and checksum checks.

A file is used only once its SHA-256 matches the one pinned in the catalogue (or, for an
entry that pins none, the one recorded when it was first pulled). Checking a multi-gigabyte
file takes seconds, so a successful check is remembered in a small marker next to the file,
keyed by size and modification time; ``verify(..., force=True)`` always re-reads the file.

Long steps report progress through a callback ``progress(step, done_bytes, total_bytes)``; this
module never prints.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from importlib import metadata, resources
from pathlib import Path

import httpx

from greffier.errors import ModelFileError
from greffier.models.catalogue import (
    Companion,
    HuggingFaceSource,
    LocalFileSource,
    ModelEntry,
    PackageVersionsSource,
    PyPISource,
    URLSource,
)

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]
CHUNK = 4 * 1024 * 1024
# The Hugging Face libraries (transformers, sentence-transformers, PEFT) read their models
# from local folders only: never a hub, never telemetry, whatever the environment says.
HUB_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def hub_offline() -> None:
    """Keep the Hugging Face libraries off the network for this process."""
    os.environ.update(HUB_OFFLINE)


def _no_progress(step: str, done: int, total: int | None) -> None:
    return None


def dir_name(model_id: str) -> str:
    """A model's folder name: its id, made safe for a file system."""
    return model_id.replace("/", "__").replace(":", "_")


def model_dir(models_dir: Path, entry: ModelEntry) -> Path:
    return models_dir / dir_name(entry.id)


def model_path(models_dir: Path, entry: ModelEntry) -> Path:
    """Where the entry's file is (or will be) on disk."""
    source = entry.source
    if isinstance(source, LocalFileSource):
        return source.path.expanduser()
    if isinstance(source, PyPISource) and len(source.parts) == 1:
        # A file shipped whole inside a package is used where it is installed.
        try:
            return _part_files(source)[0]
        except ModelFileError:
            return model_dir(models_dir, entry) / (entry.filename or "model.bin")
    return model_dir(models_dir, entry) / (entry.filename or "model.bin")


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _recorded_sha(models_dir: Path, entry: ModelEntry) -> Path:
    return model_dir(models_dir, entry) / "recorded.sha256"


def expected_sha256(models_dir: Path, entry: ModelEntry) -> str:
    """The pinned checksum, or the one recorded at first pull for entries that pin none."""
    if entry.sha256:
        return entry.sha256
    recorded = _recorded_sha(models_dir, entry)
    return recorded.read_text().strip() if recorded.exists() else ""


def record_sha256(models_dir: Path, entry: ModelEntry, sha256: str) -> None:
    """Remember the checksum of an entry that pins none (first pull, or a hub's word)."""
    recorded = _recorded_sha(models_dir, entry)
    recorded.parent.mkdir(parents=True, exist_ok=True)
    recorded.write_text(sha256 + "\n")


def sha256_file(path: Path, progress: Progress = _no_progress) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            done += len(block)
            progress("checking", done, total)
    return digest.hexdigest()


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def _how_to_fix(entry: ModelEntry) -> str:
    source = entry.source
    if isinstance(source, PyPISource):
        return (
            f"Install its package with `pip install 'greffier[{source.extra}]'`, then run "
            f"`greffier models pull {entry.id}`."
        )
    if isinstance(source, LocalFileSource):
        return f"Put the right file at {source.path} or fix the catalogue entry."
    return f"Run `greffier models pull {entry.id}` on a machine that can reach its source."


def verify(
    models_dir: Path, entry: ModelEntry, *, force: bool = False, progress: Progress = _no_progress
) -> Path:
    """Return the path of the entry's file once its checksum matches (and its adapter's,
    when it has one); raise otherwise."""
    path = _verify_file(models_dir, entry, force, progress)
    verify_adapter(entry, force=force)
    return path


def _verify_file(models_dir: Path, entry: ModelEntry, force: bool, progress: Progress) -> Path:
    path = model_path(models_dir, entry)
    if not path.is_file():
        raise ModelFileError(
            f"Model '{entry.id}' is not ready on this server (its file is missing): an "
            "administrator must install it.",
            detail=f"The file {path} is missing. {_how_to_fix(entry)}",
        )
    expected = expected_sha256(models_dir, entry)
    if not expected:
        raise ModelFileError(
            f"Model '{entry.id}' is not ready on this server (no checksum to check its file "
            "against): an administrator must pull it.",
            detail=f"Model '{entry.id}' has no pinned checksum and none was recorded. "
            f"Run `greffier models pull {entry.id}` to record one.",
        )
    marker = _marker(path)
    if not force and marker.exists():
        try:
            if json.loads(marker.read_text()) == {**_stamp(path), "sha256": expected}:
                return path
        except (OSError, ValueError):
            log.warning("Ignoring unreadable checksum marker %s", marker)
    actual = sha256_file(path, progress)
    if actual != expected:
        marker.unlink(missing_ok=True)
        raise ModelFileError(
            f"Model '{entry.id}' is not ready on this server (its file does not match its "
            "pinned checksum): an administrator must replace it.",
            detail=f"{path}: expected SHA-256 {expected}, found {actual}. It may be corrupt "
            f"or tampered with. {_how_to_fix(entry)}",
        )
    _remember(path, expected)
    return path


def lora_to_apply(entry: ModelEntry) -> Path | None:
    """The adapter llama.cpp must apply over the entry's file: None when there is none, or
    when it was merged into the file already (``greffier finetune --merge``)."""
    adapter = verify_adapter(entry)
    return None if adapter is None or entry.adapter.merged else adapter


def verify_adapter(entry: ModelEntry, *, force: bool = False) -> Path | None:
    """The entry's LoRA adapter once its checksum matches (None when it has none); raise
    when it is missing or differs, so a tampered adapter is never applied."""
    adapter = entry.adapter
    if adapter is None:
        return None
    path = adapter.path.expanduser()
    if not path.is_file():
        raise ModelFileError(
            f"Model '{entry.id}' is not ready on this server (its adapter is missing): an "
            "administrator must install it.",
            detail=f"The adapter {path} is missing. Run `greffier finetune` again or restore it.",
        )
    marker = _marker(path)
    if not force and marker.exists():
        try:
            if json.loads(marker.read_text()) == {**_stamp(path), "sha256": adapter.sha256}:
                return path
        except (OSError, ValueError):
            log.warning("Ignoring unreadable checksum marker %s", marker)
    actual = sha256_file(path)
    if actual != adapter.sha256:
        marker.unlink(missing_ok=True)
        raise ModelFileError(
            f"Model '{entry.id}' is not ready on this server (its adapter does not match its "
            "pinned checksum): an administrator must replace it.",
            detail=f"{path}: expected SHA-256 {adapter.sha256}, found {actual}. It may be "
            "corrupt or tampered with.",
        )
    _remember(path, adapter.sha256)
    return path


def _remember(path: Path, sha256: str) -> None:
    marker = _marker(path)
    if os.access(marker.parent, os.W_OK):
        marker.write_text(json.dumps({**_stamp(path), "sha256": sha256}))


def _part_files(source: PyPISource) -> list[Path]:
    files = []
    for part in source.parts:
        # Found, not imported: importing a package to find its data file can take seconds
        # (the speaker encoder's imports PyTorch), and listing models must not.
        try:
            spec = importlib.util.find_spec(part.module)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            raise ModelFileError(
                "This model is not ready on this server (a package holding a part of it is "
                "not installed): an administrator must install it.",
                detail=f"The package '{part.module}' is missing. Install it with "
                f"`pip install 'greffier[{source.extra}]'`.",
            )
        roots = list(spec.submodule_search_locations or []) or [str(Path(spec.origin).parent)]
        path = Path(roots[0]) / part.path
        if not path.is_file():
            raise ModelFileError(
                "This model is not ready on this server (a part of it is missing): an "
                "administrator must reinstall it.",
                detail=f"Model part {path} is missing: reinstall its package.",
            )
        files.append(path)
    return files


def _assemble(parts: list[Path], target: Path, progress: Progress) -> None:
    total = sum(p.stat().st_size for p in parts)
    done = 0
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while block := handle.read(CHUNK):
                    out.write(block)
                    done += len(block)
                    progress("assembling", done, total)


def _download(url: str, target: Path, progress: Progress, timeout: float) -> None:
    with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as response:
        if response.status_code != 200:
            raise ModelFileError(f"Downloading {url} failed: HTTP {response.status_code}.")
        total = (
            int(response.headers["content-length"])
            if "content-length" in response.headers
            else None
        )
        done = 0
        with target.open("wb") as out:
            for block in response.iter_bytes(CHUNK):
                out.write(block)
                done += len(block)
                progress("downloading", done, total)


def source_url(entry: ModelEntry, huggingface_endpoint: str) -> str | None:
    source = entry.source
    if isinstance(source, URLSource):
        return source.url
    if isinstance(source, HuggingFaceSource):
        base = huggingface_endpoint.rstrip("/")
        return f"{base}/{source.repo}/resolve/{source.revision}/{source.file}"
    return None


def pull(
    models_dir: Path,
    entry: ModelEntry,
    *,
    huggingface_endpoint: str = "https://huggingface.co",
    progress: Progress = _no_progress,
    timeout: float = 60.0,
) -> Path:
    """Fetch or assemble the entry's file, then verify it. Idempotent.

    The file is written under a temporary name and moved into place only once its checksum
    matches, so an interrupted or corrupt pull never leaves a file that looks usable.
    """
    if not entry.has_file:
        raise ModelFileError(
            f"Model '{entry.id}' is served by an upstream server: nothing to pull."
        )
    if isinstance(entry.source, PackageVersionsSource):
        return _pull_folder(models_dir, entry, progress)
    path = model_path(models_dir, entry)
    in_place = isinstance(entry.source, PyPISource) and len(entry.source.parts) == 1
    if isinstance(entry.source, LocalFileSource) or in_place:
        if in_place:
            _part_files(entry.source)  # says which package to install when it is missing
        return verify(models_dir, entry, progress=progress)
    if path.is_file():
        try:
            verified = verify(models_dir, entry, progress=progress)
        except ModelFileError:
            log.warning("Replacing the file of %s, which failed its check", entry.id)
        else:
            _copy_companions(models_dir, entry, verified.parent)
            return verified
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        if isinstance(entry.source, PyPISource):
            _assemble(_part_files(entry.source), partial, progress)
        else:
            url = source_url(entry, huggingface_endpoint)
            try:
                _download(url, partial, progress, timeout)
            except httpx.HTTPError as exc:
                raise ModelFileError(f"Downloading {url} failed: {exc}.") from exc
        actual = sha256_file(partial, progress)
        expected = expected_sha256(models_dir, entry)
        if expected and actual != expected:
            raise ModelFileError(
                f"The file fetched for model '{entry.id}' does not match its pinned checksum "
                f"(expected {expected}, got {actual}); it was discarded. Check the source."
            )
        if not expected:
            log.warning(
                "Model %s pins no checksum: recording %s; compare it with the publisher's.",
                entry.id,
                actual,
            )
            record_sha256(models_dir, entry, actual)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    _remember(path, actual)
    _copy_companions(models_dir, entry, path.parent)
    return path


def _pull_folder(models_dir: Path, entry: ModelEntry, progress: Progress) -> Path:
    """A model folder from versions of a PyPI package: left alone when it checks out."""
    try:
        return verify_folder(models_dir, entry, progress=progress)
    except ModelFileError:
        pass
    from greffier.models import package_versions

    package_versions.pull(entry, model_dir(models_dir, entry), models_dir, progress)
    path = model_path(models_dir, entry)
    _remember(path, entry.sha256)  # its SHA-256 was just checked with the folder's files
    return verify(models_dir, entry)


def verify_folder(
    models_dir: Path, entry: ModelEntry, *, progress: Progress = _no_progress
) -> Path:
    """A model folder's main file (checked like any model file), then its other pinned
    files (small: read every time); the main file's path."""
    path = verify(models_dir, entry, progress=progress)
    source = entry.source
    if isinstance(source, PackageVersionsSource):
        from greffier.models import package_versions

        others = [f for f in source.files if f.path != entry.filename]
        rest = entry.model_copy(update={"source": source.model_copy(update={"files": others})})
        package_versions.check_folder(rest, path.parent, progress)
    return path


def npm_cache(models_dir: Path) -> Path:
    """Where tarballs fetched with ``npm pack`` for companions are kept."""
    return models_dir / ".cache" / "npm"


def _npm_tarball(spec: str, cache: Path) -> Path:
    """The tarball of an npm package (``name@version``), packed into ``cache`` once.

    ``npm pack`` fetches it from the configured registry and checks its integrity against
    the registry's; the file taken from it is then checked against the catalogue's SHA-256.
    """
    name, _, version = spec.rpartition("@")
    tarball = cache / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if tarball.is_file():
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise ModelFileError(
            f"npm is needed to fetch {spec} (a file of this model comes from that npm "
            "package): install it (Debian: `apt-get install npm`; `make run` does)."
        )
    cache.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [npm, "pack", spec, "--pack-destination", str(cache), "--silent"],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = (getattr(exc, "stderr", "") or "").strip().splitlines()[-1:] or [str(exc)]
        raise ModelFileError(f"`npm pack {spec}` failed: {detail[0]}") from exc
    if not tarball.is_file():
        raise ModelFileError(f"`npm pack {spec}` did not leave {tarball.name} in {cache}.")
    return tarball


def _companion_bytes(companion: Companion, models_dir: Path, extra: str) -> bytes:
    """The companion's content, from where the catalogue says it comes."""
    reinstall = f"reinstall it with `pip install 'greffier[{extra}]'`."
    if companion.npm:
        tarball = _npm_tarball(companion.npm, npm_cache(models_dir))
        try:
            with tarfile.open(tarball) as archive:
                member = archive.extractfile(companion.path)
                if member is None:
                    raise KeyError(companion.path)
                return member.read()
        except (KeyError, tarfile.TarError, OSError) as exc:
            tarball.unlink(missing_ok=True)  # fetched again next time
            raise ModelFileError(
                f"{companion.path} could not be read from npm {companion.npm}: {exc}."
            ) from exc
    if companion.distribution:
        try:
            dist = metadata.distribution(companion.distribution)
        except metadata.PackageNotFoundError:
            raise ModelFileError(
                f"The package '{companion.distribution}' holding a file of this model is not "
                f"installed: {reinstall}"
            ) from None
        path = Path(str(dist.locate_file(companion.path)))
    else:
        try:
            path = Path(str(resources.files(companion.module).joinpath(companion.path)))
        except ModuleNotFoundError:
            raise ModelFileError(
                f"The package '{companion.module}' holding a file of this model is not "
                f"installed: {reinstall}"
            ) from None
    if not path.is_file():
        raise ModelFileError(f"{path} is missing: {reinstall}")
    return path.read_bytes()


def _copy_companions(models_dir: Path, entry: ModelEntry, directory: Path) -> None:
    """Put each companion beside the model file, checked; one already there that matches
    is left alone (an npm companion is not fetched again)."""
    source = entry.source
    if not isinstance(source, PyPISource):
        return
    for companion in source.companions:
        target = directory / companion.filename
        if target.is_file() and sha256_file(target) == companion.sha256:
            continue
        data = _companion_bytes(companion, models_dir, source.extra)
        if hashlib.sha256(data).hexdigest() != companion.sha256:
            raise ModelFileError(
                f"{companion.path} from the {companion.origin} does not match its pinned "
                f"checksum (expected SHA-256 {companion.sha256}): reinstall or fetch it again."
            )
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(data)
        partial.replace(target)


def verify_companions(models_dir: Path, entry: ModelEntry) -> dict[str, Path]:
    """The entry's companion files by file name, each checked against its pinned SHA-256
    (they are small: read every time). Raise if one is missing or altered."""
    source = entry.source
    companions = source.companions if isinstance(source, PyPISource) else []
    directory = model_dir(models_dir, entry)
    found = {}
    for companion in companions:
        path = directory / companion.filename
        if not path.is_file():
            raise ModelFileError(
                f"{path} (a file of model '{entry.id}', from the {companion.origin}) is "
                f"missing. Run `greffier models pull {entry.id}`."
            )
        actual = sha256_file(path)
        if actual != companion.sha256:
            raise ModelFileError(
                f"{path} (a file of model '{entry.id}') does not match its pinned checksum: "
                f"expected SHA-256 {companion.sha256}, found {actual}. It may be corrupt or "
                f"tampered with. Run `greffier models pull {entry.id}` to replace it."
            )
        found[companion.filename] = path
    return found
