"""Build the model from CDK context: cdk.json's `dr` object plus `-c dr.<path>=<value>`
overrides, with every problem reported as one line naming the dotted key."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from config.model import AppConfig
from config.rules import STAGE_NAME, ConfigError, InvalidValueError

CONTEXT_KEY = "dr"
_STAGE_NAME = re.compile(STAGE_NAME)


def load_config(context: Mapping[str, Any]) -> AppConfig:
    data = _without_comments(_with_overrides(context))
    try:
        # Strict, from JSON: no coercion ("7" is not 7), and JSON arrays for tuples.
        return AppConfig.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as error:
        raise ConfigError(_one_line(error.errors()[0], data)) from None


def _one_line(error: ErrorDetails, data: Any) -> str:
    return f"{_key(error['loc'], data)}: {_message(error)}"


def _key(loc: Sequence[int | str], data: Any) -> str:
    """`dr.stages.prod.alarmEmails[1]`: a stage by its name where it has a usable one."""
    key, node = CONTEXT_KEY, data
    for part in loc:
        if isinstance(part, int):
            stage = _child(node, part) if _is_stage_list(key, node) else None
            name = stage.get("name") if isinstance(stage, dict) else None
            if isinstance(name, str) and _STAGE_NAME.fullmatch(name):
                key += f".{name}"
            else:
                key += f"[{part}]"
        else:
            key += f".{part}"
        node = _child(node, part)
    return key


def _is_stage_list(key: str, node: Any) -> bool:
    return key == f"{CONTEXT_KEY}.stages" and isinstance(node, list)


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, dict) and isinstance(part, str):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


_TYPES = {
    "string_type": "a string",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "tuple_type": "a list",
    "list_type": "a list",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
}


def _message(error: ErrorDetails) -> str:
    kind, value = error["type"], error.get("input")
    if kind == "missing" or (kind in _TYPES and value is None):
        return "missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in _TYPES:
        return f"expected {_TYPES[kind]}, got {describe(value)}"
    if kind == "enum":
        expected = str(error.get("ctx", {}).get("expected", "")).replace(" or ", ", ")
        return f"{value!r} is not one of {expected}"
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, InvalidValueError):
        return str(cause)
    return f"{error['msg']} (got {describe(value)})"


def describe(value: object) -> str:
    return f"{type(value).__name__} {json.dumps(value)[:40]}"


def _without_comments(value: Any) -> Any:
    """Drops keys starting with "//": cdk.json's only way to hold a comment."""
    if isinstance(value, dict):
        return {k: _without_comments(v) for k, v in value.items() if not k.startswith("//")}
    if isinstance(value, list):
        return [_without_comments(item) for item in value]
    return value


def _with_overrides(context: Mapping[str, Any]) -> dict[str, Any]:
    """Applies `-c dr.stages.prod.account=123456789012`-style overrides to the `dr` object;
    a stage is addressed by its name."""
    base = context.get(CONTEXT_KEY)
    if isinstance(base, str):  # `-c dr='{...}'` arrives as a string
        try:
            base = json.loads(base)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{CONTEXT_KEY}: not valid JSON ({err.msg})") from None
    if base is None:
        raise ConfigError(f"{CONTEXT_KEY}: missing (expected in cdk.json context)")
    if not isinstance(base, Mapping):
        raise ConfigError(f"{CONTEXT_KEY}: expected an object, got {describe(base)}")
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    prefix = CONTEXT_KEY + "."
    for key in sorted(k for k in context if k.startswith(prefix)):
        *parents, last = key[len(prefix) :].split(".")
        node: Any = merged
        for part in parents:
            node = _override_parent(node, part, key)
        if not isinstance(node, dict):
            raise ConfigError(f"{key}: cannot override inside a non-object value")
        node[last] = _override_value(context[key], node.get(last))
    return merged


def _override_parent(node: Any, part: str, key: str) -> Any:
    if isinstance(node, list):
        named = [item for item in node if isinstance(item, dict) and item.get("name") == part]
        if not named:
            names = ", ".join(str(item.get("name")) for item in node if isinstance(item, dict))
            raise ConfigError(f"{key}: no stage named {part!r} (stages: {names})")
        return named[0]
    if not isinstance(node, dict):
        raise ConfigError(f"{key}: cannot override inside a non-object value")
    return node.setdefault(part, {})


def _override_value(value: Any, current: Any) -> Any:
    # The CLI passes `-c` values as strings: keep strings where the model wants one
    # (account ids are digits), parse JSON for numbers, lists, objects and null.
    if not isinstance(value, str) or isinstance(current, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


__all__ = ["CONTEXT_KEY", "ConfigError", "describe", "load_config"]
