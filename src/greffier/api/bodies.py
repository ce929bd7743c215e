"""Request shapes several routes share, stated so that the published schema says what the
server accepts: text that is not blank, "exactly one of these fields", sensitivity levels
and recording languages.

These check shapes only; the services keep their own rules (they also serve the CLI).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from greffier.models.backends.whisper import LANGUAGES
from greffier.services.access import SENSITIVITIES

Sensitivity = Literal[SENSITIVITIES]


def _language(code: str) -> str:
    if code and code not in LANGUAGES:
        raise PydanticCustomError(
            "invalid_language",
            "Unknown language code '{code}': use an ISO 639-1 code such as fr, en, de, es or "
            "it, or leave it empty to detect the language.",
            {"code": code},
        )
    return code


# An ISO 639-1 code Whisper knows; empty or left out: detected from the recording. (The
# error keeps the code the speech backend gives the same mistake: invalid_language.)
Language = Annotated[
    str,
    AfterValidator(_language),
    WithJsonSchema({"type": "string", "enum": ["", *sorted(LANGUAGES)]}),
]


def NonBlank(max_length: int) -> Any:
    """A string with at least one character that is not white space (a type: `name:
    NonBlank(200)`)."""
    return Annotated[str, Field(min_length=1, max_length=max_length, pattern=r"\S")]


def exactly_one(*names: str) -> dict:
    """JSON Schema: exactly one of ``names`` is present and not null."""
    return {
        "oneOf": [
            {"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in names
        ]
    }


def require_one(model: BaseModel, *names: str) -> None:
    given = [name for name in names if getattr(model, name) is not None]
    if len(given) != 1:
        raise PydanticCustomError(
            "one_of", "Name exactly one of {names}.", {"names": " or ".join(map(repr, names))}
        )


class Subject(BaseModel):
    """A user or a group, by name: who a grant or a group membership is about."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=exactly_one("user", "group"))

    user: str | None = Field(None, min_length=1, max_length=64)
    group: str | None = Field(None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_subject(self):
        require_one(self, "user", "group")
        return self
