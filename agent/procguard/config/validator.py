"""A small JSON Schema checker for the subset our schema uses.

The agent may only depend on the standard library, PyYAML, cryptography and requests, so
we cannot use `jsonschema` at run time; tests check that both agree. Every error says what
to write instead, because operators read these in Ansible output and CI logs.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any, Dict, Iterator, List, Tuple

from ..durations import MAX_TEXT, parse_duration

Path = Tuple[Any, ...]
Error = Tuple[Path, str]

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_TYPE_WORDS = {
    "object": "a mapping (key: value)", "array": "a list", "string": "a string",
    "integer": "a whole number", "number": "a number", "boolean": "true or false",
    "null": "nothing",
}


def validate(instance: Any, schema: Dict[str, Any]) -> List[Error]:
    return list(_check(instance, schema, schema, ()))


def _resolve(schema: Dict[str, Any], root: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"unsupported $ref {ref}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _describe(schema: Dict[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return str(schema["const"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(_TYPE_WORDS[k] for k in kind)
    if kind:
        return _TYPE_WORDS[kind]
    if "description" in schema:
        return schema["description"]
    return "a valid value"


def _check(value: Any, schema: Dict[str, Any], root: Dict[str, Any], path: Path) -> Iterator[Error]:
    schema = _resolve(schema, root)
    if "oneOf" in schema or "anyOf" in schema:
        options: List[Dict[str, Any]] = schema.get("oneOf") or schema.get("anyOf") or []
        results = [list(_check(value, option, root, path)) for option in options]
        passing = [r for r in results if not r]
        if not passing:
            yield from _best_option_errors(value, options, results, root, path, schema)
            return
        if "oneOf" in schema and len(passing) > 1 and not schema.get("x-first-match"):
            yield path, "is ambiguous: it matches more than one form"
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES[k](value) for k in kinds):
            yield path, f"must be {_describe(schema)}, not {_show(value)}"
            return
    if isinstance(value, float) and not math.isfinite(value):
        yield path, f"must be a finite number, not {value}"  # .nan passes every minimum, .inf every type
        return
    if "const" in schema and value != schema["const"]:
        yield path, f"must be {schema['const']!r}, not {_show(value)}"
    if "enum" in schema and value not in schema["enum"]:
        yield path, f"must be one of {', '.join(map(str, schema['enum']))}, not {_show(value)}"
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            least = schema["minLength"]
            yield path, "must not be empty" if least == 1 else f"must have at least {least} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            yield path, f"must have at most {schema['maxLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            yield path, f"{value!r} does not have the right form ({_pattern_hint(schema)})"
        elif schema.get("format") == "duration":
            yield from _duration(value, path)
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            yield path, f"must be at least {schema['minimum']}, not {value}"
        if "maximum" in schema and value > schema["maximum"]:
            yield path, f"must be at most {schema['maximum']}, not {value}"
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            yield path, f"must list at least {schema['minItems']} item(s)"
        if "items" in schema:
            for index, item in enumerate(value):
                yield from _check(item, schema["items"], root, path + (index,))
    if isinstance(value, dict):
        yield from _check_object(value, schema, root, path)


def _check_object(value: Dict[str, Any], schema: Dict[str, Any], root: Dict[str, Any],
                  path: Path) -> Iterator[Error]:
    props = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in value:
            yield path, f"is missing the required key {key!r}"
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            yield from _check(item, props[key], root, path + (key,))
        elif extra is False:
            close = difflib.get_close_matches(str(key), list(props), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"write one of {', '.join(props)}"
            yield path + (key,), f"unknown key; {hint}"
        elif isinstance(extra, dict):
            yield from _check(item, extra, root, path + (key,))


def _duration(value: str, path: Path) -> Iterator[Error]:
    """The pattern admits 999999999999d, and any number of spaces; the agent's timers take at
    most ten years, and a duration is at most MAX_TEXT characters."""
    try:
        parse_duration(value)
    except ValueError:
        if len(value) > MAX_TEXT:
            yield path, f"is longer than {MAX_TEXT} characters; write e.g. 500ms, 10s, 5m or 1h"
        else:
            yield path, f"{value!r} is longer than ten years; write a shorter duration"


def _best_option_errors(value: Any, options: List[Dict[str, Any]], results: List[List[Error]],
                        root: Dict[str, Any], path: Path, schema: Dict[str, Any]) -> Iterator[Error]:
    """Report the errors of the option whose type fits, else a summary of the forms allowed."""
    if isinstance(value, dict) and "type" in value:  # a tagged union: report the tagged form's errors
        tagged = [r for o, r in zip(options, results)
                  if value["type"] in _resolve(o, root).get("properties", {}).get("type", {}).get("enum", [])]
        if len(tagged) == 1:
            yield from tagged[0]
            return
    fitting = [r for o, r in zip(options, results) if _type_fits(value, _resolve(o, root))]
    if len(fitting) == 1:
        yield from fitting[0]
        return
    if "description" in schema:
        yield path, f"must be {schema['description']}, not {_show(value)}"
        return
    words = " or ".join(_describe(_resolve(o, root)) for o in options)
    yield path, f"must be {words}, not {_show(value)}"


def _type_fits(value: Any, schema: Dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind is None:
        return True
    kinds = kind if isinstance(kind, list) else [kind]
    return any(_TYPES[k](value) for k in kinds)


def _pattern_hint(schema: Dict[str, Any]) -> str:
    pattern = schema["pattern"]
    if pattern == "^/":
        return "write an absolute path starting with /"
    if "ms|s|m|h|d" in pattern:
        return "write e.g. 500ms, 10s, 5m or 1h"
    if pattern.startswith("^[a-z0-9]"):
        return "lower-case letters, digits, '_', '.', '-'; start with a letter or digit"
    return f"it must match {pattern}"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
