"""Popular OpenAI clients, unchanged, against the real server and the bundled model:
LangChain (``langchain-openai``) and simonw's ``llm``. Each failure an IT team met with
them (tools refused, structured output ignored, token-id embeddings, the Responses API)
is a test here. Both run offline: tiktoken reads its files from the installed litellm
package, and the network guard fails the suite on any other connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pydantic import BaseModel, Field

from conftest import MODEL


@pytest.fixture(scope="module")
def offline_tiktoken(server):
    """tiktoken (used by LangChain to count and split) reads cl100k from a local file."""
    from greffier.tokens.tokenizers import offline_encoding

    encoding = offline_encoding("cl100k_base", server.data / "tokenizers")
    assert encoding is not None
    return encoding.directory


@pytest.fixture
def chat(server, offline_tiktoken):
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=f"{server.url}/v1",
        api_key=server.key,
        model=MODEL,
        temperature=0,
        max_tokens=120,
        max_retries=0,
    )


class Person(BaseModel):
    """Une personne."""

    nom: str = Field(description="Le nom de la personne")
    age: int = Field(description="Son âge en années")


def test_langchain_bind_tools(chat):
    from langchain_core.tools import tool

    @tool
    def meteo(ville: str) -> str:
        """Donne la météo actuelle d'une ville."""
        return "23 degrés"

    # "any": the small model must call (whether it calls on its own is the benchmark's).
    reply = chat.bind_tools([meteo], tool_choice="any").invoke("Quel temps fait-il à Lyon ?")
    assert reply.tool_calls and reply.tool_calls[0]["name"] == "meteo"
    assert reply.tool_calls[0]["args"]["ville"].lower() == "lyon"
    named = chat.bind_tools([meteo], tool_choice="meteo").invoke("Et à Brest ?")
    assert named.tool_calls[0]["args"]["ville"].lower() == "brest"


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_langchain_with_structured_output(chat, method):
    structured = chat.with_structured_output(Person, method=method)
    prompt = "Invente une personne fictive avec un nom et un âge."
    if method == "json_mode":  # the prompt must describe the keys in this mode
        prompt += " Réponds en JSON avec les clés « nom » et « age »."
    person = structured.invoke(prompt)
    assert isinstance(person, Person) and person.nom and person.age >= 0


def test_langchain_default_structured_output_is_json_schema(chat):
    person = chat.with_structured_output(Person).invoke("Invente une personne fictive.")
    assert isinstance(person, Person)


def test_langchain_default_embeddings_send_token_ids(server, offline_tiktoken):
    from langchain_openai import OpenAIEmbeddings

    texts = ["Les horaires de la mairie", "Le budget primitif est voté en mars."]
    default = OpenAIEmbeddings(base_url=f"{server.url}/v1", api_key=server.key, max_retries=0)
    assert default.check_embedding_ctx_length  # sends cl100k token ids, not text
    vectors = default.embed_documents(texts)
    named = OpenAIEmbeddings(
        base_url=f"{server.url}/v1",
        api_key=server.key,
        model="multilingual-e5-small",
        max_retries=0,
    )
    assert [len(v) for v in vectors] == [384, 384]
    assert named.embed_documents(texts)[0] == pytest.approx(vectors[0], abs=1e-6)
    assert len(default.embed_query("mairie")) == 384


@pytest.fixture(scope="module")
def llm_cli(server, tmp_path_factory, offline_tiktoken):
    """simonw's `llm` with Greffier declared in its extra-openai-models.yaml."""
    home = tmp_path_factory.mktemp("llm")
    models = [
        {
            "model_id": "greffier",
            "model_name": MODEL,
            "api_base": f"{server.url}/v1",
            "api_key_name": "greffier",
            "supports_tools": True,
            "supports_schema": True,
        },
        {
            "model_id": "greffier-responses",
            "model_name": MODEL,
            "api_base": f"{server.url}/v1",
            "api_key_name": "greffier",
            "responses": True,
            "supports_tools": True,
            "supports_schema": True,
        },
    ]
    # YAML is a superset of JSON: the list written as JSON is a valid YAML file.
    (home / "extra-openai-models.yaml").write_text(json.dumps(models))
    (home / "keys.json").write_text(json.dumps({"greffier": server.key}))
    env = {**os.environ, "LLM_USER_PATH": str(home), "TIKTOKEN_CACHE_DIR": str(offline_tiktoken)}

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "llm", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def test_llm_schema(llm_cli):
    out = llm_cli("-m", "greffier", "--schema", "nom, age int", "Invente une personne fictive.")
    person = json.loads(out)
    assert isinstance(person["nom"], str) and isinstance(person["age"], int)


def test_llm_tools(llm_cli):
    from importlib.metadata import version

    out = llm_cli(
        "-m", "greffier", "-T", "llm_version", "--td", "-o", "temperature", "0",
        "Appelle l'outil llm_version, puis donne le numéro de version qu'il renvoie.",
    )  # fmt: skip
    assert "llm_version" in out  # --td shows the call and its result
    assert version("llm") in out


def test_llm_responses_model(llm_cli):
    out = llm_cli("-m", "greffier-responses", "-o", "temperature", "0", "Capitale de la France ?")
    assert "Paris" in out
    shaped = llm_cli(
        "-m", "greffier-responses", "--schema", "ville, pays", "Donne une grande ville française."
    )
    assert set(json.loads(shaped)) == {"ville", "pays"}
