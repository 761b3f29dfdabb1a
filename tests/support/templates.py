"""Reading synthesized CloudFormation: resources by type, properties, nested values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from aws_cdk import CfnElement, Stack
from aws_cdk.assertions import Template
from constructs import IConstruct

T = TypeVar("T")
# What was read out of the jsii process, by the object it was read from (kept alive, so its
# id is never reused): each to_json() copies a whole template (tens of milliseconds for a
# stage's) and a logical id takes several calls. The session's app never changes.
_READ: dict[tuple[str, int], tuple[object, Any]] = {}


def _once(kind: str, source: object, read: Callable[[], T]) -> T:
    cached = _READ.get((kind, id(source)))
    if cached is None or cached[0] is not source:
        cached = (source, read())
        _READ[(kind, id(source))] = cached
    found: T = cached[1]
    return found


def template_json(template: Template) -> dict[str, Any]:
    """The template as JSON (shared: do not modify it)."""
    return _once("json", template, lambda: dict(template.to_json()))


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


def logical_id(construct: IConstruct) -> str:
    """The logical id CDK gives a construct's CloudFormation resource (an L2's default
    child), so tests name resources by construct, not by hash literal."""

    def read() -> str:
        element = construct if isinstance(construct, CfnElement) else construct.node.default_child
        assert isinstance(element, CfnElement), (
            f"{construct.node.path} has no CloudFormation resource"
        )
        return Stack.of(element).get_logical_id(element)

    return _once("logical id", construct, read)


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
