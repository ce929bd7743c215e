"""What the benchmarks share: run the greffier CLI, pick a loopback port, start a server and
wait for it. Imported by the scripts of this folder (run as `python benchmarks/NAME.py`)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def greffier(*args: str, env: dict) -> str:
    """The output of a greffier command (raises when it fails)."""
    return subprocess.run(
        [sys.executable, "-m", "greffier", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str, timeout: float = 300) -> None:
    """Until ``url`` answers without a server error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def serve(env: dict) -> tuple[subprocess.Popen, str]:
    """`greffier serve` on a free loopback port, ready: the process and its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "greffier", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait(f"{url}/health", timeout=600)
    except RuntimeError:
        server.kill()
        raise
    return server, url
