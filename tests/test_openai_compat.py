"""What OpenAI clients send beyond plain chat, with the official client against the real
server and the real bundled Qwen 0.5B model: function calling, structured outputs,
log-probabilities, a reproducible seed, token-id embeddings, the ready-models list."""

from __future__ import annotations

import json
import math

import jsonschema
import openai
import pytest

from conftest import MODEL, MODEL_15, greffier

WEATHER = {
    "type": "function",
    "function": {
        "name": "meteo",
        "description": "Donne la météo actuelle d'une ville.",
        "parameters": {
            "type": "object",
            "properties": {"ville": {"type": "string", "description": "Nom de la ville"}},
            "required": ["ville"],
        },
    },
}
EMAIL = {
    "type": "function",
    "function": {
        "name": "envoyer_courriel",
        "description": "Envoie un courriel.",
        "parameters": {
            "type": "object",
            "properties": {"destinataire": {"type": "string"}, "objet": {"type": "string"}},
            "required": ["destinataire", "objet"],
        },
    },
}
ASK_WEATHER = [{"role": "user", "content": "Quel temps fait-il à Lyon ?"}]


def arguments(call) -> dict:
    return json.loads(call.function.arguments)


def tool_loop(client, model: str):
    """The loop a client runs: the model calls, the client answers, the model goes on."""
    first = client.chat.completions.create(
        model=model, messages=ASK_WEATHER, tools=[WEATHER, EMAIL], temperature=0, max_tokens=60
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "meteo"
    assert arguments(call)["ville"].lower() == "lyon"
    history = [
        *ASK_WEATHER,
        choice.message.model_dump(exclude_none=True),
        {
            "role": "tool",
            "tool_call_id": call.id,
            "content": '{"temperature": 23, "ciel": "dégagé"}',
        },
    ]
    second = client.chat.completions.create(
        model=model, messages=history, tools=[WEATHER, EMAIL], temperature=0, max_tokens=60
    )
    # Calling again what it has the result of would loop: Greffier asks for the answer.
    assert second.choices[0].finish_reason == "stop"
    assert not second.choices[0].message.tool_calls
    return second.choices[0].message.content


def test_tool_loop_on_the_bundled_default_model(client):
    """On Qwen2.5-Coder-1.5B (what `make run` serves): the answer uses the result."""
    answer = tool_loop(client, MODEL_15)
    assert "23" in answer and "Lyon" in answer


def test_tool_loop_on_the_small_model_ends(client):
    assert tool_loop(client, MODEL)


def test_tool_choice_required_named_and_none(client):
    greeting = [{"role": "user", "content": "Bonjour !"}]
    required = client.chat.completions.create(
        model=MODEL, messages=greeting, tools=[WEATHER], tool_choice="required", max_tokens=40
    )
    assert required.choices[0].finish_reason == "tool_calls"
    assert required.choices[0].message.tool_calls[0].function.name == "meteo"
    named = client.chat.completions.create(
        model=MODEL,
        messages=ASK_WEATHER,
        tools=[WEATHER, EMAIL],
        tool_choice={"type": "function", "function": {"name": "envoyer_courriel"}},
        parallel_tool_calls=False,
        temperature=0,
        max_tokens=150,
    )
    calls = named.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["envoyer_courriel"]
    assert set(arguments(calls[0])) <= {"destinataire", "objet"}
    assert "destinataire" in arguments(calls[0])
    none = client.chat.completions.create(
        model=MODEL, messages=ASK_WEATHER, tools=[WEATHER], tool_choice="none", max_tokens=30
    )
    assert not none.choices[0].message.tool_calls and none.choices[0].message.content


def test_streamed_tool_call_deltas(client):
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=ASK_WEATHER,
            tools=[WEATHER],
            tool_choice="required",
            temperature=0,
            max_tokens=60,
            stream=True,
        )
    )
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or ()]
    assert deltas and deltas[0].id.startswith("call_") and deltas[0].function.name == "meteo"
    text = "".join(d.function.arguments or "" for d in deltas)
    assert json.loads(text)["ville"].lower() == "lyon"
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert reasons[-1] == "tool_calls"


def test_tool_requests_refused_with_the_parameter(http):
    base = {"model": MODEL, "messages": ASK_WEATHER, "max_tokens": 5}
    cases = [
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "x"}}},
         "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [WEATHER], "retrieval": {}}, "retrieval"),
        ({"response_format": {"type": "json_object"}, "retrieval": {}}, "retrieval"),
        ({"tools": [{**WEATHER, "function": {**WEATHER["function"], "strict": True,
                     "parameters": {"type": "object", "properties": {
                         "n": {"type": "integer", "minimum": 1}}}}}]}, "tools"),
    ]  # fmt: skip
    for extra, param in cases:
        reply = http.post("/v1/chat/completions", json={**base, **extra})
        assert reply.status_code == 400, extra
        assert reply.json()["error"]["param"] == param, reply.json()


SCHEMAS = [
    {
        "type": "object",
        "properties": {"nom": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["nom", "age"],
        "additionalProperties": False,
    },
    {
        "type": "object",
        "properties": {
            "ville": {"type": "string"},
            "habitants": {"type": "number"},
            "region": {"type": "string", "enum": ["Bretagne", "Occitanie", "Auvergne-Rhône-Alpes"]},
        },
        "required": ["ville", "habitants", "region"],
        "additionalProperties": False,
    },
    {
        "type": "object",
        "properties": {
            "titre": {"type": "string", "maxLength": 40},
            "etapes": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
            "urgent": {"type": "boolean"},
        },
        "required": ["titre", "etapes", "urgent"],
        "additionalProperties": False,
    },
    {
        "type": "object",
        "properties": {
            "reunion": {
                "type": "object",
                "properties": {"date": {"type": "string", "format": "date"},
                               "participants": {"type": "array", "items": {"type": "string"},
                                                "maxItems": 8}},
                "required": ["date", "participants"],
                "additionalProperties": False,
            },
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["reunion", "note"],
        "additionalProperties": False,
    },
]  # fmt: skip
PROMPTS = [
    "Invente les informations demandées, en français.",
    "Réponds à propos de la mairie de Rennes, brièvement.",
]


def test_json_schema_outputs_always_validate(client):
    for schema in SCHEMAS:
        for prompt in PROMPTS:
            reply = client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": prompt}],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "sortie", "schema": schema, "strict": True},
                },
                # Room enough: a cut answer is incomplete JSON, as OpenAI's. (Greedy decoding
                # lets the small model repeat list items until the budget ends.)
                max_tokens=400,
                # Sampled freely, the small model sometimes runs on inside a string until
                # the budget ends (valid JSON so far, but cut): fixed sampling, one answer.
                temperature=0.2,
                seed=7,
            )
            content = reply.choices[0].message.content
            assert reply.choices[0].finish_reason == "stop", content
            jsonschema.validate(json.loads(content), schema)


def test_json_object_and_strict_refusal(client):
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Donne la capitale de la France en JSON."}],
        response_format={"type": "json_object"},
        max_tokens=60,
    )
    assert isinstance(json.loads(reply.choices[0].message.content), dict)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=MODEL,
            messages=ASK_WEATHER,
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "n",
                    "strict": True,
                    "schema": {"type": "object", "properties": {"n": {"type": "integer",
                               "multipleOf": 3}}},
                },
            },
        )  # fmt: skip
    assert caught.value.param == "response_format" and "multipleOf" in caught.value.message


def test_chat_logprobs_as_openai_returns_them(client):
    # A seed: the streamed request must not reuse the first one's cached prompt.
    kwargs = {"model": MODEL, "messages": ASK_WEATHER, "temperature": 0, "max_tokens": 8, "seed": 7}
    whole = client.chat.completions.create(**kwargs, logprobs=True, top_logprobs=3)
    content = whole.choices[0].logprobs.content
    assert "".join(t.token for t in content) == whole.choices[0].message.content
    for token in content:
        assert token.logprob <= 0 and bytes(token.bytes).decode() == token.token
        assert len(token.top_logprobs) == 3
        tops = [t.logprob for t in token.top_logprobs]
        assert tops == sorted(tops, reverse=True)
        assert token.top_logprobs[0].token == token.token  # greedy: the likeliest was taken
        assert math.isclose(token.top_logprobs[0].logprob, token.logprob)
    streamed = [
        t
        for c in client.chat.completions.create(**kwargs, logprobs=True, stream=True)
        if c.choices and c.choices[0].logprobs
        for t in c.choices[0].logprobs.content
    ]
    assert [t.token for t in streamed] == [t.token for t in content]
    plain = client.chat.completions.create(**kwargs)
    assert plain.choices[0].logprobs is None


def test_legacy_completion_logprobs(client):
    done = client.completions.create(
        model=MODEL, prompt="La capitale de la France est", max_tokens=4, temperature=0, logprobs=2
    )
    lp = done.choices[0].logprobs
    assert "".join(lp.tokens) == done.choices[0].text
    assert len(lp.token_logprobs) == len(lp.tokens) == len(lp.text_offset)
    assert all(len(top) == 2 for top in lp.top_logprobs)


def test_seed_gives_the_same_answer_whatever_came_before(client):
    asked = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Écris une phrase sur la mer."}],
        "temperature": 1.0,
        "seed": 1234,
        "max_tokens": 24,
    }
    first = client.chat.completions.create(**asked).choices[0].message.content
    # Requests that leave other prompts (sharing prefixes) in the model's cache.
    client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Écris une phrase sur le ciel."}],
        max_tokens=12,
    )  # fmt: skip
    again = client.chat.completions.create(**asked).choices[0].message.content
    twice = client.chat.completions.create(**asked).choices[0].message.content
    assert first == again == twice
    other = client.chat.completions.create(**{**asked, "seed": 99}).choices[0].message.content
    assert other != first


def test_embeddings_from_token_ids_dimensions_and_openai_names(client, server):
    import tiktoken

    from greffier.tokens.tokenizers import offline_encoding

    encoding = offline_encoding("cl100k_base", server.data / "tokenizers")
    assert encoding is not None  # from the installed litellm package: nothing was fetched
    text = "Les horaires d'ouverture de la mairie"
    ids = tiktoken.get_encoding("cl100k_base").encode(text)
    by_text = client.embeddings.create(model="multilingual-e5-small", input=text).data[0]
    by_ids = client.embeddings.create(model="multilingual-e5-small", input=[ids]).data[0]
    assert by_ids.embedding == pytest.approx(by_text.embedding, abs=1e-6)
    alias = client.embeddings.create(model="text-embedding-3-small", input=ids).data[0]
    assert alias.embedding == pytest.approx(by_text.embedding, abs=1e-6)
    same = client.embeddings.create(model="multilingual-e5-small", input=text, dimensions=384)
    assert len(same.data[0].embedding) == 384
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="multilingual-e5-small", input=text, dimensions=128)
    assert caught.value.param == "dimensions" and "384" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="multilingual-e5-small", input=[[200_000]])
    assert caught.value.param == "input"


def test_models_lists_ready_models_and_hides_server_details(client, http, server):
    ready = {m.id: m.model_dump() for m in client.models.list()}
    assert MODEL in ready and "multilingual-e5-small" in ready
    assert "lucie-7b-instruct" not in ready  # not pulled here
    assert {card["role"] for card in ready.values()} >= {"chat", "embedding"}
    assert all(card["ready"] for card in ready.values())
    everything = http.get("/v1/models", params={"all": "true"}).json()["data"]
    assert "lucie-7b-instruct" in {m["id"] for m in everything}
    # A member reads a short reason; an admin (the client fixture's key) also gets the fix.
    key = (
        greffier(
            "admin", "create-key", "--user", "models-member", "--role", "member", env=server.env
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    member = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.InternalServerError) as caught:
        member.chat.completions.create(model="lucie-7b-instruct", messages=ASK_WEATHER)
    assert caught.value.status_code == 503 and caught.value.code == "model_not_ready"
    message = caught.value.message
    assert "/" not in message.replace("GET /v1/models", "") and "pip" not in message
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="lucie-7b-instruct", messages=ASK_WEATHER)
    assert "greffier models pull lucie-7b-instruct" in caught.value.message


def streamed(client, **kwargs):
    """(text, tool calls by index, logprob tokens) of a streamed answer. Upstream tests
    stream: each piece must come within upstream_timeout, not the whole answer."""
    text, calls, tokens = "", {}, []
    for chunk in client.chat.completions.create(**kwargs, stream=True):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for d in choice.delta.tool_calls or ():
                call = calls.setdefault(d.index, {"name": "", "arguments": ""})
                call["name"] = (d.function.name if d.function else None) or call["name"]
                call["arguments"] += (d.function.arguments if d.function else None) or ""
            tokens += choice.logprobs.content if choice.logprobs and choice.logprobs.content else []
    return text, calls, tokens


def test_upstream_passes_tools_formats_and_logprobs(client):
    _, calls, _ = streamed(
        client,
        model="via-upstream",
        messages=ASK_WEATHER,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "meteo"}},
        temperature=0,
        max_tokens=40,
    )
    assert calls[0]["name"] == "meteo" and "ville" in json.loads(calls[0]["arguments"])
    # This upstream (llama-cpp-python's server) takes the formats "text" and "json_object"
    # only; Greffier passes response_format on as sent.
    text, _, _ = streamed(
        client,
        model="via-upstream",
        messages=[
            {
                "role": "user",
                "content": 'Réponds par un objet JSON court : {"ville": une ville de France}.',
            }
        ],
        response_format={"type": "json_object"},
        temperature=0,
        max_tokens=200,
    )
    assert isinstance(json.loads(text), dict)
    _, _, tokens = streamed(
        client,
        model="via-upstream",
        messages=ASK_WEATHER,
        max_tokens=4,
        logprobs=True,
        top_logprobs=2,
    )
    assert tokens and all(t.logprob <= 0 for t in tokens)
