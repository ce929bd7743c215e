"""Greffier is offline by design: the suite refuses and records any connection outside loopback.

Every Python process the tests start (the Greffier server, llama_cpp.server, the CLI)
loads tests/netguard; at the end of the session any recorded attempt fails the run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import netguard
from netguard import OutsideConnection


def test_guard_refuses_outside_addresses_in_process(tmp_path, monkeypatch):
    monkeypatch.setattr(netguard, "log_path", str(tmp_path / "guard.log"))
    with socket.socket() as sock, pytest.raises(OutsideConnection):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: refused before any packet leaves
    assert "192.0.2.1" in (tmp_path / "guard.log").read_text()


def test_guard_is_active_in_started_processes(tmp_path):
    log = tmp_path / "guard.log"
    code = "import socket; socket.create_connection(('198.51.100.7', 443), timeout=1)"
    env = {**os.environ, "GREFFIER_NETGUARD_LOG": str(log)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "netguard" in done.stderr
    assert "198.51.100.7" in log.read_text()


def test_server_made_no_outside_connection(server, client):
    client.models.list()
    client.chat.completions.create(
        model="qwen2.5-coder-0.5b-instruct",
        max_tokens=2,
        messages=[{"role": "user", "content": "Bonjour"}],
    )
    log = Path(os.environ["GREFFIER_NETGUARD_LOG"])
    assert not log.exists() or not log.read_text().strip(), log.read_text()


def test_api_docs_load_no_external_asset(server):
    import httpx

    page = httpx.get(f"{server.url}/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in page
    assert "http://" not in page and "https://" not in page
    js = httpx.get(f"{server.url}/static/swagger/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
