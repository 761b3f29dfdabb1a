"""Python Lambda code assembled on this machine: no Docker, no download during synth.

`make` installs the functions' pure-Python dependencies once, for the Lambda platform, into
build/lambda-deps (lambda/health_check/requirements.txt pins them); synth only copies. A
function gets its source directory's modules, packages and data files, top-level packages
from elsewhere in the repository (the restore validator's `dr_common`), files built elsewhere
(the RDS CA bundle), and either every installed distribution or only the ones it names (with
exactly the files their RECORDs list). `Bundle.assemble` is plain file copying, importable
without the CDK: the local integration tests assemble exactly what synth would, with the same
function.
"""

from __future__ import annotations

import importlib.metadata
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[2]
DEPENDENCIES = ROOT / "build" / "lambda-deps"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".installed", "bin")


class BundlingError(RuntimeError):
    """What synth needs is missing: the dependencies `make` installs, or a named file."""


@dataclass(frozen=True)
class Bundle:
    source: Path  # the entry point and the packages beside it
    distributions: tuple[str, ...] | None = None  # None: every installed one
    data_files: tuple[str, ...] = ()  # files of `source` besides its modules
    extra_files: Mapping[str, Path] = field(default_factory=dict)  # name in the bundle: file
    packages: tuple[Path, ...] = ()  # top-level packages from elsewhere, by directory

    def assemble(self, output: Path) -> None:
        if not (DEPENDENCIES / ".installed").exists():
            raise BundlingError(
                f"{DEPENDENCIES} is missing: run `make synth` (it installs the functions' "
                "dependencies) before synthesizing"
            )
        if self.distributions is None:
            shutil.copytree(DEPENDENCIES, output, dirs_exist_ok=True, ignore=_IGNORE)
        else:
            for name in self.distributions:
                _copy_distribution(name, output)
        # The entry point and the packages it imports, and the data files it reads.
        for module in self.source.glob("*.py"):
            shutil.copy2(module, output)
        own = (package.parent for package in self.source.glob("*/__init__.py"))
        for package in (*own, *self.packages):
            shutil.copytree(package, output / package.name, dirs_exist_ok=True, ignore=_IGNORE)
        for name in self.data_files:
            shutil.copy2(self.source / name, output / name)
        for name, path in self.extra_files.items():
            if not path.is_file():
                raise BundlingError(f"{path} is missing: run `make synth` (it builds it) first")
            shutil.copyfile(path, output / name)


def _copy_distribution(name: str, output: Path) -> None:
    """One distribution installed in DEPENDENCIES (never this interpreter's own): the files its
    RECORD lists, i.e. its modules and its metadata."""
    matches = [
        found
        for found in importlib.metadata.distributions(path=[str(DEPENDENCIES)])
        if _normalized(found.metadata["Name"]) == _normalized(name)
    ]
    if not matches:
        raise BundlingError(f"{name} is not installed in {DEPENDENCIES}: run `make synth`")
    for file in matches[0].files or ():
        path = Path(str(file))
        if path.parts[0] in ("..", "bin") or "__pycache__" in path.parts:
            continue  # scripts land outside the target; byte code is never shipped
        target = output / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(DEPENDENCIES / path, target)


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


# The restore validator (entry point `handler.handler`): its dr_restore package, dr_common, the
# RDS CA bundle its DB_CA_BUNDLE names, pg8000 and its dependencies, and Powertools (its logger
# and embedded metrics) with its own.
RESTORE_VALIDATOR_CA_BUNDLE = "rds-ca-bundle.pem"
RESTORE_VALIDATOR = Bundle(
    ROOT / "lambda" / "restore_validator",
    distributions=(
        "pg8000",
        "scramp",
        "asn1crypto",
        "python-dateutil",
        "six",
        "aws-lambda-powertools",
        "jmespath",
        "typing-extensions",
    ),
    extra_files={RESTORE_VALIDATOR_CA_BUNDLE: ROOT / "build" / "rds-ca-bundle.pem"},
    packages=(ROOT / "dr_common",),
)


def python_code(
    source: Path,
    *,
    distributions: Sequence[str] | None = None,
    data_files: Sequence[str] = (),
    extra_files: Mapping[str, Path] | None = None,
    packages: Sequence[Path] = (),
) -> lambda_.Code:
    """The code of a Python function from `source` (its *.py files and packages, plus
    `data_files`), with the installed `distributions` (None: all of them), `extra_files`
    (name in the bundle -> a file built elsewhere, e.g. a CA bundle) and `packages` (top-level
    packages from elsewhere in the repository)."""
    return bundle_code(
        Bundle(
            source,
            None if distributions is None else tuple(distributions),
            tuple(data_files),
            dict(extra_files or {}),
            tuple(packages),
        )
    )


def restore_validator_code() -> lambda_.Code:
    """The restore validator's code (entry point `handler.handler`)."""
    return bundle_code(RESTORE_VALIDATOR)


def bundle_code(bundle: Bundle) -> lambda_.Code:
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
            # jsii calls try_bundle(output_dir, options); the protocol's keyword form does not
            # match that, hence the cast.
            local=cast(ILocalBundling, _local_bundling_class()(bundle)),
        ),
    )


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
