"""One synthesis of the whole app per test session, shared by every test."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Stage
from aws_cdk.assertions import Template

import app as cdk_app
from pipeline.pipeline_stack import PipelineStack
from stages.config import AppConfig, load_config
from stages.dr_stage import DrStage

ROOT = Path(__file__).resolve().parents[1]
STAGE_STACK_NAMES = ["Dev-Data", "Dev-Service", "Prod-Data", "Prod-Service"]
PIPELINE_STACK_NAME = "Pipeline"
STACK_NAMES = [*STAGE_STACK_NAMES, PIPELINE_STACK_NAME]


def cdk_context() -> dict[str, Any]:
    """The context the CDK CLI passes to the app: cdk.json's, feature flags included."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def dr_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's `dr` object with `-c`-style dotted overrides (value None deletes the key)."""
    dr = copy.deepcopy(cdk_context()["dr"])
    for path, value in overrides.items():
        *parents, last = path.split("__")
        node = dr
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return {"dr": dr}


@dataclass(frozen=True)
class Synthesis:
    outdir: Path
    config: AppConfig
    stages: dict[str, DrStage]
    pipeline: PipelineStack
    stacks: dict[str, Stack]  # by stack name, e.g. "Dev-Data"
    templates: dict[str, Template]  # by stack name

    def template_file(self, stack_name: str) -> Path:
        stack = self.stacks[stack_name]
        # Each Stage (the App included) writes its own assembly directory.
        return Path(Stage.of(stack).outdir) / stack.template_file  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    outdir = tmp_path_factory.mktemp("cdk.out")
    context = cdk_context()
    config = load_config(context)
    # The CLI also asks for path and asset metadata; cfn-lint reads the paths (it knows what
    # CDK itself generates), and the asset paths lead to the bundled Lambda code.
    app = App(
        context={
            **context,
            "aws:cdk:enable-path-metadata": True,
            "aws:cdk:enable-asset-metadata": True,
        },
        outdir=str(outdir),
    )
    release = cdk_app.build(app, config, cli_version=cdk_app.pinned_cli_version())
    app.synth()
    stacks: dict[str, Stack] = {
        stack.stack_name: stack
        for stage in release.stages.values()
        for stack in (stage.data, stage.service)
    }
    stacks[release.pipeline.stack_name] = release.pipeline
    return Synthesis(
        outdir=outdir,
        config=config,
        stages=release.stages,
        pipeline=release.pipeline,
        stacks=stacks,
        templates={name: Template.from_stack(stack) for name, stack in stacks.items()},
    )


def _template(stack_name: str, fixture_name: str) -> Callable[[Synthesis], Template]:
    """A session fixture returning one stack's template from the shared synthesis."""

    def fixture(synthesis: Synthesis) -> Template:
        return synthesis.templates[stack_name]

    return pytest.fixture(scope="session", name=fixture_name)(fixture)


dev_data = _template("Dev-Data", "dev_data")
dev_service = _template("Dev-Service", "dev_service")
prod_data = _template("Prod-Data", "prod_data")
prod_service = _template("Prod-Service", "prod_service")
pipeline_template = _template(PIPELINE_STACK_NAME, "pipeline_template")


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: dict(value) for key, value in template.find_resources(resource_type).items()}


def only(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    """The single resource of a type, with its logical id."""
    found = resources(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def props(resource: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = resource.get("Properties", {})
    return properties


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


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}
