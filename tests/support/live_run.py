"""The gates' run over the live configuration (the repository's own cdk.json): the pinned CDK
CLI synthesizes the app exactly as `make synth` and the pipeline do (compliance checks
included: app.py exits non-zero on a finding), then cfn-lint reads every template. The
synth is `make`'s own target, so an assembly already current (after `make synth`) is reused.

It runs in a background thread from the end of collection, while the in-process tests work;
subprocesses release the GIL, so on two cores the two overlap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.synthesis import ROOT

ASSEMBLY = ROOT / "cdk.out"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
SYNTH_TIMEOUT_S = 300
LINT_TIMEOUT_S = 300
_MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
# cfn-lint's exit code is a bit mask of the levels it found (2 error, 4 warning, 8 info);
# 1 means it failed to run.
LINT_FINDINGS_MASK = 2 | 4 | 8


@dataclass(frozen=True)
class StackArtifact:
    stack_name: str
    template_file: Path
    account: str
    region: str
    termination_protection: bool

    def template(self) -> dict[str, Any]:
        template: dict[str, Any] = json.loads(self.template_file.read_text())
        return template


@dataclass
class LiveRun:
    outdir: Path
    synth: subprocess.CompletedProcess[str] | None = None
    lint: subprocess.CompletedProcess[str] | None = None
    error: str | None = None  # why a step could not run at all
    _done: threading.Event = field(default_factory=threading.Event)

    def result(self) -> LiveRun:
        if not self._done.wait(SYNTH_TIMEOUT_S + LINT_TIMEOUT_S + 30):
            raise TimeoutError("the live synth and cfn-lint did not finish in time")
        return self

    def stacks(self) -> dict[str, StackArtifact]:
        """Every stack of the cloud assembly (nested Stage assemblies included), by name."""
        return dict(_stacks(self.outdir))

    def lint_findings(self) -> dict[str, list[str]]:
        """cfn-lint's findings per stack name (every stack present, most with none)."""
        assert self.lint is not None, self.error
        files = {artifact.template_file: name for name, artifact in self.stacks().items()}
        findings: dict[str, list[str]] = {name: [] for name in files.values()}
        for match in json.loads(self.lint.stdout or "[]"):
            name = files[Path(match["Filename"]).resolve()]
            findings[name].append(f"{match['Rule']['Id']} {match['Message']}")
        return findings

    def _run(self) -> None:
        try:
            # A make of its own: not the one running the tests (jobserver, level).
            env = {k: v for k, v in os.environ.items() if k not in _MAKE_VARIABLES}
            self.synth = subprocess.run(
                ["make", "--no-print-directory", "cdk.out/manifest.json"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=SYNTH_TIMEOUT_S,
                check=False,
            )
            if self.synth.returncode != 0:
                return
            templates = [str(a.template_file) for a in self.stacks().values()]
            # From the repository, so .cfnlintrc.yaml applies.
            self.lint = subprocess.run(
                [str(CFN_LINT), "--format", "json", *templates],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=LINT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as error:
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self._done.set()


def _stacks(directory: Path) -> list[tuple[str, StackArtifact]]:
    manifest = json.loads((directory / "manifest.json").read_text())
    found: list[tuple[str, StackArtifact]] = []
    for artifact in manifest.get("artifacts", {}).values():
        properties = artifact.get("properties", {})
        if artifact["type"] == "cdk:cloud-assembly":
            found += _stacks(directory / properties["directoryName"])
        elif artifact["type"] == "aws:cloudformation:stack":
            account, region = artifact["environment"].removeprefix("aws://").split("/")
            name = properties.get("stackName") or artifact.get("displayName")
            found.append(
                (
                    name,
                    StackArtifact(
                        stack_name=name,
                        template_file=(directory / properties["templateFile"]).resolve(),
                        account=account,
                        region=region,
                        termination_protection=bool(properties.get("terminationProtection")),
                    ),
                )
            )
    return found


_lock = threading.Lock()
_current: LiveRun | None = None


def start() -> LiveRun:
    """The session's one live run, started on first call."""
    global _current  # noqa: PLW0603 - one run per test session, shared by the gate tests
    with _lock:
        if _current is None:
            _current = LiveRun(outdir=ASSEMBLY)
            threading.Thread(target=_current._run, name="live-synth", daemon=True).start()
        return _current
