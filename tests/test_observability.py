"""What an operator watches: /health/live and /health/ready, Prometheus /metrics (and who
may read it), request ids, JSON logs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from conftest import running_server


def test_live_and_ready(server):
    assert httpx.get(f"{server.url}/health/live", timeout=60).json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/health/ready", timeout=60)
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["database"] == "ok" and checks["queue"] == "ok"
    assert checks["model qwen2.5-coder-0.5b-instruct"] == "ok"


def test_ready_on_postgresql_checks_its_database_and_queue(pg_server):
    ready = httpx.get(f"{pg_server.url}/health/ready", timeout=60)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["queue"] == "ok"


def test_metrics_count_requests_tokens_first_tokens_jobs_and_quota_refusals(server, http, client):
    client.chat.completions.create(
        model="qwen2.5-coder-0.5b-instruct",
        messages=[{"role": "user", "content": "Dis bonjour."}],
        max_tokens=5,
        stream=True,
    ).close()
    reply = client.chat.completions.create(
        model="qwen2.5-coder-0.5b-instruct",
        messages=[{"role": "user", "content": "Dis bonjour."}],
        max_tokens=5,
    )
    # A key with a quota of one request a minute, used twice.
    user = http.post("/v1/admin/users", json={"name": f"quota-{uuid.uuid4().hex[:6]}"}).json()
    key = http.post(f"/v1/admin/users/{user['id']}/keys", json={}).json()
    http.put("/v1/admin/quotas", json={"key_id": key["id"], "requests_per_minute": 1})
    limited = {"Authorization": f"Bearer {key['key']}"}
    assert httpx.get(f"{server.url}/v1/models", headers=limited, timeout=60).status_code == 200
    assert httpx.get(f"{server.url}/v1/models", headers=limited, timeout=60).status_code == 429
    text = httpx.get(f"{server.url}/metrics", timeout=60).text
    assert 'greffier_http_requests_total{method="GET",route="/v1/models",status="429"}' in text
    assert 'route="/v1/chat/completions"' in text
    assert "/v1/documents/1" not in text  # templates, never raw paths
    model = 'model="qwen2.5-coder-0.5b-instruct"'
    assert f"greffier_time_to_first_token_seconds_count{{{model}}}" in text
    completion = next(
        line
        for line in text.splitlines()
        if line.startswith("greffier_tokens_total") and model in line and "completion" in line
    )
    assert float(completion.rsplit(" ", 1)[1]) >= reply.usage.completion_tokens
    assert 'greffier_jobs{state="queued"}' in text
    refusals = next(
        line for line in text.splitlines() if line.startswith("greffier_quota_refusals_total")
    )
    assert float(refusals.rsplit(" ", 1)[1]) >= 1


def test_metrics_are_for_this_machine_or_the_token(tmp_path):
    from greffier.server import create_app
    from greffier.settings import Settings

    open_app = create_app(Settings(data_dir=tmp_path / "a", preload_default_model=False))
    with TestClient(open_app) as away:  # its client is not on this machine
        assert away.get("/metrics").status_code == 403
    guarded = create_app(
        Settings(data_dir=tmp_path / "b", preload_default_model=False, metrics_token="s3cret")
    )
    with TestClient(guarded) as prometheus:
        assert prometheus.get("/metrics").status_code == 401
        wrong = prometheus.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["type"]
        right = prometheus.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200 and "greffier_http_requests_total" in right.text


def test_request_ids_in_json_logs(base_env, tmp_path):
    data = tmp_path / "logs"
    data.mkdir()
    (data / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    env = {
        **base_env,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_LOG_FORMAT": "json",
        "GREFFIER_PRELOAD_DEFAULT_MODEL": "false",
    }
    with running_server(env, data) as running:
        rid = uuid.uuid4().hex
        answered = httpx.get(
            f"{running.url}/v1/models",
            headers={"Authorization": f"Bearer {running.key}", "X-Request-ID": rid},
            timeout=60,
        )
        assert answered.headers["x-request-id"] == rid
        fresh = httpx.get(f"{running.url}/health/live", timeout=60)
        assert len(fresh.headers["x-request-id"]) == 32  # given one when it had none
    lines = [
        json.loads(line)
        for line in next(data.glob("server-*.log")).read_text().splitlines()
        if line.startswith("{")
    ]
    mine = [line for line in lines if line.get("request_id") == rid]
    assert mine and all({"time", "level", "name", "message"} <= set(line) for line in mine)
