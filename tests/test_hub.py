"""Model files between instances: pulled from a central Greffier over HTTP (resumable,
admins' keys only), or carried in a bundle to an air-gapped site; every file checked on
arrival, a tampered one refused with nothing installed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx

from conftest import greffier

MODEL = "whisper-base"  # 145 MB, with companion files beside its main file


def fresh(base_env: dict, folder: Path, **more: str) -> dict:
    folder.mkdir()
    return {**base_env, "GREFFIER_DATA_DIR": str(folder), **more}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pull_from_a_central_instance_resumes_and_refuses_tampering(server, base_env, tmp_path):
    central = Path(base_env["GREFFIER_DATA_DIR"]) / "models" / MODEL
    listed = httpx.get(
        f"{server.url}/v1/hub/models",
        headers={"Authorization": f"Bearer {server.key}"},
        timeout=120,
    ).json()["data"]
    item = next(i for i in listed if i["entry"]["id"] == MODEL)
    assert item["entry"]["openness"]["weights"]["status"] == "open"  # the card travels
    assert {f["name"] for f in item["files"]} >= {"model.bin", "config.json", "tokenizer.json"}

    env = fresh(base_env, tmp_path / "node", GREFFIER_HUB_KEY=server.key)
    target = tmp_path / "node" / "models" / MODEL
    target.mkdir(parents=True)
    # As if an earlier pull had stopped half-way: it goes on from there.
    whole = (central / "model.bin").read_bytes()
    (target / "model.bin.partial").write_bytes(whole[: len(whole) // 2])
    done = greffier("models", "pull", MODEL, "--from", server.url, env=env)
    assert "checksums match" in done.stdout
    assert sha(target / "model.bin") == sha(central / "model.bin")
    assert (target / "config.json").read_bytes() == (central / "config.json").read_bytes()
    assert not list(target.glob("*.partial"))
    greffier("models", "verify", MODEL, env=env)

    # A partial file whose bytes were altered: the whole is refused and discarded.
    (target / "model.bin").unlink()
    (target / "model.bin.partial").write_bytes(b"X" * 1000 + whole[1000 : len(whole) // 2])
    refused = greffier("models", "pull", MODEL, "--from", server.url, env=env, check=False)
    assert refused.returncode == 1 and "does not match its checksum" in refused.stderr
    assert not (target / "model.bin").exists() and not (target / "model.bin.partial").exists()


def test_only_admins_keys_read_the_hub(server, http):
    user = http.post("/v1/admin/users", json={"name": "hub-member"}).json()
    key = http.post(f"/v1/admin/users/{user['id']}/keys", json={}).json()["key"]
    member = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{server.url}/v1/hub/models", headers=member).status_code == 403
    path = f"{server.url}/v1/hub/models/{MODEL}/files/model.bin"
    assert httpx.get(path, headers=member).status_code == 403
    assert httpx.get(f"{server.url}/v1/hub/models").status_code == 401


def test_a_bundle_carries_models_to_an_air_gapped_site(base_env, tmp_path):
    # A model this site's catalogue does not know, with its file and its card.
    source = fresh(base_env, tmp_path / "central")
    (tmp_path / "central" / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    weights = tmp_path / "adapter.gguf"
    weights.write_bytes(b"GGUF" + bytes(range(256)) * 64)
    (tmp_path / "central" / "catalogue.toml").write_text(
        f"""
[[model]]
id = "mairie-assistant"
name = "Assistant de la mairie"
role = "chat"
backend = "llamacpp"
licence = "Apache-2.0"
context_length = 2048
sha256 = "{sha(weights)}"
[model.source]
kind = "file"
path = "{weights}"
[model.openness]
weights = {{ status = "open", note = "adapted in house" }}
training_data = {{ status = "closed", note = "the town's own documents" }}
training_code = {{ status = "open" }}
licence = {{ status = "open" }}
"""
    )
    bundle = tmp_path / "usb"
    greffier("models", "export", "mairie-assistant", MODEL, "-o", str(bundle), env=source)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert [m["entry"]["id"] for m in manifest["models"]] == ["mairie-assistant", MODEL]

    site = fresh(base_env, tmp_path / "site")
    done = greffier("models", "import", str(bundle), env=site)
    assert done.stdout.count("checksums match") == 2
    shown = greffier("models", "show", "mairie-assistant", env=site).stdout
    assert "the town's own documents" in shown  # the card came along
    greffier("models", "verify", "mairie-assistant", MODEL, env=site)

    # One byte changed on the way: refused, and nothing of that model installed.
    other = fresh(base_env, tmp_path / "other")
    main = bundle / MODEL / "model.bin"
    data = bytearray(main.read_bytes())
    data[4096] ^= 0xFF
    main.write_bytes(bytes(data))
    refused = greffier("models", "import", str(bundle), env=other, check=False)
    assert refused.returncode == 1 and "does not match its checksum" in refused.stderr
    assert not (tmp_path / "other" / "models" / MODEL / "model.bin").exists()
