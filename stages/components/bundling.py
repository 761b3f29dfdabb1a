"""Python Lambda code assembled on this machine: no Docker, no download during synth.

`make` installs the functions' pure-Python dependencies once, for the Lambda platform
(python3.14 on arm64), into build/lambda-deps; synth only copies. A bundle is its source
directory's modules and packages, top-level packages from elsewhere in the repository (the
restore validator's `dr_common`), files built elsewhere (the RDS CA bundle) and the installed
dependencies. `Bundle.assemble` is plain file copying, importable without the CDK: the local
integration tests assemble exactly what synth would, with the same function.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[2]
# Filled by `make` (uv, for the Lambda platform); synth only copies it.
DEPENDENCIES = ROOT / "build" / "lambda-deps"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".installed", "bin")


class BundlingError(RuntimeError):
    """What a bundle needs is missing: the dependencies or a file `make` builds."""


@dataclass(frozen=True)
class Bundle:
    source: Path  # the entry point (handler.py) and the packages beside it
    packages: tuple[Path, ...] = ()  # top-level packages from elsewhere, by directory
    extra_files: Mapping[str, Path] = field(default_factory=dict)  # name in the bundle: file

    def assemble(self, output: Path) -> None:
        if not (DEPENDENCIES / ".installed").exists():
            raise BundlingError(
                f"{DEPENDENCIES} is missing: run `make synth` (it installs the functions' "
                "dependencies) before synthesizing"
            )
        shutil.copytree(DEPENDENCIES, output, dirs_exist_ok=True, ignore=_IGNORE)
        for module in self.source.glob("*.py"):
            shutil.copy2(module, output)
        own = (package.parent for package in self.source.glob("*/__init__.py"))
        for package in (*own, *self.packages):
            shutil.copytree(package, output / package.name, dirs_exist_ok=True, ignore=_IGNORE)
        for name, path in self.extra_files.items():
            if not path.is_file():
                raise BundlingError(f"{path} is missing: run `make synth` (it builds it) first")
            shutil.copyfile(path, output / name)


HEALTH_CHECK = Bundle(ROOT / "lambda" / "health_check")
# The validator's entry point is handler.handler; it reads canaries through dr_common and
# verifies a restored cluster's certificate against the RDS CAs (its DB_CA_BUNDLE).
RESTORE_VALIDATOR_CA_BUNDLE = "rds-ca-bundle.pem"
RESTORE_VALIDATOR = Bundle(
    ROOT / "lambda" / "restore_validator",
    packages=(ROOT / "dr_common",),
    extra_files={RESTORE_VALIDATOR_CA_BUNDLE: ROOT / "build" / "rds-ca-bundle.pem"},
)


def bundle_code(bundle: Bundle) -> lambda_.Code:
    """The function code of `bundle`, assembled locally at synth."""
    # The CDK loads here, not at import: the local tests assemble bundles without jsii.
    from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling  # noqa: PLC0415
    from aws_cdk import aws_lambda as lambda_  # noqa: PLC0415

    return lambda_.Code.from_asset(
        str(bundle.source),
        # Hash what is deployed (handler and dependencies), not only the source.
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or stops synth.
            image=DockerImage.from_registry("unused-local-bundling"),
            # jsii calls try_bundle(output_dir, options); the protocol's keyword form does
            # not match that, hence the cast.
            local=cast(ILocalBundling, _local_bundling_class()(bundle)),
        ),
    )


def restore_validator_code() -> lambda_.Code:
    """The restore validator's code (entry point `handler.handler`)."""
    return bundle_code(RESTORE_VALIDATOR)


@cache
def _local_bundling_class() -> type:
    import jsii  # noqa: PLC0415
    from aws_cdk import ILocalBundling  # noqa: PLC0415

    @jsii.implements(ILocalBundling)
    class LocalBundling:
        def __init__(self, bundle: Bundle) -> None:
            self._bundle = bundle

        def try_bundle(self, output_dir: str, options: Any) -> bool:
            self._bundle.assemble(Path(output_dir))
            return True

    return LocalBundling
