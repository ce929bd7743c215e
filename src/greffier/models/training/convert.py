"""A PEFT adapter in llama.cpp's GGUF LoRA format, by llama.cpp's own converter.

The converter (``convert_lora_to_gguf.py`` with the model definitions and the ``gguf``
package it imports) ships in the source distribution of the installed llama-cpp-python,
whose llama.cpp is the one that will load the adapter. That archive is taken from
``<models>/.cache/pypi/`` (where an offline operator puts it, and where ``make
install-test`` leaves it), else fetched once with pip from the configured index; it is
used only when its SHA-256 matches the one pinned here for that version. The script runs
as it is, in a child process: nothing of it is copied into Greffier.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

from greffier.errors import ModelFileError
from greffier.models.files import HUB_OFFLINE, sha256_file

# Source distributions of llama-cpp-python whose converter Greffier runs, by version.
SDIST_SHA256 = {
    "0.3.36": "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e",
}
# What the converter needs from the archive's llama.cpp folder.
WANTED = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion/", "gguf-py/")


def llama_cpp_version() -> str:
    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        raise ModelFileError(
            "Fine-tuned models need in-process inference: install `greffier[local]`."
        ) from None


def sdist(cache: Path, version: str) -> Path:
    """The checked source archive of llama-cpp-python ``version``."""
    expected = SDIST_SHA256.get(version)
    if expected is None:
        raise ModelFileError(
            f"No checksum is pinned for llama-cpp-python {version}'s source archive: "
            f"Greffier knows {', '.join(sorted(SDIST_SHA256))}."
        )
    archive = cache / f"llama_cpp_python-{version}.tar.gz"
    if not archive.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"llama-cpp-python=={version}",
                "-d",
                str(cache),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not archive.is_file():
            raise ModelFileError(
                f"llama.cpp's adapter converter was not found: put "
                f"llama_cpp_python-{version}.tar.gz (PyPI's source archive) in {cache}.",
                detail=done.stderr[-500:],
            )
    actual = sha256_file(archive)
    if actual != expected:
        raise ModelFileError(
            f"{archive} does not match its pinned SHA-256 (expected {expected}, got "
            f"{actual}): remove it and fetch it again."
        )
    return archive


def converter(cache: Path) -> Path:
    """The folder holding llama.cpp's converter for the installed llama-cpp-python."""
    version = llama_cpp_version()
    folder = cache / f"llama.cpp-{version}"
    if (folder / WANTED[0]).is_file():
        return folder
    archive = sdist(cache / "pypi", version)
    prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    partial = folder.with_name(folder.name + ".partial")
    with tarfile.open(archive) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name.startswith(prefix)
            and (m.isfile() or m.isdir())
            and any(m.name[len(prefix) :].startswith(w) for w in WANTED)
        ]
        for member in members:
            member.name = member.name[len(prefix) :]
        tar.extractall(partial, members=members, filter="data")
    partial.rename(folder)
    return folder


def _converter_env() -> dict[str, str]:
    """No model hub, and the converter's own gguf-py (of the same llama.cpp)."""
    env = {**os.environ, **HUB_OFFLINE}
    env.pop("NO_LOCAL_GGUF", None)
    return env


def convert(cache: Path, adapter: Path, base_config: Path, output: Path) -> Path:
    """``adapter`` (a PEFT folder) as one GGUF LoRA file at ``output``."""
    folder = converter(cache)
    env = _converter_env()
    done = subprocess.run(
        [
            sys.executable,
            str(folder / "convert_lora_to_gguf.py"),
            "--base",
            str(base_config),
            "--outtype",
            "f32",
            "--outfile",
            str(output),
            str(adapter),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
    )
    if done.returncode != 0 or not output.is_file():
        raise ModelFileError(
            "llama.cpp's converter did not turn the adapter into GGUF.",
            detail=(done.stderr or done.stdout)[-2000:],
        )
    return output


def convert_model(cache: Path, folder: Path, output: Path) -> Path:
    """A transformers folder (a merged model) as one float16 GGUF file, by llama.cpp's
    model converter from the same archive."""
    script = converter(cache) / "convert_hf_to_gguf.py"
    env = _converter_env()
    done = subprocess.run(
        [sys.executable, str(script), "--outtype", "f16", "--outfile", str(output), str(folder)],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0 or not output.is_file():
        raise ModelFileError(
            "llama.cpp's converter could not write the merged model.", detail=done.stderr[-800:]
        )
    return output


def quantize(source: Path, like: Path, output: Path, threads: int) -> Path:
    """``source`` quantized as the base file ``like`` is (its GGUF ``general.file_type``,
    Q4_K_M for the bundled models), by llama.cpp's quantizer in llama-cpp-python."""
    import ctypes

    import llama_cpp

    probe = llama_cpp.Llama(model_path=str(like), vocab_only=True, verbose=False)
    ftype = int(probe.metadata.get("general.file_type", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M))
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    status = llama_cpp.llama_model_quantize(
        str(source).encode(), str(output).encode(), ctypes.byref(params)
    )
    if status != 0 or not output.is_file():
        raise ModelFileError(f"llama.cpp could not quantize {source.name} (status {status}).")
    return output
