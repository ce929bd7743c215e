"""Schemathesis hooks for tests/test_fuzz.py, loaded by the `schemathesis` process it starts
(its config names this module; tests/ is on its PYTHONPATH).

- A check: every 4xx and 5xx answer is in the OpenAI error shape.
- Refusals no schema can state (docs/api.md lists them), by their error code: a 400 for
  text that cannot be stored (NUL, unpaired surrogates), for a file's contents, for the
  state of a meeting, or for a request too long for the model's window is not counted as
  "schema-valid data rejected". Every other 400 to schema-valid data is.
- Before each request (``before_call``, every phase), three rewrites that keep a run short
  and its fixtures alive; the environment variable FUZZ_FIXTURES (JSON, written by the
  test) says which ids and names to keep:
  * generation is capped: a chat or legacy completion, or a response, asks for at most
    MAX_TOKENS tokens, and a schema-valid text to say is cut to its first SPEECH_CHARACTERS
    characters from its first one that is not blank (a few seconds of speech, not minutes
    of it; tests/test_speech_api.py speaks long text);
  * writing minutes of the transcribed meeting (20 s of generation on a busy 2-core
    machine) goes to a meeting of silence, which has no transcript: the checks before
    generation run and no generation does (tests/test_minutes.py writes real minutes);
  * a destructive operation on a fixture the run needs (the admin's and the member's
    accounts and keys, their collection, document and meeting) goes to a throw-away one:
    erasing, disabling, demoting, rotating, revoking, deleting, or a person's name added
    to a group (which a group quota would then throttle).
"""

from __future__ import annotations

import itertools
import json
import os
import re

import schemathesis

MAX_TOKENS = 8
SPEECH_CHARACTERS = 24
FIXTURES = json.loads(os.environ.get("FUZZ_FIXTURES", "{}"))

# (method, path) → the kind of id its path parameter names.
DESTRUCTIVE = {
    ("DELETE", "/v1/admin/users/{user_id}"): "user_id",
    ("PATCH", "/v1/admin/users/{user_id}"): "user_id",
    ("POST", "/v1/admin/keys/{key_id}/rotate"): "key_id",
    ("DELETE", "/v1/admin/keys/{key_id}"): "key_id",
    ("DELETE", "/v1/collections/{collection_id}"): "collection_id",
    ("DELETE", "/v1/documents/{document_id}"): "document_id",
    ("DELETE", "/v1/meetings/{meeting_id}"): "meeting_id",
}
# Generating operations and their token-count fields.
GENERATING = {
    ("POST", "/v1/chat/completions"): ("max_tokens", "max_completion_tokens"),
    ("POST", "/v1/completions"): ("max_tokens",),
    ("POST", "/v1/responses"): ("max_output_tokens",),
}
SPEAKING = ("POST", "/v1/audio/speech")
# Bodies that name exactly one of these fields (the schema says so with oneOf).
EXACTLY_ONE = (
    ("user", "group"),
    ("key_id", "group"),
    ("prompt", "messages"),
    ("input", "meeting"),
)
# Error codes of refusals that depend on what no JSON Schema describes.
UNSTATABLE = {
    "invalid_characters",  # NUL or an unpaired surrogate in text
    "empty_file",  # the uploaded file's contents
    "empty_audio",
    "invalid_audio",
    "audio_too_long",
    "not_transcribed",  # the meeting's state
    "context_length_exceeded",  # tokens, counted by the model's tokenizer
    "invalid_token",  # a token id outside the model's vocabulary
    "unsupported_dimensions",  # embeddings: the model's vector size
    "unenforceable_schema",  # a JSON schema given as a value that no grammar can enforce
    # Relations between fields and values the published schema leaves out:
    "duplicate_tool_name",  # two tools of one request with the same name
    "invalid_tool_choice",  # tool_choice naming no offered tool, or with no tools
    "logprobs_not_requested",  # top_logprobs without logprobs
    "retrieval_with_tools",  # retrieval with tools or a JSON response format
    "invalid_voice",  # a voice the chosen model lacks (its catalogue entry lists them)
    "nothing_to_say",  # no word left once the text is written out (e.g. only "[1] !")
}
MINUTES = ("POST", "/v1/meetings/{meeting_id}/minutes")

_spares = {
    kind: itertools.cycle(FIXTURES.get("spare", {}).get(kind) or [FIXTURES.get("missing", 0)])
    for kind in ("user_id", "key_id", "collection_id", "document_id", "meeting_id", "user")
}


def _protected(kind: str, value) -> bool:
    return value in FIXTURES.get("protected", {}).get(kind, [])


def _is_count(value) -> bool:
    # A JSON number with no fraction (21829.0) is an integer to the schema and the server.
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


@schemathesis.hook
def before_call(context, case, kwargs):
    where = (case.method.upper(), case.path)
    kind = DESTRUCTIVE.get(where)
    params = case.path_parameters
    if kind is not None and _protected(kind, params.get(kind)):
        params[kind] = next(_spares[kind])
    if where == MINUTES and _protected("meeting_id", params.get("meeting_id")):
        params["meeting_id"] = FIXTURES["silent_meeting"]
    body = case.body
    if not isinstance(body, dict):
        return
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive:
        # A value drawn from a dictionary fills a field without regard to the others: keep
        # a schema-valid case valid when it now names two of "exactly one of".
        for names in EXACTLY_ONE:
            named = [n for n in names if body.get(n) is not None]
            for extra in named[1:]:
                body[extra] = None
    if where == ("PUT", "/v1/admin/quotas") and _protected("key_id", body.get("key_id")):
        body["key_id"] = next(_spares["key_id"])
    if case.path.startswith("/v1/admin/groups/") and _protected("user", body.get("user")):
        body["user"] = next(_spares["user"])
    if where in GENERATING:
        names = GENERATING[where]
        for name in names:
            value = body.get(name)
            if _is_count(value) and value > MAX_TOKENS:
                body[name] = MAX_TOKENS
        if all(body.get(name) is None for name in names):
            body[names[0]] = MAX_TOKENS
    text = body.get("input")
    if where == SPEAKING and positive and isinstance(text, str):
        start = re.search(r"\S", text)
        if start is not None:  # the schema's pattern: still valid once cut
            body["input"] = text[start.start() : start.start() + SPEECH_CHARACTERS]


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep every failure but "schema-valid data rejected" for a refusal in UNSTATABLE."""
    if type(failure).__name__ != "RejectedPositiveData":
        return True
    try:
        code = json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return True
    if code not in UNSTATABLE:
        return True
    if os.environ.get("FUZZ_FILTERED"):  # the test prints how many of each it let pass
        with open(os.environ["FUZZ_FILTERED"], "a") as log:
            log.write(f"{code}\n")
    return False


@schemathesis.check
def openai_error_shape(ctx, response, case):
    """A 4xx or 5xx answer is {"error": {"message", "type", "param", "code"}}, with a
    message and a type (a JSON 413 from the body-size limit included)."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"A {response.status_code} answer that is not JSON") from None
    assert isinstance(body, dict) and set(body) == {"error"}, f"Not the OpenAI shape: {body}"
    error = body["error"]
    assert isinstance(error, dict), f"Not the OpenAI shape: {body}"
    assert set(error) == {"message", "type", "param", "code"}, f"Not the OpenAI shape: {body}"
    assert isinstance(error["message"], str) and error["message"], f"No message: {body}"
    assert isinstance(error["type"], str) and error["type"], f"No type: {body}"
    assert error["param"] is None or isinstance(error["param"], str), f"Bad param: {body}"
    assert error["code"] is None or isinstance(error["code"], str), f"Bad code: {body}"
    return None
