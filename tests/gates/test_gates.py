"""The compliance gate's own mechanics: cdk-nag registered on every Stage, able to catch a
finding inside a Stage, and a finding stops `cdk synth` with its rule, path and description."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Stage
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

import app as cdk_app
from stages.compliance import REPORT_FILE, register_checks, violations
from tests.support.synthesis import Synthesis


def test_every_dr_stage_registers_both_packs(synthesis: Synthesis) -> None:
    # Without this, an empty report could also mean the checks never ran on the stage.
    # (The Python binding has no `Validations.of(stage).plugins`; this accessor is deprecated.)
    packs = ["AwsSolutions", "NIST.800.53.R5"]
    for stage in synthesis.stages.values():
        assert [plugin.name for plugin in stage.policy_validation_beta1] == packs
    app = synthesis.pipeline.node.scope  # the App registers for the pipeline stack
    assert isinstance(app, App)
    assert [plugin.name for plugin in app.policy_validation_beta1] == packs


def test_the_fixed_synthesis_has_no_finding(synthesis: Synthesis) -> None:
    report = json.loads((synthesis.outdir / REPORT_FILE).read_text())
    assert violations(synthesis.outdir) == []
    for plugin in report["pluginReports"]:
        assert (plugin["conclusion"], plugin["violations"]) == ("success", []), plugin["pluginName"]


def test_nag_on_a_stage_catches_a_violation(tmp_path: Path) -> None:
    """The same registration catches findings inside a Stage, so an empty report means
    the checks ran and passed, not that they never looked."""
    app = App(outdir=str(tmp_path))
    stage = Stage(app, "Probe")
    stack = Stack(stage, "Stack")
    sns.Topic(stack, "PlainTopic")
    sqs.Queue(stack, "PlainQueue")
    logs.LogGroup(stack, "PlainLogs")
    register_checks(stage)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()  # in-process, validation errors fail synth; the CLI only reports them
    found = violations(tmp_path)
    assert any(
        line.startswith("AwsSolutions-SNS3: Probe/Stack/PlainTopic/Resource: ") for line in found
    )
    assert any(
        line.startswith("AwsSolutions-SQS3: Probe/Stack/PlainQueue/Resource: ") for line in found
    )
    assert all(line.count(": ") >= 2 and len(line.split(": ", 2)[2]) > 10 for line in found)


def test_a_finding_stops_synth_naming_rule_path_description_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the console shows when the app meets a finding (app.py, after `app.synth()`)."""
    app = App(outdir=str(tmp_path))
    stage = Stage(app, "Dev")
    sns.Topic(Stack(stage, "Service"), "UnencryptedProbeTopic")
    register_checks(stage)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    with pytest.raises(SystemExit) as stopped:
        cdk_app.stop_on_findings(tmp_path)
    assert stopped.value.code == (
        f"Synth stopped: fix or acknowledge each finding above (report: {tmp_path / REPORT_FILE})"
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == f"{len(lines) - 1} compliance violation(s):"
    [finding] = [line for line in lines if line.startswith("AwsSolutions-SNS3:")]
    _, path, description = finding.split(": ", 2)
    assert path == "Dev/Service/UnencryptedProbeTopic/Resource"
    assert description == "The SNS Topic does not require publishers to use SSL."
