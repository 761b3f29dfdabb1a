"""AWS cron expressions (`cron(Minutes Hours Day-of-month Month Day-of-week Year)`, UTC), as
AWS Backup and EventBridge read them: parsed field by field, and expanded into firing times so
that the schedule's arithmetic (the longest gap between two runs) is computed, not assumed.

Field rules (EventBridge "Cron expressions reference"): Minutes 0-59, Hours 0-23, Day-of-month
1-31 (also `?`, `L`, `nW`), Month 1-12 or JAN-DEC, Day-of-week 1-7 or SUN-SAT with SUN = 1
(also `?`, `L`, `nL`, `n#k`), Year 1970-2199; `,` lists, `-` ranges, `/` increments, `*` all.
One of Day-of-month and Day-of-week must be `?`.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

# Spelled out: calendar's month names follow the locale.
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_EXPRESSION = re.compile(r"cron\((?P<fields>[^()]*)\)")
# Long enough for any schedule to repeat its pattern at least once (a leap year included).
_HORIZON_DAYS = 2 * 366


class CronError(ValueError):
    """The expression is not a valid AWS cron expression; the message says which field."""


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_matches: Callable[[date], bool]

    def days(self, start: datetime, days: int = _HORIZON_DAYS) -> Iterator[date]:
        """Every day on which it fires, from the day of `start` for `days` days, in order."""
        day = start.date()
        for _ in range(days):
            if day.year in self.years and day.month in self.months and self.day_matches(day):
                yield day
            day += timedelta(days=1)

    def runs(self, start: datetime, days: int = _HORIZON_DAYS) -> Iterator[datetime]:
        """Every firing time from the day of `start` for `days` days, in order (UTC)."""
        for day in self.days(start, days):
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    yield datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)

    def longest_gap(self, start: datetime | None = None) -> timedelta:
        """The longest time between two consecutive runs, over two years from `start`."""
        # Every firing day has the same times, so the gaps are those within a day and those
        # from one firing day's last run to the next one's first: a pass over days, not runs
        # (an every-minute schedule has a million of those).
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        times = sorted(timedelta(hours=h, minutes=m) for h in self.hours for m in self.minutes)
        days = list(self.days(start))
        if len(days) * len(times) < 2:
            raise CronError("runs fewer than twice in two years")
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        first, last = times[0], times[-1]
        gaps += [
            timedelta(days=(later - earlier).days) - last + first
            for earlier, later in itertools.pairwise(days)
        ]
        return max(gaps)


def parse(expression: str) -> Cron:
    match = _EXPRESSION.fullmatch(expression)
    fields = match["fields"].split(" ") if match else []
    if len(fields) != 6:
        raise CronError("not a six-field cron(...) expression")
    minutes, hours, dom, month, dow, year = fields
    parsed = {
        "minutes": _numbers(minutes, "minutes", 0, 59),
        "hours": _numbers(hours, "hours", 0, 23),
        "months": _numbers(month, "month", 1, 12, _MONTHS),
        "years": _numbers(year, "year", 1970, 2199),
    }
    if (dom == "?") == (dow == "?"):
        raise CronError("exactly one of day-of-month and day-of-week must be '?'")
    day_matches = _day_of_month(dom) if dow == "?" else _day_of_week(dow)
    return Cron(expression=expression, day_matches=day_matches, **parsed)


def _value(text: str, field: str, low: int, high: int, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit() or not low <= int(text) <= high:
        raise CronError(f"{field} field: {text!r} is not a value from {low} to {high}")
    return int(text)


def _numbers(
    text: str, field: str, low: int, high: int, names: dict[str, int] | None = None
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            step = _value(step_text, field, 1, high - low + 1, None)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = (_value(v, field, low, high, names) for v in (start, end))
            if first > last:
                raise CronError(f"{field} field: range {base!r} runs backwards")
        else:
            first = _value(base, field, low, high, names)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: date, target: int) -> int:
    """The weekday nearest to day `target` of `day`'s month, never leaving the month."""
    last = _last_day(day)
    target = min(target, last)
    weekday = date(day.year, day.month, target).weekday()  # Monday = 0
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before on the last day
        return target + 1 if target < last else target - 2
    return target


def _day_of_month(text: str) -> Callable[[date], bool]:
    if text == "L":
        return lambda day: day.day == _last_day(day)
    if weekday := re.fullmatch(r"(\d{1,2})W", text):
        target = _value(weekday[1], "day-of-month", 1, 31, None)
        return lambda day: day.day == _nearest_weekday(day, target)
    days = _numbers(text, "day-of-month", 1, 31)
    return lambda day: day.day in days


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # SUN = 1 ... SAT = 7


def _day_of_week(text: str) -> Callable[[date], bool]:
    if text == "L":
        return lambda day: _aws_weekday(day) == _DAYS["SAT"]
    if last := re.fullmatch(r"(\w+)L", text):
        weekday = _value(last[1], "day-of-week", 1, 7, _DAYS)
        return lambda day: _aws_weekday(day) == weekday and day.day + 7 > _last_day(day)
    if nth := re.fullmatch(r"(\w+)#([1-5])", text):
        weekday, index = _value(nth[1], "day-of-week", 1, 7, _DAYS), int(nth[2])
        return lambda day: _aws_weekday(day) == weekday and (day.day - 1) // 7 + 1 == index
    days = _numbers(text, "day-of-week", 1, 7, _DAYS)
    return lambda day: _aws_weekday(day) in days
