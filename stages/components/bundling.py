"""Python Lambda code assembled on this machine: no Docker, no download during synth.

`make` installs the functions' pure-Python dependencies once, for the Lambda platform, into
build/lambda-deps (lambda/health_check/requirements.txt pins them); synth only copies. A
function gets its source directory's modules, packages and data files, and either every
installed distribution or only the ones it names (with exactly the files their RECORDs list).
"""

from __future__ import annotations

import importlib.metadata
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[2]
DEPENDENCIES = ROOT / "build" / "lambda-deps"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".installed", "bin")


class BundlingError(RuntimeError):
    """What synth needs is missing: the dependencies `make` installs, or a named file."""


@jsii.implements(ILocalBundling)
class _LocalBundling:
    def __init__(
        self,
        source: Path,
        distributions: Sequence[str] | None,
        data_files: Sequence[str],
        extra_files: Mapping[str, Path],
    ) -> None:
        self._source, self._distributions = source, distributions
        self._data_files, self._extra_files = data_files, extra_files

    def try_bundle(self, output_dir: str, options: Any) -> bool:
        if not (DEPENDENCIES / ".installed").exists():
            raise BundlingError(
                f"{DEPENDENCIES} is missing: run `make synth` (it installs the functions' "
                "dependencies) before synthesizing"
            )
        output = Path(output_dir)
        if self._distributions is None:
            shutil.copytree(DEPENDENCIES, output, dirs_exist_ok=True, ignore=_IGNORE)
        else:
            for name in self._distributions:
                _copy_distribution(name, output)
        # The entry point and the packages it imports, and the data files it reads.
        for module in self._source.glob("*.py"):
            shutil.copy2(module, output)
        for package in self._source.glob("*/__init__.py"):
            target = output / package.parent.name
            shutil.copytree(package.parent, target, dirs_exist_ok=True, ignore=_IGNORE)
        for name in self._data_files:
            shutil.copy2(self._source / name, output / name)
        for name, path in self._extra_files.items():
            if not path.is_file():
                raise BundlingError(f"{path} is missing: run `make synth` (it builds it) first")
            shutil.copyfile(path, output / name)
        return True


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


def python_code(
    source: Path,
    *,
    distributions: Sequence[str] | None = None,
    data_files: Sequence[str] = (),
    extra_files: Mapping[str, Path] | None = None,
) -> lambda_.Code:
    """The code of a Python function from `source` (its *.py files and packages, plus
    `data_files`), with the installed `distributions` (None: all of them) and `extra_files`
    (name in the bundle -> a file built elsewhere, e.g. a CA bundle)."""
    bundling = _LocalBundling(source, distributions, data_files, dict(extra_files or {}))
    return lambda_.Code.from_asset(
        str(source),
        # Hash what is deployed (handler and dependencies), not only the source.
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or stops synth.
            image=DockerImage.from_registry("unused-local-bundling"),
            # jsii calls try_bundle(output_dir, options); the protocol's keyword form does not
            # match that, hence the cast.
            local=cast(ILocalBundling, bundling),
        ),
    )
