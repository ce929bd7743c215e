"""Put tokenizer files under ``data_dir/tokenizers``, from packages of the PyPI registry.

- llama.cpp's vocabulary-only GGUF files come inside the llama-cpp-python source
  distribution (``vendor/llama.cpp/models/ggml-vocab-*.gguf``);
- OpenAI's tiktoken encodings come inside the litellm wheel, named as tiktoken's cache
  names them (the SHA-1 of their URL), so tiktoken finds them and never downloads.

Only ``greffier tokens fetch`` calls this, on an operator's request: ``pip download``
fetches the two archives from the configured package index.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

LLAMA_SDIST = "llama-cpp-python==0.3.36"
LITELLM_WHEEL = "litellm==1.109.1"
GGUF_VOCABULARIES = (
    "gpt-2",
    "llama-spm",
    "llama-bpe",
    "qwen2",
    "gemma-4",
    "phi-3",
    "command-r",
    "falcon",
)
# tiktoken's cache file name for each encoding: sha1 of the encoding's download URL.
TIKTOKEN_FILES = {
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
    "p50k_base": "ec7223a39ce59f226a68acc30dc1af2788490e15",
}


def _download(requirement: str, target: Path, source: bool) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        "-d",
        str(target),
        requirement,
    ]
    if source:
        command[4:4] = ["--no-binary", ":all:"]
    subprocess.run(command, check=True)
    return next(p for p in target.iterdir() if p.is_file())


def extract_gguf(sdist: Path, target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    # The .inp/.out files beside each vocabulary are llama.cpp's own tokenizer test vectors.
    wanted = {
        f"ggml-vocab-{name}.gguf{suffix}"
        for name in GGUF_VOCABULARIES
        for suffix in ("", ".inp", ".out")
    }
    written = []
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            name = Path(member.name).name
            if name in wanted and "/vendor/llama.cpp/models/" in member.name and member.isfile():
                with archive.extractfile(member) as src, (target / name).open("wb") as out:
                    shutil.copyfileobj(src, out)
                written.append(target / name)
    return written


def extract_tiktoken(wheel: Path, target: Path) -> list[str]:
    target.mkdir(parents=True, exist_ok=True)
    ready = []
    with zipfile.ZipFile(wheel) as archive:
        names = {
            Path(n).name: n for n in archive.namelist() if "litellm_core_utils/tokenizers/" in n
        }
        for encoding, cache_name in TIKTOKEN_FILES.items():
            if cache_name in names:
                (target / cache_name).write_bytes(archive.read(names[cache_name]))
                (target / f"{encoding}.ready").touch()
                ready.append(encoding)
    return ready


def fetch(tokenizers_dir: Path) -> dict[str, list]:
    with tempfile.TemporaryDirectory() as scratch:
        sdist = _download(LLAMA_SDIST, Path(scratch) / "sdist", source=True)
        wheel = _download(LITELLM_WHEEL, Path(scratch) / "wheel", source=False)
        return {
            "gguf": [
                p.name for p in extract_gguf(sdist, tokenizers_dir / "gguf") if p.suffix == ".gguf"
            ],
            "tiktoken": extract_tiktoken(wheel, tokenizers_dir / "tiktoken"),
        }
