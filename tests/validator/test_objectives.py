"""Measured RPO and RTO from known canary and job times, and the verdict against targets."""

from __future__ import annotations

from datetime import timedelta

from dr_common.objectives import Measurement, Reading, Targets, judge
from tests.validator.fakes import T0

TARGETS = Targets(rpo=timedelta(hours=2), rto=timedelta(hours=4))


def measure(written_minutes_before: float | None, read_minutes_after: float) -> Measurement:
    written = (
        None if written_minutes_before is None else T0 - timedelta(minutes=written_minutes_before)
    )
    reading = Reading(written, T0 + timedelta(minutes=read_minutes_after))
    return Measurement("dynamodb", T0, T0 + timedelta(minutes=20), reading)


def test_rpo_is_job_creation_minus_the_canary_and_rto_is_until_the_read() -> None:
    measurement = measure(written_minutes_before=65, read_minutes_after=25)
    assert measurement.rpo == timedelta(minutes=65)
    assert measurement.rto == timedelta(minutes=25)
    assert measurement.job_duration == timedelta(minutes=20)
    verdict = judge(measurement, TARGETS)
    assert verdict.status == "SUCCESSFUL"
    assert verdict.reason == (
        "dynamodb: RPO 3900 s (target 7200 s, canary 2026-11-30T04:55:00.000+00:00), "
        "RTO 1500 s (target 14400 s)"
    )


def test_an_rpo_over_its_target_fails_naming_the_store_and_the_measured_rpo() -> None:
    verdict = judge(measure(written_minutes_before=121, read_minutes_after=25), TARGETS)
    assert verdict.status == "FAILED"
    assert verdict.reason.startswith("dynamodb: measured RPO 7260 s is over its target 7200 s (")


def test_an_rto_over_its_target_fails_and_both_are_named_when_both_are_over() -> None:
    rto = judge(measure(written_minutes_before=10, read_minutes_after=241), TARGETS)
    assert rto.status == "FAILED"
    assert rto.reason.startswith("dynamodb: measured RTO 14460 s is over its target 14400 s (")
    both = judge(measure(written_minutes_before=121, read_minutes_after=241), TARGETS)
    assert "measured RPO 7260 s is over its target 7200 s; measured RTO 14460 s" in both.reason


def test_the_targets_themselves_pass() -> None:
    assert judge(measure(written_minutes_before=120, read_minutes_after=240), TARGETS).successful


def test_no_canary_fails_saying_where_it_was_looked_for() -> None:
    reading = Reading(None, T0, "table t has no item health-check#canary")
    verdict = judge(Measurement("dynamodb", T0, None, reading), TARGETS)
    assert (verdict.status, verdict.reason) == (
        "FAILED",
        "dynamodb: no canary in the restored copy (table t has no item health-check#canary)",
    )


def test_a_problem_fails_with_it_as_the_reason() -> None:
    verdict = judge(
        Measurement("s3", T0, None, None),
        TARGETS,
        "the restored bucket could not be read: NoSuchBucket",
    )
    assert verdict.reason == "s3: the restored bucket could not be read: NoSuchBucket"
    assert judge(Measurement("s3", T0, None, None), TARGETS).status == "FAILED"


def test_a_canary_after_the_disaster_fails_beyond_the_clock_skew_and_counts_as_zero_within() -> (
    None
):
    ahead = judge(measure(written_minutes_before=-2, read_minutes_after=5), TARGETS)
    assert ahead.status == "FAILED"
    assert "120 s after the restore job was created" in ahead.reason
    slightly = measure(written_minutes_before=-0.5, read_minutes_after=5)
    assert slightly.rpo == timedelta(0)
    assert judge(slightly, TARGETS).successful
