"""Reading synthesized CloudFormation: resources by type, properties, nested values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aws_cdk import CfnElement, Stack
from aws_cdk.assertions import Template
from constructs import IConstruct

# Each to_json() or find_resources() copies the template out of the jsii process (tens of
# milliseconds for a stage's); the session's templates never change, so each is read once.
_JSON: dict[int, tuple[Template, dict[str, Any]]] = {}


def template_json(template: Template) -> dict[str, Any]:
    """The template as JSON (shared: do not modify it)."""
    cached = _JSON.get(id(template))
    if cached is None or cached[0] is not template:
        cached = (template, dict(template.to_json()))
        _JSON[id(template)] = cached
    return cached[1]


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        key: dict(value)
        for key, value in template_json(template).get("Resources", {}).items()
        if value.get("Type") == resource_type
    }


def only(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    """The single resource of a type, with its logical id."""
    found = resources(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def only_under(template: Template, resource_type: str, prefix: str) -> tuple[str, dict[str, Any]]:
    """The single resource of a type whose logical id starts with `prefix` (a construct's)."""
    found = {k: v for k, v in resources(template, resource_type).items() if k.startswith(prefix)}
    assert len(found) == 1, f"expected one {resource_type} under {prefix}, found {sorted(found)}"
    return next(iter(found.items()))


def props(resource: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = resource.get("Properties", {})
    return properties


def resource_of(template: Template, construct: IConstruct) -> dict[str, Any]:
    """The template's resource for a construct (an L2's default child, or an L1)."""
    resource: dict[str, Any] = template_json(template)["Resources"][logical_id(construct)]
    return resource


_LOGICAL_IDS: dict[int, tuple[IConstruct, str]] = {}


def logical_id(construct: IConstruct) -> str:
    """The logical id CDK gives a construct's CloudFormation resource (an L2's default
    child), so tests name resources by construct, not by hash literal. Read once per
    construct (several jsii calls)."""
    cached = _LOGICAL_IDS.get(id(construct))
    if cached is not None and cached[0] is construct:
        return cached[1]
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    assert isinstance(element, CfnElement), f"{construct.node.path} has no CloudFormation resource"
    found = Stack.of(element).get_logical_id(element)
    _LOGICAL_IDS[id(construct)] = (construct, found)
    return found


def walk(value: Any) -> Iterator[Any]:
    """Every nested value of a JSON document, depth first."""
    yield value
    if isinstance(value, dict):
        for child in value.values():
            yield from walk(child)
    elif isinstance(value, list):
        for child in value:
            yield from walk(child)


def as_list(value: Any) -> list[Any]:
    """An IAM policy field that may hold one value or a list of them."""
    return value if isinstance(value, list) else [value]


def ref(construct_or_id: IConstruct | str) -> dict[str, str]:
    name = construct_or_id if isinstance(construct_or_id, str) else logical_id(construct_or_id)
    return {"Ref": name}


def get_att(construct_or_id: IConstruct | str, attribute: str) -> dict[str, list[str]]:
    name = construct_or_id if isinstance(construct_or_id, str) else logical_id(construct_or_id)
    return {"Fn::GetAtt": [name, attribute]}
