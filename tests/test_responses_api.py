"""/v1/responses with the official openai client, the real server and the bundled model."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest

from conftest import MODEL

WEATHER = {
    "type": "function",
    "name": "meteo",
    "description": "Donne la météo actuelle d'une ville.",
    "parameters": {
        "type": "object",
        "properties": {"ville": {"type": "string"}},
        "required": ["ville"],
    },
}


def test_text_instructions_and_max_output_tokens(client):
    reply = client.responses.create(
        model=MODEL,
        instructions="Réponds en un seul mot.",
        input="Quelle est la capitale de la France ?",
        temperature=0,
    )
    assert reply.status == "completed" and reply.object == "response"
    assert "Paris" in reply.output_text
    assert reply.output[0].type == "message" and reply.output[0].role == "assistant"
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert reply.instructions == "Réponds en un seul mot."
    cut = client.responses.create(
        model=MODEL, input="Raconte l'histoire de Lyon.", max_output_tokens=5, temperature=0
    )
    assert cut.status == "incomplete" and cut.incomplete_details.reason == "max_output_tokens"
    assert cut.usage.output_tokens == 5


def test_streaming_events(client):
    events = list(
        client.responses.create(
            model=MODEL, input="Dis bonjour en français.", max_output_tokens=12, stream=True
        )
    )
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] in ("response.completed", "response.incomplete")
    assert "response.output_item.added" in kinds and "response.output_text.done" in kinds
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas and deltas == events[-1].response.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_previous_response_id_continues_and_belongs_to_its_owner(client, server, http):
    first = client.responses.create(
        model=MODEL,
        input="Retiens ceci : le code de la salle est 4512. Réponds juste « noté ».",
        temperature=0,
        max_output_tokens=10,
    )
    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input="Quel est le code de la salle ? Donne seulement le nombre.",
        temperature=0,
        max_output_tokens=10,
    )
    assert "4512" in second.output_text
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > first.usage.input_tokens
    assert client.responses.retrieve(second.id).output_text == second.output_text
    # Someone else can neither read nor continue it.
    user = http.post("/v1/admin/users", json={"name": f"other-{first.id[-6:]}"}).json()
    key = http.post(f"/v1/admin/users/{user['id']}/keys", json={"label": "tests"}).json()["key"]
    other = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(first.id)
    with pytest.raises(openai.NotFoundError) as caught:
        other.responses.create(model=MODEL, previous_response_id=first.id, input="Et alors ?")
    assert caught.value.param == "previous_response_id"
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    unstored = client.responses.create(
        model=MODEL, input="Bonjour", store=False, max_output_tokens=3
    )
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)


def test_function_call_round_trip(client):
    asked = "Quel temps fait-il à Lyon ?"
    call = client.responses.create(
        model=MODEL, input=asked, tools=[WEATHER], tool_choice="required", temperature=0
    )
    (item,) = [o for o in call.output if o.type == "function_call"]
    assert item.name == "meteo" and json.loads(item.arguments)["ville"].strip().lower() == "lyon"
    answer = client.responses.create(
        model=MODEL,
        previous_response_id=call.id,
        input=[{"type": "function_call_output", "call_id": item.call_id,
                "output": '{"temperature": 23, "ciel": "dégagé"}'}],
        tools=[WEATHER],
        temperature=0,
        max_output_tokens=60,
    )  # fmt: skip
    # The small model would call again: Greffier asks it for its answer instead (the 1.5B
    # model's answer using the result is checked in test_openai_compat.py).
    assert answer.status == "completed" and answer.previous_response_id == call.id
    assert [o.type for o in answer.output] == ["message"]
    streamed = list(
        client.responses.create(
            model=MODEL, input=asked, tools=[WEATHER], tool_choice="required", stream=True
        )
    )
    kinds = [e.type for e in streamed]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in streamed if e.type == "response.function_call_arguments.done")
    assert json.loads(done.arguments)["ville"].strip().lower() == "lyon"


def test_json_schema_text_format(client):
    schema = {
        "type": "object",
        "properties": {"ville": {"type": "string"}, "pays": {"type": "string"}},
        "required": ["ville", "pays"],
        "additionalProperties": False,
    }
    reply = client.responses.create(
        model=MODEL,
        input="Donne une grande ville française.",
        text={"format": {"type": "json_schema", "name": "lieu", "schema": schema, "strict": True}},
        max_output_tokens=60,
    )
    jsonschema.validate(json.loads(reply.output_text), schema)


def test_unsupported_input_and_tools_are_refused(http):
    cases = [
        ({"input": [{"type": "input_image", "image_url": "x"}]}, "input.0.type"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools.0.type"),
        ({"input": "x", "previous_response_id": "resp_nope"}, "previous_response_id"),
    ]
    for extra, param in cases:
        reply = http.post("/v1/responses", json={"model": MODEL, **extra})
        assert reply.status_code in (400, 404), reply.text
        assert reply.json()["error"]["param"] == param
