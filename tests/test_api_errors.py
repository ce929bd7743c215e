"""Every bad input gets a precise 4xx in the OpenAI error shape, and the server keeps serving."""

from __future__ import annotations

import httpx
import openai
import pytest

from conftest import CONTEXT, MODEL
from greffier.api.errors import error_body

OK = {"model": MODEL, "messages": [{"role": "user", "content": "Bonjour"}], "max_tokens": 2}


def assert_error(
    response: httpx.Response, status: int, code: str | None = None, param: str | None = None
) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    if param is not None:
        assert body["error"]["param"] == param
    return body["error"]


def test_error_shape_is_pinned():
    assert error_body("m", "t", "p", "c") == {
        "error": {"message": "m", "type": "t", "param": "p", "code": "c"}
    }


def test_malformed_json(http):
    r = http.post(
        "/v1/chat/completions",
        content=b'{"model": "x", "messages": [',
        headers={"Content-Type": "application/json"},
    )
    assert_error(r, 400, "invalid_json")


def test_body_not_an_object(http):
    assert_error(http.post("/v1/chat/completions", json=[1, 2]), 400)


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"messages": OK["messages"]}, "model", "missing_required_parameter"),
        ({"model": MODEL}, "messages", "missing_required_parameter"),
        ({**OK, "messages": []}, "messages", "invalid_value"),
        ({**OK, "max_tokens": 0}, "max_tokens", "invalid_value"),
        ({**OK, "max_tokens": "many"}, "max_tokens", "invalid_value"),
        ({**OK, "temperature": 3}, "temperature", "invalid_value"),
        ({**OK, "n": 2}, "n", "invalid_value"),
        ({**OK, "stop": ["a", "b", "c", "d", "e"]}, "stop", "invalid_value"),
        ({**OK, "messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role", None),
    ],
)
def test_invalid_parameters(http, body, param, code):
    assert_error(http.post("/v1/chat/completions", json=body), 400, code, param)


def test_max_tokens_beyond_context(http):
    error = assert_error(
        http.post("/v1/chat/completions", json={**OK, "max_tokens": CONTEXT + 1}),
        400,
        param="max_tokens",
    )
    assert str(CONTEXT) in error["message"]


def test_prompt_longer_than_context(http):
    long = "Le conseil municipal délibère. " * 600
    for stream in (False, True):
        body = {**OK, "stream": stream, "messages": [{"role": "user", "content": long}]}
        error = assert_error(
            http.post("/v1/chat/completions", json=body), 400, "context_length_exceeded", "messages"
        )
        assert "Shorten" in error["message"]


def test_unknown_model(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-17", messages=OK["messages"])
    assert caught.value.code == "model_not_found"
    assert MODEL in caught.value.message  # says which models exist
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-17")


def test_unsupported_content_and_tools(http):
    image = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
    assert_error(
        http.post("/v1/chat/completions", json={**OK, "messages": [image]}),
        400,
        "unsupported_parameter",
        "messages.0.content",
    )
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert_error(
        http.post("/v1/chat/completions", json={**OK, "tools": tools}),
        400,
        "unsupported_parameter",
        "tools",
    )


def test_missing_bad_and_revoked_keys(server):
    url = f"{server.url}/v1/models"
    assert_error(httpx.get(url), 401, "missing_api_key")
    assert_error(
        httpx.get(url, headers={"Authorization": "Bearer grf_forged"}), 401, "invalid_api_key"
    )
    assert_error(httpx.get(url, headers={"Authorization": "Basic abc"}), 401)
    bad = openai.OpenAI(base_url=f"{server.url}/v1", api_key="sk-nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_huge_body(http, server):
    big = {**OK, "messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]}
    assert_error(http.post("/v1/chat/completions", json=big), 413, "payload_too_large")

    def chunked():
        yield b'{"model": "x", "messages": [{"role": "user", "content": "'
        for _ in range(5):
            yield b"y" * (1024 * 1024)
        yield b'"}]}'

    r = httpx.post(
        f"{server.url}/v1/chat/completions",
        content=chunked(),
        timeout=60,
        headers={"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"},
    )
    assert_error(r, 413, "payload_too_large")


def test_unknown_route_and_method(http):
    assert_error(http.get("/v1/nothing-here"), 404)
    assert_error(http.get("/v1/chat/completions"), 405)


def test_server_still_serves_after_bad_input(client):
    reply = client.chat.completions.create(model=MODEL, messages=OK["messages"], max_tokens=2)
    assert reply.choices[0].message.content


def test_revoked_key_stops_working_at_once(server):
    from conftest import greffier

    key = greffier(
        "admin", "create-key", "--user", "revoked-bob", "--role", "member", env=server.env
    )
    key = key.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{server.url}/v1/models", headers=headers).status_code == 200
    listing = greffier("admin", "list-keys", env=server.env).stdout
    key_id = next(
        line.split("│")[1].strip() for line in listing.splitlines() if "revoked-bob" in line
    )
    greffier("admin", "revoke-key", key_id, env=server.env)
    assert_error(httpx.get(f"{server.url}/v1/models", headers=headers), 401, "invalid_api_key")
