"""/v1/tokenize and /v1/detokenize against llama.cpp's own tokenizer on the same file."""

from __future__ import annotations

import pytest
from llama_cpp import Llama

from conftest import MODEL

TEXTS = [
    "Le conseil municipal délibère sur le budget 2026.",
    "Ærøskøbing, naïveté, Œuvre — 12 345,67 € ; 🇫🇷",
    "<|im_end|> is a special token of Qwen.",
]


@pytest.fixture(scope="module")
def reference(model_path):
    return Llama(model_path=str(model_path), vocab_only=True, verbose=False)


@pytest.mark.parametrize("text", TEXTS)
def test_tokens_match_llama_cpp_and_round_trip(http, reference, text):
    body = http.post("/v1/tokenize", json={"model": MODEL, "prompt": text}).json()
    expected = reference.tokenize(text.encode(), add_bos=False, special=False)
    assert body["tokens"] == expected and body["count"] == len(expected)
    assert body["max_model_len"] == 2048
    back = http.post("/v1/detokenize", json={"model": MODEL, "tokens": body["tokens"]}).json()
    assert back["prompt"] == text


def test_special_tokens_and_pieces(http, reference):
    text = TEXTS[2]
    plain = http.post("/v1/tokenize", json={"model": MODEL, "prompt": text}).json()
    special = http.post(
        "/v1/tokenize",
        json={"model": MODEL, "prompt": text, "add_special_tokens": True, "return_pieces": True},
    ).json()
    assert special["count"] < plain["count"]  # "<|im_end|>" becomes one token
    assert special["pieces"][0] == "<|im_end|>"
    assert "".join(special["pieces"]) == text


def test_chat_messages_count_as_usage_does(http, client):
    messages = [{"role": "user", "content": "Bonjour, qui es-tu ?"}]
    counted = http.post("/v1/tokenize", json={"model": MODEL, "messages": messages}).json()
    reply = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=1)
    assert counted["count"] == reply.usage.prompt_tokens


def test_bad_tokenize_requests(http):
    def error(path, body):
        r = http.post(path, json=body)
        assert r.status_code in (400, 404), r.text
        return r.json()["error"]

    assert error("/v1/tokenize", {"model": MODEL})["code"] == "invalid_value"
    assert error("/v1/tokenize", {"model": "nope", "prompt": "x"})["code"] == "model_not_found"
    assert error("/v1/tokenize", {"model": "via-upstream", "prompt": "x"})["code"] == (
        "unsupported_parameter"
    )
    assert error("/v1/tokenize", {"model": "multilingual-e5-small", "prompt": "x"})["param"] == (
        "model"
    )
    assert error("/v1/detokenize", {"model": MODEL, "tokens": [10**9]})["param"] == "tokens"
