"""Feedback on answers with the official openai client and the real server: an answer is
kept under the id the API returned, its author rates it, bad input gets OpenAI-shaped
errors, and curators accept or reject it."""

from __future__ import annotations

import uuid

import httpx
import pytest

from conftest import MODEL


def ask(client, question: str, **extra):
    return client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": question}],
        max_tokens=4,
        temperature=0,
        **extra,
    )


def member(http: httpx.Client, server, name: str) -> httpx.Client:
    user = http.post("/v1/admin/users", json={"name": name, "role": "member"})
    assert user.status_code == 201, user.text
    key = http.post(f"/v1/admin/users/{user.json()['id']}/keys", json={"label": "tests"})
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {key.json()['key']}"}, timeout=120
    )


def test_rate_an_answer_and_read_it_back(client, http):
    completion = ask(client, "Quelle est la capitale de la France ?")
    assert completion.id.startswith("chatcmpl-")
    path = f"/v1/chat/completions/{completion.id}/feedback"
    assert http.get(path).status_code == 404  # no feedback yet
    given = http.post(
        path, json={"rating": "down", "correction": "Paris.", "reason": "Trop court."}
    )
    assert given.status_code == 200, given.text
    item = given.json()
    assert item["object"] == "feedback" and item["answer_id"] == completion.id
    assert item["rating"] == "down" and item["correction"] == "Paris."
    assert item["question"] == "Quelle est la capitale de la France ?"
    assert item["answer"] == completion.choices[0].message.content
    assert item["model"] == MODEL and item["status"] == "pending"
    # Rated again: the new rating replaces the old one, the same item.
    again = http.post(path, json={"rating": "up"}).json()
    assert again["id"] == item["id"] and again["rating"] == "up" and again["correction"] is None
    assert http.get(path).json() == again


def test_streamed_answer_is_kept_too(client, http):
    stream = ask(client, "Dis bonjour.", stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    given = http.post(f"/v1/chat/completions/{chunks[0].id}/feedback", json={"rating": "up"})
    assert given.status_code == 200, given.text
    assert given.json()["answer"] == text


def test_bad_feedback_gets_openai_errors(client, http):
    completion = ask(client, "Un mot ?")
    path = f"/v1/chat/completions/{completion.id}/feedback"
    wrong = http.post(path, json={"rating": "meh"})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "rating"
    missing = http.post(path, json={})
    assert missing.status_code == 400
    unknown = http.post("/v1/chat/completions/chatcmpl-nothing/feedback", json={"rating": "up"})
    assert unknown.status_code == 404
    assert set(unknown.json()["error"]) == {"message", "type", "param", "code"}
    long = http.post(path, json={"rating": "down", "reason": "x" * 2001})
    assert long.status_code == 400
    # An answer asked with "store": false is kept nowhere: nothing to rate.
    unkept = ask(client, "Un autre mot ?", store=False)
    gone = http.post(f"/v1/chat/completions/{unkept.id}/feedback", json={"rating": "up"})
    assert gone.status_code == 404 and "store" in gone.json()["error"]["message"]
    assert http.patch("/v1/feedback/0", json={"status": "accepted"}).status_code == 404
    assert http.get("/v1/feedback", params={"status": "maybe"}).status_code == 400


def test_a_stored_response_can_be_rated(client, http):
    reply = client.responses.create(model=MODEL, input="Dis oui.", max_output_tokens=3)
    given = http.post(f"/v1/responses/{reply.id}/feedback", json={"rating": "up"})
    assert given.status_code == 200, given.text
    assert given.json()["question"] == "Dis oui." and given.json()["answer"] == reply.output_text
    assert http.get(f"/v1/responses/{reply.id}/feedback").json()["id"] == given.json()["id"]


def test_curation_by_admins_and_curators_only(client, http, server):
    tag = uuid.uuid4().hex[:6]
    author = member(http, server, f"auteur-{tag}")
    completion = author.post(
        "/v1/chat/completions",
        json={
            "model": MODEL,
            "messages": [{"role": "user", "content": "Bonjour ?"}],
            "max_tokens": 3,
        },
    ).json()
    item = author.post(
        f"/v1/chat/completions/{completion['id']}/feedback",
        json={"rating": "down", "correction": "Bonjour, que puis-je pour vous ?"},
    ).json()
    # A member who is not a curator sees their own feedback only and may not curate.
    other = member(http, server, f"autre-{tag}")
    assert item["id"] not in {f["id"] for f in other.get("/v1/feedback").json()["data"]}
    assert item["id"] in {f["id"] for f in author.get("/v1/feedback").json()["data"]}
    refused = other.patch(f"/v1/feedback/{item['id']}", json={"status": "accepted"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "curator_only"
    # Nobody else reads or rates the author's answer.
    assert other.get(f"/v1/chat/completions/{completion['id']}/feedback").status_code == 404
    stolen = other.post(f"/v1/chat/completions/{completion['id']}/feedback", json={"rating": "up"})
    assert stolen.status_code == 404
    # Made a curator (a member of the curators group), they curate.
    groups = {g["name"]: g for g in http.get("/v1/admin/groups").json()["data"]}
    curators = (
        groups.get("curators") or http.post("/v1/admin/groups", json={"name": "curators"}).json()
    )
    added = http.post(f"/v1/admin/groups/{curators['id']}/members", json={"user": f"autre-{tag}"})
    assert added.status_code in (200, 201), added.text
    pending = other.get("/v1/feedback", params={"status": "pending"}).json()["data"]
    assert item["id"] in {f["id"] for f in pending}
    accepted = other.patch(f"/v1/feedback/{item['id']}", json={"status": "accepted"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["curated_by"] == f"autre-{tag}"
    # An admin curates too; both decisions are in the audit log.
    rejected = http.patch(f"/v1/feedback/{item['id']}", json={"status": "rejected"}).json()
    assert rejected["status"] == "rejected"
    audit = http.get("/v1/admin/audit", params={"action": "feedback_curation"}).json()["data"]
    assert {e["user_name"] for e in audit} >= {f"autre-{tag}"}
    assert http.get("/v1/admin/audit", params={"action": "feedback"}).json()["data"]


@pytest.mark.parametrize("status", ["accepted", "rejected", "pending"])
def test_listing_by_status(http, status):
    listed = http.get("/v1/feedback", params={"status": status})
    assert listed.status_code == 200
    assert all(f["status"] == status for f in listed.json()["data"])
