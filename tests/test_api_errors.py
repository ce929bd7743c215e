"""Every bad input gets a precise 4xx in the OpenAI error shape, and the server keeps serving."""

from __future__ import annotations

import json

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
    tools = [{"type": "web_search"}]  # only function tools exist here
    assert_error(
        http.post("/v1/chat/completions", json={**OK, "tools": tools}),
        400,
        "unsupported_parameter",
        "tools.0.type",
    )
    functions = [{"name": "f", "parameters": {"type": "object"}}]
    assert_error(
        http.post("/v1/chat/completions", json={**OK, "functions": functions}),
        400,
        "unsupported_parameter",
        "functions",
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


# --- issue 19: ids a database cannot hold, text it cannot store (found by tests/test_fuzz.py)

TOO_LARGE = 2**63  # one more than SQLite's INTEGER and PostgreSQL's BIGINT hold


@pytest.mark.parametrize(
    ("method", "path", "body", "noun", "param"),
    [
        ("GET", "/v1/collections/{}", None, "collection", "collection_id"),
        ("PATCH", "/v1/collections/{}", {"description": "x"}, "collection", "collection_id"),
        ("GET", "/v1/documents/{}/chunks", None, "document", "document_id"),
        ("DELETE", "/v1/documents/{}", None, "document", "document_id"),
        ("GET", "/v1/meetings/{}/audio", None, "meeting", "meeting_id"),
        ("PATCH", "/v1/meetings/{}", {"title": "x"}, "meeting", "meeting_id"),
        ("POST", "/v1/meetings/{}/speakers", {"label": "A", "name": "B"}, "meeting", "meeting_id"),
        ("POST", "/v1/meetings/{}/minutes", None, "meeting", "meeting_id"),
        (
            "POST",
            "/v1/collections/{}/grants",
            {"user": "x", "permission": "read"},
            "collection",
            None,
        ),
        ("DELETE", "/v1/admin/users/{}", None, "user", "user_id"),
        ("DELETE", "/v1/admin/groups/{}", None, "group", "group_id"),
    ],
)
def test_an_impossible_id_is_a_missing_one(http, method, path, body, noun, param):
    """A huge, zero or non-numeric id gets the same 404 as an id no record has."""
    missing = assert_error(http.request(method, path.format(2**62), json=body), 404, "not_found")
    assert missing["message"] == f"No {noun} with id {2**62}."
    for impossible in (TOO_LARGE, 10**30, 0, -1, "abc", "1.5"):
        error = assert_error(
            http.request(method, path.format(impossible), json=body), 404, "not_found"
        )
        assert error["message"] == f"No {noun} with id {impossible}."
        assert error["type"] == missing["type"]
        if param is not None:
            assert error["param"] == missing["param"] == param


def test_impossible_ids_in_a_body(http):
    """Ids a body names are checked as the path's are: 404 "No collection with id …"."""
    for body in (
        {"query": "budget", "collections": [TOO_LARGE]},
        {"query": "budget", "meetings": [1, TOO_LARGE]},
    ):
        error = assert_error(http.post("/v1/search", json=body), 404, "not_found")
        assert str(TOO_LARGE) in error["message"]
        assert error["param"] in ("collections", "meetings")
    chat = {**OK, "retrieval": {"collections": [TOO_LARGE]}}
    error = assert_error(http.post("/v1/chat/completions", json=chat), 404, "not_found")
    assert error["message"] == f"No collection with id {TOO_LARGE}."
    quota = {"key_id": TOO_LARGE, "requests_per_minute": 10}
    error = assert_error(http.put("/v1/admin/quotas", json=quota), 404, "not_found")
    assert error["param"] == "key_id"
    assert_error(http.get("/v1/admin/audit", params={"document": TOO_LARGE}), 400)


def _post_escaped(http: httpx.Client, path: str, body: dict) -> httpx.Response:
    """POST as JSON with every non-ASCII character escaped ("\\ud800"), as JSON allows even
    for an unpaired surrogate (httpx would encode the text as UTF-8, which cannot)."""
    return http.post(
        path, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/collections", {"name": "Notes \x00 cachées"}, "name"),
        ("/v1/collections", {"name": "\ud800"}, "name"),
        (
            "/v1/chat/completions",
            {**OK, "messages": [{"role": "user", "content": "a\udfffb"}]},
            "messages.0.content",
        ),
        ("/v1/tokenize", {"model": MODEL, "prompt": "\x00"}, "prompt"),
        ("/v1/search", {"query": "budget", "\ud83d": 1}, "\\ud83d"),
    ],
)
def test_text_that_cannot_be_stored_is_refused(http, path, body, param):
    """NUL characters and unpaired surrogates: a 400 naming the parameter, nothing stored."""
    error = assert_error(_post_escaped(http, path, body), 400, "invalid_characters", param)
    assert "Send valid UTF-8 text" in error["message"]


def test_text_that_cannot_be_stored_in_a_query_or_a_form(http):
    assert_error(
        http.get("/v1/admin/audit", params={"user": "a\x00b"}), 400, "invalid_characters", "user"
    )
    upload = http.post("/v1/meetings", data={"title": "x\x00y"}, files={"file": ("a.wav", b"x")})
    assert_error(upload, 400, "invalid_characters", "title")


def test_a_pair_of_surrogates_is_text(http):
    """JSON writes an emoji as two escaped surrogates: that is valid text."""
    made = _post_escaped(http, "/v1/collections", {"name": "Réunion \ud83d\ude00 19"})
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "Réunion 😀 19"
    assert http.delete(f"/v1/collections/{made.json()['id']}").status_code == 200


def test_an_empty_prompt_is_refused(http):
    body = {"model": MODEL, "prompt": "", "max_tokens": 2}
    assert_error(http.post("/v1/completions", json=body), 400, param="prompt")


def test_a_name_taken_is_a_conflict(http):
    group = http.post("/v1/admin/groups", json={"name": "issue-19"})
    assert group.status_code == 201, group.text
    again = http.post("/v1/admin/groups", json={"name": "issue-19"})
    assert_error(again, 409, "already_exists", "name")
    http.delete(f"/v1/admin/groups/{group.json()['id']}")


def test_wrong_method_names_every_allowed_one(http):
    for path, allowed in (
        ("/v1/collections", "GET, POST"),
        ("/v1/admin/groups/1/members", "DELETE, POST"),
    ):
        r = http.put(path, json={})
        assert_error(r, 405)
        assert r.headers["allow"] == allowed


def test_the_published_schema_states_the_constraints(http):
    schema = http.get("/openapi.json").json()
    path_id = schema["paths"]["/v1/collections/{collection_id}"]["get"]["parameters"][0]
    assert path_id["schema"]["minimum"] == 1 and path_id["schema"]["maximum"] == 2**63 - 1
    operation = schema["paths"]["/v1/collections"]["post"]
    errors = operation["responses"]
    assert {"400", "401", "409", "413", "429"} <= set(errors)
    shape = errors["400"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    detail = schema["components"]["schemas"]["ErrorDetail"]
    assert shape == "ErrorResponse" and set(detail["properties"]) == set(detail["required"])
    assert "GetCollectionsCollectionId" in errors["201"]["links"]
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
