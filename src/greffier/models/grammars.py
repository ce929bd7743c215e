"""GBNF grammars for llama.cpp, built from JSON schemas.

A grammar limits which tokens the model may sample, so an in-process model's answer is
a JSON object, JSON valid against a schema, or well-formed function calls — every time,
whatever the model's size. llama-cpp-python's converter (a port of llama.cpp's
json-schema-to-grammar) writes the rules; this module prepares schemas for it (keywords
that only annotate are dropped, objects with declared properties are closed), says which
keywords a grammar cannot enforce (a bound on a number, unique items…), and composes the
grammar of function calls in the ``<tool_call>`` format of Qwen2.5's chat template.

Out of scope: remote ``$ref`` (refused), and checking values after generation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from greffier.errors import InvalidRequest
from greffier.models.backends.base import Tool

# Keywords the grammar enforces (the converter's coverage) and keywords that only annotate.
ENFORCED = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "allOf",
    "$ref",
    "$defs",
    "definitions",
    "pattern",
    "minLength",
    "maxLength",
    "format",
}
ANNOTATIONS = {
    "title",
    "description",
    "default",
    "examples",
    "$schema",
    "$id",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
    "discriminator",
}
# Schemas whose values are schemas, and the string formats the converter has rules for.
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
FORMATS = {"date", "time", "date-time", "uuid", "uuid1", "uuid2", "uuid3", "uuid4", "uuid5"}
ANY_VALUE = {"type": ["object", "array", "string", "number", "boolean", "null"]}
# At most this many calls in one answer: a small model may otherwise repeat one forever.
MAX_PARALLEL_CALLS = 8
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"


def unenforced(schema: object, path: str = "") -> list[str]:
    """Where ``schema`` uses a keyword no grammar enforces (``properties.age.minimum``)."""
    found: list[str] = []
    if not isinstance(schema, dict):
        return found
    for key, value in schema.items():
        where = f"{path}.{key}" if path else key
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                found += unenforced(sub, f"{where}.{name}")
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            for i, sub in enumerate(value):
                found += unenforced(sub, f"{where}.{i}")
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            found += unenforced(value, where)
        elif key == "format" and value not in FORMATS:
            found.append(f"{where} ({value})")
        elif key not in ENFORCED and key not in ANNOTATIONS:
            found.append(where)
    return found


def prepared(schema: object) -> object:
    """The schema as the converter should read it: annotations dropped, an empty schema
    read as "any JSON value", objects with declared properties closed to others (what a
    model should write; OpenAI's strict mode asks for the same)."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ANNOTATIONS or (key not in ENFORCED and key != "$ref"):
            continue
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            value = {name: prepared(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            value = [prepared(sub) for sub in value]
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            value = prepared(value)
        out[key] = value
    if not out:
        return dict(ANY_VALUE)
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@dataclass(frozen=True)
class _Rules:
    text: str  # GBNF rules, without a root
    answer: str | None  # the rule of a JSON answer
    call: str | None  # the rule of one call object {"name": …, "arguments": …}


def _converter():
    from llama_cpp.llama_grammar import SchemaConverter

    return SchemaConverter(
        prop_order={"name": 0, "arguments": 1}, allow_fetch=False, dotall=False, raw_pattern=False
    )


def _visit(converter, schema: dict, name: str) -> str:
    """Add ``schema``'s rules under ``name``; InvalidRequest if the converter cannot."""
    try:
        schema = converter.resolve_refs(schema, name)
        return converter.visit(schema, name)
    except (AssertionError, KeyError, ValueError, TypeError, RecursionError) as exc:
        raise InvalidRequest(
            f"This JSON schema cannot be turned into a grammar: {exc or type(exc).__name__}.",
            param="response_format",
            code="unenforceable_schema",
        ) from exc


def _call_schema(tool: Tool) -> dict:
    arguments = prepared(tool.parameters or {"type": "object"})
    if not isinstance(arguments, dict):
        arguments = {"type": "object"}
    try:  # arguments whose schema the converter cannot read are still one JSON object
        _visit(_converter(), json.loads(json.dumps(arguments)), "arguments")
    except InvalidRequest:
        arguments = {"type": "object"}
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": arguments},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def _rules(answer: dict | None, tools: tuple[Tool, ...]) -> _Rules:
    converter = _converter()
    answer_rule = call_rule = None
    if answer is not None:
        answer_rule = _visit(converter, json.loads(json.dumps(prepared(answer))), "answer")
    if tools:
        calls = {"anyOf": [_call_schema(t) for t in tools]}
        call_rule = _visit(converter, calls, "call")
    return _Rules(converter.format_grammar(), answer_rule, call_rule)


def _calls_rule(call: str, parallel: bool) -> str:
    block = f'"{CALL_OPEN}" "\\n"? {call} "\\n"? "{CALL_CLOSE}"'
    if not parallel:
        return block
    return f'{block} ("\\n"? {block}){{0,{MAX_PARALLEL_CALLS - 1}}}'


def answer_grammar(answer: dict) -> str:
    """JSON valid against ``answer`` (``{"type": "object"}`` for any object)."""
    rules = _rules(answer, ())
    return f"{rules.text}\nroot ::= {rules.answer}\n"


def calls_grammar(tools: tuple[Tool, ...], parallel: bool, answer: dict | None = None) -> str:
    """One or more ``<tool_call>`` blocks of the given tools (or, with ``answer``, either
    such calls or a JSON answer valid against it)."""
    rules = _rules(answer, tools)
    root = _calls_rule(rules.call, parallel)
    if rules.answer is not None:
        root = f"({root}) | {rules.answer}"
    return f"{rules.text}\nroot ::= {root}\n"
