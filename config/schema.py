"""The JSON Schema of cdk.json's `dr` object, generated from the model (`make schema` writes
config/dr.schema.json; a test keeps the committed file up to date)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from config.model import AppConfig

SCHEMA_FILE = Path(__file__).with_name("dr.schema.json")


def dr_schema() -> dict[str, Any]:
    schema = _untitled(AppConfig.model_json_schema(by_alias=True, mode="validation"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "DR release configuration (cdk.json context.dr)",
        **schema,
    }


def _untitled(node: Any) -> Any:
    """Without pydantic's generated titles ("Retentiondays"): the keys say it better."""
    if isinstance(node, dict):
        return {k: _untitled(v) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_untitled(item) for item in node]
    return node


def render() -> str:
    return json.dumps(dr_schema(), indent=2) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(render())
    print(f"wrote {SCHEMA_FILE}")
