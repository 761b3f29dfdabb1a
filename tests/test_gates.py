"""Compliance gates: cdk-nag (AwsSolutions, per Stage) and cfn-lint on every template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Stage
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from stages.compliance import REPORT_FILE, register_checks, violations
from tests.conftest import ROOT, STACK_NAMES, Synthesis


def test_nag_reports_no_violation_in_either_stage(synthesis: Synthesis) -> None:
    report = json.loads((synthesis.outdir / REPORT_FILE).read_text())
    assert violations(synthesis.outdir) == []
    for plugin in report["pluginReports"]:
        assert (plugin["conclusion"], plugin["violations"]) == ("success", []), plugin["pluginName"]


def test_every_dr_stage_registers_the_aws_solutions_pack(synthesis: Synthesis) -> None:
    # Without this, an empty report could also mean the checks never ran on the stage.
    # (The Python binding has no `Validations.of(stage).plugins`; this accessor is deprecated.)
    for stage in synthesis.stages.values():
        assert [plugin.name for plugin in stage.policy_validation_beta1] == ["AwsSolutions"]


def test_nag_on_a_stage_catches_a_violation(tmp_path: Path) -> None:
    """The same registration catches findings inside a Stage, so an empty report means
    the checks ran and passed, not that they never looked."""
    app = App(outdir=str(tmp_path))
    stage = Stage(app, "Probe")
    stack = Stack(stage, "Stack")
    sns.Topic(stack, "PlainTopic")
    sqs.Queue(stack, "PlainQueue")
    register_checks(stage)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()  # in-process, validation errors fail synth; the CLI only reports them
    found = violations(tmp_path)
    assert "AwsSolutions-SNS3: Probe/Stack/PlainTopic/Resource" in found
    assert "AwsSolutions-SQS3: Probe/Stack/PlainQueue/Resource" in found
    assert "AwsSolutions-SQS4: Probe/Stack/PlainQueue/Resource" in found


@pytest.fixture(scope="session")
def cfn_lint_findings(synthesis: Synthesis) -> dict[str, list[str]]:
    """cfn-lint once over all templates; findings grouped by stack."""
    files = {name: synthesis.template_file(name) for name in STACK_NAMES}
    # The CLI from the virtualenv, run from the repo so .cfnlintrc.yaml applies.
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--format",
            "json",
            *map(str, files.values()),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 2, 4, 6, 8, 10, 12, 14), result.stderr
    findings: dict[str, list[str]] = {name: [] for name in STACK_NAMES}
    for match in json.loads(result.stdout or "[]"):
        name = next(n for n, f in files.items() if Path(match["Filename"]) == f)
        findings[name].append(f"{match['Rule']['Id']} {match['Message']}")
    return findings


@pytest.mark.parametrize("stack_name", STACK_NAMES)
def test_cfn_lint_is_clean(cfn_lint_findings: dict[str, list[str]], stack_name: str) -> None:
    assert cfn_lint_findings[stack_name] == []
