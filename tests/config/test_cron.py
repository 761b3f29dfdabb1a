"""AWS cron expressions: parsed field by field, and their firing times computed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from config.cron import CronError, parse

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "gap"),
    [
        ("cron(0 * ? * * *)", timedelta(hours=1)),
        ("cron(15 */4 ? * * *)", timedelta(hours=4)),
        ("cron(0 5 ? * * *)", timedelta(days=1)),
        ("cron(0 5,17 ? * * *)", timedelta(hours=12)),
        ("cron(30 2 ? * SUN *)", timedelta(days=7)),
        ("cron(0 3 ? * MON-FRI *)", timedelta(days=3)),  # Friday to Monday
        ("cron(0 0 1 * ? *)", timedelta(days=31)),
        ("cron(0 0 L * ? *)", timedelta(days=31)),
        ("cron(0 12 ? * 6L *)", timedelta(days=35)),  # last Friday: 4 or 5 weeks apart
        ("cron(0 12 ? * 2#1 *)", timedelta(days=35)),  # first Monday
    ],
)
def test_longest_gap_between_runs(expression: str, gap: timedelta) -> None:
    assert parse(expression).longest_gap(START) == gap


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0/7 1-3 ? * * *)",
        "cron(5,50 22 ? * 2,5 *)",
        "cron(0 0 L 2 ? *)",
        "cron(10 4 29 * ? 2026-2027)",
        "cron(0 9,23 ? * 6#3 *)",
    ],
)
def test_longest_gap_is_the_largest_between_consecutive_runs(expression: str) -> None:
    # The day-by-day arithmetic against every run, one after the other.
    runs = list(parse(expression).runs(START))
    brute = max(later - earlier for earlier, later in itertools.pairwise(runs))
    assert parse(expression).longest_gap(START) == brute


def test_runs_are_in_utc_and_in_order() -> None:
    runs = list(parse("cron(45 6,18 ? * * *)").runs(START, days=2))
    assert runs == [
        datetime(2026, 1, 1, 6, 45, tzinfo=UTC),
        datetime(2026, 1, 1, 18, 45, tzinfo=UTC),
        datetime(2026, 1, 2, 6, 45, tzinfo=UTC),
        datetime(2026, 1, 2, 18, 45, tzinfo=UTC),
    ]


def test_nearest_weekday_stays_in_the_month() -> None:
    # 2026-02-01 is a Sunday: 1W is Monday the 2nd; 2026-05-31 is a Sunday: 31W is Friday.
    runs = parse("cron(0 0 1W * ? 2026)").runs(START, days=365)
    assert datetime(2026, 2, 2, tzinfo=UTC) in set(runs)
    runs = parse("cron(0 0 31W * ? 2026)").runs(START, days=365)
    assert datetime(2026, 5, 29, tzinfo=UTC) in set(runs)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 hour)", "not a six-field cron(...) expression"),
        ("cron(0 * ? * *)", "not a six-field cron(...) expression"),
        ("cron(a b c d e f)", "minutes field: 'a' is not a value from 0 to 59"),
        ("cron(0 24 ? * * *)", "hours field: '24' is not a value from 0 to 23"),
        ("cron(0 0 32 * ? *)", "day-of-month field: '32' is not a value from 1 to 31"),
        ("cron(0 0 ? 13 * *)", "month field: '13' is not a value from 1 to 12"),
        ("cron(0 0 ? * 8 *)", "day-of-week field: '8' is not a value from 1 to 7"),
        ("cron(0 0 ? * * 1969)", "year field: '1969' is not a value from 1970 to 2199"),
        ("cron(0 5-2 ? * * *)", "hours field: range '5-2' runs backwards"),
        ("cron(0 0 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 0 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 0 1 * ? 2020)", "runs fewer than twice in two years"),
    ],
)
def test_invalid_expressions_say_which_field(expression: str, message: str) -> None:
    with pytest.raises(CronError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse(expression).longest_gap(START)
