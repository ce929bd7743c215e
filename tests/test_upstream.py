"""The `openai` backend proxying to a real llama_cpp.server on loopback."""

from __future__ import annotations

import openai
import pytest

QUESTION = [{"role": "user", "content": "Quelle est la capitale de la France ? Un mot."}]


def test_upstream_non_stream_and_stream(client):
    whole = client.chat.completions.create(
        model="via-upstream", messages=QUESTION, temperature=0, max_tokens=8
    )
    assert "Paris" in whole.choices[0].message.content
    assert whole.model == "via-upstream"
    assert whole.usage.prompt_tokens > 0 and whole.usage.completion_tokens > 0
    chunks = list(
        client.chat.completions.create(
            model="via-upstream", messages=QUESTION, temperature=0, max_tokens=8, stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_upstream_legacy_completion(client):
    done = client.completions.create(
        model="via-upstream", prompt="The capital of France is", max_tokens=3, temperature=0
    )
    assert "Paris" in done.choices[0].text


def test_upstream_down_is_a_clear_502(client):
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="upstream-down", messages=QUESTION, max_tokens=2)
    assert caught.value.status_code == 502
    assert "Cannot reach" in caught.value.message
    assert "upstream-down" in caught.value.message


def test_upstream_that_never_answers_is_a_504(client):
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(
            model="upstream-silent", messages=QUESTION, max_tokens=2, stream=True
        )
    assert caught.value.status_code == 504
    assert caught.value.code == "upstream_timeout"
