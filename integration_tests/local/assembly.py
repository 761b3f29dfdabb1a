"""What the synthesized cloud assembly (`make synth` -> cdk.out) says about the stage: the
health-check function (its asset, handler, environment, timeout, memory), the database roles
bootstrap (its function, and the properties its custom resource sends it), the restore
validator's function when the stage has one, and the table's key schema. Local mode runs
exactly those assets, with exactly those variable and property names."""

from __future__ import annotations

import filecmp
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CDK_OUT = ROOT / "cdk.out"
HANDLER_SOURCE = ROOT / "lambda" / "health_check"
BOOTSTRAP_SOURCE = ROOT / "lambda" / "db_bootstrap"
BOOTSTRAP_TYPE = "Custom::DatabaseRoles"


class AssemblyError(Exception):
    """The cloud assembly is missing, stale, or not shaped as expected."""


@dataclass(frozen=True)
class FunctionSpec:
    asset_dir: Path
    handler: str
    # A literal value from the template, or None where the template computes it (a Ref,
    # an import): those must be given a local value.
    environment: dict[str, str | None]
    timeout_seconds: int
    memory_mb: int


@dataclass(frozen=True)
class BootstrapSpec:
    function: FunctionSpec
    resource_type: str
    # What CloudFormation sends the handler (ServiceToken aside): a literal, or None where the
    # template computes it (the cluster's endpoint, the secret's ARN).
    properties: dict[str, str | None]


@dataclass(frozen=True)
class StageTemplates:
    function: FunctionSpec
    bootstrap: BootstrapSpec
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]


def _stack(assembly: Path, stack_name: str) -> tuple[dict[str, Any], Path]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        properties = artifact.get("properties", {})
        if properties.get("stackName") == stack_name:
            path = assembly / properties["templateFile"]
            return json.loads(path.read_text()), path
    raise AssemblyError(f"stack {stack_name} not in {assembly}/manifest.json")


def _output_target(template: dict[str, Any], output: str) -> str:
    """The logical id an output's Ref or Fn::GetAtt points at."""
    value = template["Outputs"][output]["Value"]
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def read_stage(cdk_out: Path = DEFAULT_CDK_OUT, stage: str = "Dev") -> StageTemplates:
    assembly = cdk_out / f"assembly-{stage}"
    if not (assembly / "manifest.json").exists():
        raise AssemblyError(f"no cloud assembly at {assembly}: run `make synth` first")
    service, service_path = _stack(assembly, f"{stage}-Service")
    data, data_path = _stack(assembly, f"{stage}-Data")

    function = service["Resources"][_output_target(service, "HealthCheckFunctionName")]
    table = data["Resources"][_output_target(data, "TableArn")]["Properties"]
    return StageTemplates(
        function=_function_spec(function, service_path, HANDLER_SOURCE),
        bootstrap=_bootstrap_spec(data, data_path),
        key_schema=table["KeySchema"],
        attribute_definitions=table["AttributeDefinitions"],
    )


def _function_spec(function: dict[str, Any], template_path: Path, source: Path) -> FunctionSpec:
    properties = function["Properties"]
    asset_dir = (template_path.parent / function["Metadata"]["aws:asset:path"]).resolve()
    _check_fresh(asset_dir, source)
    variables = properties.get("Environment", {}).get("Variables", {})
    return FunctionSpec(
        asset_dir=asset_dir,
        handler=properties["Handler"],
        environment={k: v if isinstance(v, str) else None for k, v in variables.items()},
        timeout_seconds=int(properties.get("Timeout", 3)),
        memory_mb=int(properties.get("MemorySize", 128)),
    )


def _bootstrap_spec(data: dict[str, Any], template_path: Path) -> BootstrapSpec:
    """The custom resource's handler: its ServiceToken is CDK's provider framework function,
    which invokes the function its USER_ON_EVENT_FUNCTION_ARN names."""
    resources = data["Resources"]
    found = [r for r in resources.values() if r["Type"] == BOOTSTRAP_TYPE]
    if len(found) != 1:
        raise AssemblyError(f"expected one {BOOTSTRAP_TYPE} in the Data stack, found {len(found)}")
    properties = dict(found[0]["Properties"])
    framework = resources[properties.pop("ServiceToken")["Fn::GetAtt"][0]]
    variables = framework["Properties"]["Environment"]["Variables"]
    function = resources[variables["USER_ON_EVENT_FUNCTION_ARN"]["Fn::GetAtt"][0]]
    return BootstrapSpec(
        function=_function_spec(function, template_path, BOOTSTRAP_SOURCE),
        resource_type=BOOTSTRAP_TYPE,
        properties={k: v if isinstance(v, str) else None for k, v in properties.items()},
    )


def _check_fresh(asset_dir: Path, source_dir: Path) -> None:
    # Local mode tests the synthesized asset: refuse one older than the function's source (its
    # modules, packages and SQL).
    sources = sorted(
        path.relative_to(source_dir)
        for pattern in ("*.py", "*.sql")
        for path in source_dir.rglob(pattern)
        if "__pycache__" not in path.parts
    )
    stale = [
        str(source)
        for source in sources
        if not (asset_dir / source).exists()
        or not filecmp.cmp(source_dir / source, asset_dir / source, shallow=False)
    ]
    if stale:
        raise AssemblyError(
            f"{asset_dir} is stale ({', '.join(stale)} differ from "
            f"{source_dir.relative_to(ROOT)}): run `make synth` first"
        )


# What marks the restore validator's asset (stages/components/bundling.py's RESTORE_VALIDATOR).
VALIDATOR_SOURCE = ROOT / "lambda" / "restore_validator"
VALIDATOR_MARKER = Path("dr_restore") / "entry.py"
VALIDATOR_HANDLER = "handler.handler"


def read_validator(cdk_out: Path = DEFAULT_CDK_OUT, stage: str = "Dev") -> FunctionSpec | None:
    """The restore validator's function in the stage's Service template (the one whose asset
    holds dr_restore/entry.py and whose handler is handler.handler), or None while the stage
    has none."""
    service, service_path = _stack(cdk_out / f"assembly-{stage}", f"{stage}-Service")
    for resource in service["Resources"].values():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        asset = resource.get("Metadata", {}).get("aws:asset:path")
        if asset is None:
            continue
        asset_dir = (service_path.parent / asset).resolve()
        # The validator, not the database reader that may share its asset.
        handler = resource["Properties"].get("Handler")
        if not (asset_dir / VALIDATOR_MARKER).is_file() or handler != VALIDATOR_HANDLER:
            continue
        # Fresh against its entry point's sources; restore_stage.py compares every file.
        return _function_spec(resource, service_path, VALIDATOR_SOURCE)
    return None


def same_files(synthesized: Path, assembled: Path) -> list[str]:
    """The files that differ between two bundles (missing from either, or other bytes)."""

    def files(root: Path) -> dict[str, Path]:
        return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}

    left, right = files(synthesized), files(assembled)
    return sorted(
        name
        for name in left.keys() | right.keys()
        if name not in left
        or name not in right
        or not filecmp.cmp(left[name], right[name], shallow=False)
    )
