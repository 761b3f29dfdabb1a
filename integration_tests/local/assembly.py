"""What the synthesized cloud assembly (`make synth` -> cdk.out) says about the stage: the
health-check function (its asset, handler, environment, timeout, memory), the restore
validator's function when the stage has one, and the table's key schema. Local mode runs
exactly those assets, with exactly those variable names."""

from __future__ import annotations

import filecmp
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CDK_OUT = ROOT / "cdk.out"
HANDLER_SOURCE = ROOT / "lambda" / "health_check"


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
class StageTemplates:
    function: FunctionSpec
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
    data, _ = _stack(assembly, f"{stage}-Data")

    function = service["Resources"][_output_target(service, "HealthCheckFunctionName")]
    properties = function["Properties"]
    asset_dir = (service_path.parent / function["Metadata"]["aws:asset:path"]).resolve()
    _check_fresh(asset_dir)
    variables = properties.get("Environment", {}).get("Variables", {})

    table = data["Resources"][_output_target(data, "TableArn")]["Properties"]
    return StageTemplates(
        function=FunctionSpec(
            asset_dir=asset_dir,
            handler=properties["Handler"],
            environment={k: v if isinstance(v, str) else None for k, v in variables.items()},
            timeout_seconds=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
        ),
        key_schema=table["KeySchema"],
        attribute_definitions=table["AttributeDefinitions"],
    )


def _check_fresh(asset_dir: Path) -> None:
    # Local mode tests the synthesized asset: refuse one older than the handler's source (the
    # entry point and its package).
    sources = (s.relative_to(HANDLER_SOURCE) for s in sorted(HANDLER_SOURCE.rglob("*.py")))
    stale = [
        str(source)
        for source in sources
        if not (asset_dir / source).exists()
        or not filecmp.cmp(HANDLER_SOURCE / source, asset_dir / source, shallow=False)
    ]
    if stale:
        raise AssemblyError(
            f"{asset_dir} is stale ({', '.join(stale)} differ from lambda/health_check): "
            "run `make synth` first"
        )


# What marks the restore validator's asset (stages/components/bundling.py's RESTORE_VALIDATOR).
VALIDATOR_MARKER = Path("dr_restore") / "entry.py"


def read_validator(cdk_out: Path = DEFAULT_CDK_OUT, stage: str = "Dev") -> FunctionSpec | None:
    """The restore validator's function in the stage's Service template (the one whose asset
    holds dr_restore/entry.py), or None while the stage has none."""
    service, service_path = _stack(cdk_out / f"assembly-{stage}", f"{stage}-Service")
    for resource in service["Resources"].values():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        asset = resource.get("Metadata", {}).get("aws:asset:path")
        if asset is None:
            continue
        asset_dir = (service_path.parent / asset).resolve()
        if not (asset_dir / VALIDATOR_MARKER).is_file():
            continue
        properties = resource["Properties"]
        variables = properties.get("Environment", {}).get("Variables", {})
        return FunctionSpec(
            asset_dir=asset_dir,
            handler=properties["Handler"],
            environment={k: v if isinstance(v, str) else None for k, v in variables.items()},
            timeout_seconds=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
        )
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
