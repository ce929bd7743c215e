"""One request at a time per in-process model, a bounded queue, and disconnects that stop work."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from conftest import MODEL, QUEUE

LONG = {
    "model": MODEL,
    "max_tokens": 400,
    "temperature": 0.8,
    "messages": [
        {"role": "user", "content": "Écris un long poème sur la mer, strophe par strophe."}
    ],
}


def health(server) -> dict:
    return httpx.get(f"{server.url}/health").json()["models"][MODEL]


def wait_idle(server, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = health(server)
        if stats["active"] == 0 and stats["waiting"] == 0:
            return stats
        time.sleep(0.1)
    raise AssertionError(f"model still busy: {health(server)}")


def test_full_queue_answers_429_with_retry_after(server):
    wait_idle(server)
    headers = {"Authorization": f"Bearer {server.key}"}
    results: list[httpx.Response] = []

    def call():
        body = {**LONG, "max_tokens": 40}
        results.append(
            httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=300)
        )

    threads = [threading.Thread(target=call) for _ in range(QUEUE + 3)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) >= QUEUE + 1
    refused = [r for r in results if r.status_code == 429]
    assert refused, statuses
    for r in refused:
        assert int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"]["code"] == "model_busy"
    wait_idle(server)


def test_disconnect_mid_stream_stops_generation(server):
    wait_idle(server)
    before = health(server)
    headers = {"Authorization": f"Bearer {server.key}"}
    received = 0
    with httpx.stream(
        "POST",
        f"{server.url}/v1/chat/completions",
        json={**LONG, "stream": True},
        headers=headers,
        timeout=120,
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: {"):
                received += 1
            if received == 3:
                break  # leaving the block closes the connection mid-stream
    stats = wait_idle(server, timeout=30)
    assert stats["cancelled"] == before["cancelled"] + 1
    assert stats["completed"] == before["completed"]
    # The model is free again at once and answers the next request.
    r = httpx.post(
        f"{server.url}/v1/chat/completions",
        headers=headers,
        timeout=120,
        json={**LONG, "max_tokens": 3, "stream": False},
    )
    assert r.status_code == 200


def test_disconnect_before_a_non_streamed_answer_stops_generation(server):
    wait_idle(server)
    before = health(server)
    headers = {"Authorization": f"Bearer {server.key}"}
    with pytest.raises(httpx.TimeoutException):  # the client gives up and hangs up
        httpx.post(f"{server.url}/v1/chat/completions", json=LONG, headers=headers, timeout=1.5)
    stats = wait_idle(server, timeout=30)
    assert stats["cancelled"] == before["cancelled"] + 1
    assert stats["completed"] == before["completed"]
