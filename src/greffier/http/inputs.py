"""What the API and the pages accept before any service sees a request: record ids that a
database can hold, and text that can be stored.

Ids. ``Id("collection")`` is an integer from 1 to ``MAX_ID`` (a signed 64-bit integer, what
SQLite's INTEGER and PostgreSQL's BIGINT hold). Anything else, a number too large for any
database, zero or a word, names no record: it fails validation with the ``unknown_id`` error,
which the API turns into the same 404 as a missing id ("No collection with id …"), before
any query. The published schema states the range.

Text. JSON may carry "\\ud800", an unpaired UTF-16 surrogate that is not Unicode text: no
UTF-8 database column, file name or tokenizer takes it. And "\\u0000", which C strings and
file systems cut at. :func:`reject_unstorable_text` refuses both with a 400 that names the
parameter, for every JSON body, form field and query parameter, before the route runs:
one check for every route instead of one per field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Request
from pydantic import ValidationError, ValidatorFunctionWrapHandler, WithJsonSchema, WrapValidator
from pydantic_core import PydanticCustomError
from starlette.datastructures import UploadFile

from greffier.errors import InvalidRequest
from greffier.store.records import MAX_ID

UNKNOWN_ID = "unknown_id"
ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}


def Id(noun: str) -> Any:
    """The type of a ``noun`` record's id (``collection_id: Id("collection")``): 1 to
    MAX_ID, or the 404 of a missing one."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> int:
        try:
            number = handler(value)
        except ValidationError:
            number = None
        if number is None or not 1 <= number <= MAX_ID:
            shown = str(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise PydanticCustomError(
                UNKNOWN_ID, "No {noun} with id {id}.", {"noun": noun, "id": shown}
            )
        return number

    return Annotated[int, WrapValidator(check), WithJsonSchema(ID_SCHEMA)]


CollectionId = Id("collection")
DocumentId = Id("document")
MeetingId = Id("meeting")
UserId = Id("user")
KeyId = Id("active key")
GroupId = Id("group")
ConversationId = Id("conversation")
FeedbackId = Id("feedback")
CredentialRequestId = Id("pending credential request")

# An unpaired surrogate: a high one not followed by a low one, or a low one not preceded by
# a high one. (Python keeps a JSON "\ud83d\ude00" pair as one character, so any surrogate
# left in a str is unpaired; the pattern says so for clarity.)
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON = re.compile(r"^application/(.+\+)?json\b", re.IGNORECASE)
_FORM = re.compile(r"^(multipart/form-data|application/x-www-form-urlencoded)\b", re.IGNORECASE)


def _refuse(param: str, text: str) -> None:
    if "\x00" in text:
        what = "a NUL character (\\u0000), which cannot be stored"
    elif _SURROGATE.search(text):
        what = "an unpaired UTF-16 surrogate, which is not Unicode text"
    else:
        return
    raise InvalidRequest(
        f"Invalid value for '{param}': it holds {what}. Send valid UTF-8 text.",
        param=param,
        code="invalid_characters",
    )


def _walk(value: Any) -> None:
    """Check every string of a decoded JSON document, keys included (iteratively: a body
    nested as deep as the JSON parser allows must not exhaust Python's stack)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            _refuse(where or "body", item)
        elif isinstance(item, dict):
            for key, inner in item.items():
                name = f"{where}.{key}" if where else str(key)
                _refuse(name, key)
                stack.append((name, inner))
        elif isinstance(item, list):
            stack.extend(
                (f"{where}.{i}" if where else str(i), inner) for i, inner in enumerate(item)
            )


async def reject_unstorable_text(request: Request) -> None:
    """FastAPI dependency: a 400 for NUL characters or unpaired surrogates anywhere in the
    query, the JSON body or the form fields (file names included).

    It runs after FastAPI has read the route's body, so ``request.json()`` and
    ``request.form()`` return what FastAPI already parsed; a body FastAPI could not parse
    never gets here."""
    for name, value in request.query_params.multi_items():
        _refuse(name, value)
    if getattr(request.scope.get("route"), "body_field", None) is None:
        return  # the route reads no body: whatever was sent is never looked at
    content_type = request.headers.get("content-type", "")
    if _JSON.match(content_type):
        try:
            body = await request.json()
        except ValueError:  # empty or not JSON: the route's own validation answers
            return
        _walk(body)
    elif _FORM.match(content_type):
        form = await request.form()
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                _refuse(name, value.filename or "")
            else:
                _refuse(name, value)
