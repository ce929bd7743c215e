"""The official openai client against a real Greffier server and the real Qwen 0.5B model."""

from __future__ import annotations

from llama_cpp import Llama

from conftest import MODEL

QUESTION = [{"role": "user", "content": "Quelle est la capitale de la France ? Réponds en un mot."}]


def test_models_list_has_catalogue_with_openness(client):
    models = {m.id: m for m in client.models.list(extra_query={"all": "true"})}
    assert {MODEL, "qwen2.5-coder-1.5b-instruct", "lucie-7b-instruct"} <= set(models)
    card = models[MODEL].model_dump()
    assert card["role"] == "chat" and card["licence"] == "Apache-2.0"
    assert card["available"] is True and card["ready"] is True
    assert models["lucie-7b-instruct"].model_dump()["ready"] is False
    assert card["openness"]["components"]["weights"]["status"] == "open"
    assert card["openness"]["components"]["training_data"]["status"] == "closed"
    assert card["openness"]["verdict"].startswith("open weights only")
    assert (
        models["lucie-7b-instruct"].model_dump()["openness"]["verdict"].startswith("open source AI")
    )
    assert client.models.retrieve(MODEL).id == MODEL


def test_chat_is_deterministic_at_temperature_zero(client):
    answers = [
        client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=8)
        for _ in range(2)
    ]
    first = answers[0]
    assert "Paris" in first.choices[0].message.content
    assert first.choices[0].message.role == "assistant"
    assert first.object == "chat.completion"
    assert answers[1].choices[0].message.content == first.choices[0].message.content


def test_stream_matches_non_stream_text_and_usage(client):
    question = [{"role": "user", "content": "Décris Paris en deux phrases."}]
    kwargs = {"model": MODEL, "messages": question, "temperature": 0, "max_tokens": 12}
    whole = client.chat.completions.create(**kwargs)
    chunks = list(
        client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert text == whole.choices[0].message.content
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == [whole.choices[0].finish_reason]
    tokens = ("prompt_tokens", "completion_tokens", "total_tokens")
    streamed_usage, whole_usage = chunks[-1].usage.model_dump(), whole.usage.model_dump()
    assert {k: streamed_usage[k] for k in tokens} == {k: whole_usage[k] for k in tokens}
    for usage in (streamed_usage, whole_usage):  # documented extensions
        assert usage["energy_joules"] > 0 and usage["language"] == "fr"


def test_usage_matches_llama_cpp_reference(client, model_path):
    """Token counts equal those of llama-cpp-python's own chat completion, same model."""
    reference = Llama(model_path=str(model_path), n_ctx=2048, verbose=False)
    cases = [
        (QUESTION, 20),  # the model ends its turn: finish_reason "stop"
        ([{"role": "user", "content": "Décris Paris en deux phrases."}], 6),  # "length"
    ]
    for messages, max_tokens in cases:
        ours = client.chat.completions.create(
            model=MODEL, messages=messages, temperature=0, max_tokens=max_tokens
        )
        theirs = reference.create_chat_completion(
            messages=messages, temperature=0, max_tokens=max_tokens
        )
        assert ours.choices[0].message.content == theirs["choices"][0]["message"]["content"]
        assert ours.choices[0].finish_reason == theirs["choices"][0]["finish_reason"]
        assert ours.usage.prompt_tokens == theirs["usage"]["prompt_tokens"]
        assert ours.usage.completion_tokens == theirs["usage"]["completion_tokens"]
    assert {c[1] for c in cases} == {20, 6}


def test_stop_sequence_and_seed(client):
    kwargs = {
        "model": MODEL,
        "max_tokens": 24,
        "temperature": 0.9,
        "seed": 42,
        "messages": [{"role": "user", "content": "Compte de 1 à 10, séparés par des virgules."}],
    }
    a = client.chat.completions.create(**kwargs)
    b = client.chat.completions.create(**kwargs)
    assert a.choices[0].message.content == b.choices[0].message.content
    stopped = client.chat.completions.create(**{**kwargs, "temperature": 0, "stop": ["4"]})
    assert "4" not in stopped.choices[0].message.content
    assert "3" in stopped.choices[0].message.content
    assert stopped.choices[0].finish_reason == "stop"


def test_legacy_completions(client):
    done = client.completions.create(
        model=MODEL, prompt="The capital of France is", max_tokens=4, temperature=0
    )
    assert "Paris" in done.choices[0].text
    assert done.usage.completion_tokens <= 4
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(
            model=MODEL, prompt="The capital of France is", max_tokens=4, temperature=0, stream=True
        )
    )
    # Not compared character for character: the second call reuses the prompt's KV cache,
    # whose last-token logits differ in the last bits from a full evaluation.
    assert streamed.strip().startswith("Paris")
