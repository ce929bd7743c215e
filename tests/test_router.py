"""One model served by several upstream servers (real `python -m llama_cpp.server`
processes on loopback): requests spread over them, a dead one is skipped before the first
token and comes back when it answers again, a stream cut after its first tokens ends with
an error event, embeddings fail over too, a pool refuses cleanly beyond its limit, and
aliases fall back to the next model without breaking sensitivity routing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from conftest import (
    CONTEXT,
    SERVER_SETTINGS,
    UPSTREAM_ENTRY,
    free_port,
    running_server,
    wait_http,
)

ALIASES = """
[[alias]]
id = "assistant"
models = ["pool-external", "pool"]

[[alias]]
id = "resilient"
models = ["pool-dead", "pool"]
"""


class Upstream:
    """A llama.cpp server on a port of its own, that can be killed and started again."""

    def __init__(self, model_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.model_path = model_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(self.model_path),
                "--n_ctx",
                str(CONTEXT),
                "--n_threads",
                "1",
                "--model_alias",
                "upstream-qwen",
                # llama-cpp-python's server stops a running answer when any other request
                # comes (a health check included); llama.cpp's own server and vLLM do not.
                "--interrupt_requests",
                "False",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(f"{self.url}/models", self.proc)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


def pooled(model_id: str, urls: list[str], *, role: str = "chat", external: bool = False) -> str:
    entry = UPSTREAM_ENTRY.format(id=model_id, url="")
    entry = entry.replace(
        'base_url = ""', "base_urls = [" + ", ".join(f'"{u}"' for u in urls) + "]"
    )
    if external:
        entry = entry.replace('kind = "upstream"', 'kind = "upstream"\nlocation = "external"')
    if role == "embedding":
        entry = entry.replace('role = "chat"', 'role = "embedding"').replace(
            'model = "upstream-qwen"', 'model = "multilingual-e5-small"'
        )
    return entry


@pytest.fixture(scope="module")
def upstreams(model_path):
    pair = [Upstream(model_path), Upstream(model_path)]
    try:
        for upstream in pair:
            upstream.start()
        yield pair
    finally:
        for upstream in pair:
            upstream.stop()


@pytest.fixture(scope="module")
def gateway(base_env, upstreams, remote_embedder, tmp_path_factory):
    data = tmp_path_factory.mktemp("router")
    (data / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    dead = f"http://127.0.0.1:{free_port()}/v1"
    urls = [u.url for u in upstreams]
    (data / "catalogue.toml").write_text(
        pooled("pool", urls)
        + pooled("pool-external", urls, external=True)
        + pooled("pool-dead", [dead])
        + pooled("pool-e5", [dead, remote_embedder], role="embedding")
        + ALIASES
    )
    env = {
        **base_env,
        **SERVER_SETTINGS,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_UPSTREAM_HEALTH_INTERVAL": "0.5",
        "GREFFIER_UPSTREAM_TIMEOUT": "300",  # each server answers one request at a time
        "GREFFIER_UPSTREAM_MAX_IN_FLIGHT": "3",
    }
    with running_server(env, data) as server:
        yield server


@pytest.fixture
def api(gateway):
    with httpx.Client(
        base_url=gateway.url, headers={"Authorization": f"Bearer {gateway.key}"}, timeout=120
    ) as http:
        yield http


def upstream_metric(api, name: str, model: str = "pool") -> dict[str, float]:
    """``name`` by upstream URL for ``model``, from /metrics (loopback: no token)."""
    values = {}
    for line in api.get("/metrics").text.splitlines():
        if line.startswith(f"{name}{{") and f'model="{model}"' in line:
            labels, value = line.rsplit(" ", 1)
            url = labels.split('upstream="', 1)[1].split('"', 1)[0]
            values[url] = float(value)
    return values


def chat(api, model: str = "pool", **extra) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "Bonjour"}]}
    return api.post("/v1/chat/completions", json=body | {"max_tokens": 4} | extra)


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not reached within {timeout} s: {what}"
        time.sleep(0.2)


def test_requests_spread_over_the_upstreams(api, upstreams):
    before = upstream_metric(api, "greffier_upstream_requests_total")
    with ThreadPoolExecutor(3) as pool:  # within the pool's limit of 3 in flight
        replies = list(pool.map(lambda _: chat(api), range(6)))
    assert [r.status_code for r in replies] == [200] * 6
    after = upstream_metric(api, "greffier_upstream_requests_total")
    served = {u.url: after.get(u.url, 0) - before.get(u.url, 0) for u in upstreams}
    assert sum(served.values()) == 6
    assert all(n >= 1 for n in served.values()), served


def test_a_dead_upstream_is_skipped_and_comes_back(api, upstreams):
    dead, alive = upstreams
    dead.kill()
    try:
        replies = [chat(api) for _ in range(5)]
        assert [r.status_code for r in replies] == [200] * 5  # none lost
        wait_until(
            lambda: upstream_metric(api, "greffier_upstream_up").get(dead.url) == 0,
            "the dead upstream shown down",
        )
        assert upstream_metric(api, "greffier_upstream_up")[alive.url] == 1
        in_flight = upstream_metric(api, "greffier_upstream_in_flight")
        assert set(in_flight) == {dead.url, alive.url}
    finally:
        dead.start()
    wait_until(
        lambda: upstream_metric(api, "greffier_upstream_up").get(dead.url) == 1,
        "the restarted upstream back in service (health check)",
    )
    assert chat(api).status_code == 200


def test_a_stream_cut_after_its_first_tokens_ends_with_an_error(gateway, api, upstreams):
    client = openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=gateway.key, max_retries=0, timeout=120
    )
    stream = client.chat.completions.create(
        model="pool",
        messages=[{"role": "user", "content": "Écris un long poème sur la mer."}],
        max_tokens=400,
        stream=True,
    )
    pieces, victim = [], None
    with pytest.raises(openai.APIError) as failure:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if len(pieces) == 2 and victim is None:
                busy = upstream_metric(api, "greffier_upstream_in_flight")
                victim = next(u for u in upstreams if busy.get(u.url) == 1)
                victim.kill()
    assert pieces  # tokens came before the death
    assert "broke off its answer" in str(failure.value) or "upstream" in str(failure.value)
    victim.start()
    wait_until(
        lambda: upstream_metric(api, "greffier_upstream_up").get(victim.url) == 1,
        "the restarted upstream back in service",
    )


def test_embeddings_fail_over(api):
    for _ in range(3):  # each server gets its turn: the dead one is tried, then skipped
        reply = api.post("/v1/embeddings", json={"model": "pool-e5", "input": ["mairie"]})
        assert reply.status_code == 200, reply.text
        assert len(reply.json()["data"][0]["embedding"]) == 384
    failures = upstream_metric(api, "greffier_upstream_failures_total", model="pool-e5")
    assert sum(failures.values()) >= 1  # the dead one was tried and skipped


def test_beyond_the_pool_limit_a_clean_429(api):
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: chat(api, max_tokens=48), range(8)))
    statuses = sorted(r.status_code for r in replies)
    assert set(statuses) == {200, 429}, statuses  # the limit is 3 in flight
    refused = next(r for r in replies if r.status_code == 429)
    assert refused.json()["error"]["code"] == "model_busy"
    assert refused.headers["retry-after"].isdigit()


def test_an_alias_falls_back_to_the_next_model(api):
    reply = chat(api, model="resilient")
    assert reply.status_code == 200, reply.text
    assert reply.json()["model"] == "pool"


def test_an_alias_keeps_sensitive_documents_from_an_external_model(api):
    collection = api.post(
        "/v1/collections", json={"name": "Dossiers du personnel", "sensitivity": "sensitive"}
    ).json()
    try:
        uploaded = api.post(
            f"/v1/collections/{collection['id']}/documents",
            files=[("files", ("note.txt", b"Le code de la porte est 4812."))],
        )
        assert uploaded.status_code < 300, uploaded.text
        body = {
            "model": "assistant",
            "messages": [{"role": "user", "content": "Quel est le code de la porte ?"}],
            "max_tokens": 8,
            "retrieval": {"collections": [collection["id"]]},
        }
        reply = api.post("/v1/chat/completions", json=body)
        assert reply.status_code == 200, reply.text
        # The external candidate comes first in the alias, but may not see a sensitive
        # collection: the on-premises one answered.
        assert reply.json()["model"] == "pool"
        plain = chat(api, model="assistant")
        assert plain.json()["model"] == "pool-external"  # nothing sensitive: the first one
    finally:
        api.delete(f"/v1/collections/{collection['id']}")
