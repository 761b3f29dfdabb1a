"""Run the suite itself (the same test functions the pipeline runs) in a pytest subprocess,
with a given environment, and read its outcome from its JUnit report."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from integration_tests.local import post_deploy_packages
from integration_tests.local.assembly import ROOT

_TIMEOUT_S = 120
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
# Set in a run's environment: a run must target a stage, never start local mode (and so
# these runs) again.
NESTED_RUN = "DR_SUITE_RUN"


@dataclass(frozen=True)
class Case:
    outcome: str  # passed, failed, error, skipped
    message: str
    system_out: str = ""  # the case's captured output (junit_logging=system-out)


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    output: str
    cases: dict[str, Case]  # by test function name


class RunningSuite:
    def __init__(
        self, env: dict[str, str], args: list[str], junit: Path, *, post_deploy: bool = False
    ) -> None:
        """`post_deploy`: with only the packages the pipeline's post-deploy step installs."""
        self._junit = junit
        # Only the given environment: nothing of this process's AWS settings leaks in.
        environment = {k: v for k, v in os.environ.items() if k in _KEPT}
        if post_deploy:
            environment.update(post_deploy_packages.environment())
        # As the pipeline's post-deploy step runs it (pipeline/post_deploy.py).
        command = [
            *(sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"),
            *("-o", "junit_logging=system-out"),
        ]
        self._process = subprocess.Popen(
            [*command, f"--junitxml={junit}"],
            cwd=ROOT,
            env={**environment, **env, NESTED_RUN: "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def result(self) -> SuiteRun:
        try:
            output, _ = self._process.communicate(timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            output, _ = self._process.communicate()
            raise AssertionError(f"the suite did not finish in {_TIMEOUT_S} s:\n{output}") from None
        return SuiteRun(self._process.returncode, output, _cases(self._junit))

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.communicate()


def _cases(junit: Path) -> dict[str, Case]:
    if not junit.exists():
        return {}
    cases = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        outcome, message, out = "passed", "", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = child.get("message", "") + "\n" + (child.text or "")
            elif child.tag == "system-out":
                out += child.text or ""
        cases[case.get("name", "")] = Case(outcome, message, out)
    return cases
