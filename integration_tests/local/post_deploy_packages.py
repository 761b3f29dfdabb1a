"""What the pipeline's post-deploy step has installed, enforced on the suite runs that play it.

CodeBuild installs only integration_tests/requirements.txt (and what those packages need),
while `make`'s virtualenv also holds the CDK, moto, cfn-lint and the rest. A suite run that
plays the pipeline gets every other third-party package hidden (post_deploy_site/
sitecustomize.py refuses to import them), so a post-deploy module that imports one fails here
as it would in CodeBuild.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from integration_tests.local.assembly import ROOT

REQUIREMENTS = ROOT / "integration_tests" / "requirements.txt"
SITE_DIR = Path(__file__).with_name("post_deploy_site")
# Read by post_deploy_site/sitecustomize.py: the top-level modules it refuses.
HIDDEN_VARIABLE = "DR_HIDDEN_MODULES"
# Any Python environment has these, CodeBuild's included.
_ALWAYS_PRESENT = frozenset({"pip", "setuptools", "wheel", "_distutils_hack", "pkg_resources"})


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def installed_closure() -> frozenset[str]:
    """The distributions pip would install for REQUIREMENTS (by canonical name)."""
    pending = [
        Requirement(line.strip())
        for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    found: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = _canonical(requirement.name)
        if name in found:
            continue
        found.add(name)
        for text in metadata.requires(requirement.name) or []:
            dependency = Requirement(text)
            if dependency.marker is None or dependency.marker.evaluate({"extra": ""}):
                pending.append(dependency)
    return frozenset(found)


def _in_checkout(module: str) -> bool:
    # The step runs from the checkout: its own packages (dr_cli, dr_common) import from there,
    # although `make` also installs them into the virtualenv (the `dr` command).
    return (ROOT / module / "__init__.py").exists() or (ROOT / f"{module}.py").exists()


@cache
def hidden_modules() -> frozenset[str]:
    """Top-level modules of this environment that the post-deploy step would not have."""
    allowed = installed_closure() | _ALWAYS_PRESENT
    return frozenset(
        module
        for module, distributions in metadata.packages_distributions().items()
        if not any(_canonical(d) in allowed for d in distributions)
        and module not in _ALWAYS_PRESENT
        and not _in_checkout(module)
    )


def environment() -> dict[str, str]:
    """For a suite run's environment: hide the rest, and load no pytest plugin that the
    post-deploy step would not have (it has none beyond pytest's own)."""
    return {
        "PYTHONPATH": str(SITE_DIR),
        HIDDEN_VARIABLE: ",".join(sorted(hidden_modules())),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
