"""Cron expressions for schedules: five fields in UTC, parsed with errors a person can act on.

`minute hour day-of-month month day-of-week`, each `*`, a number, a range `a-b`, a step `*/n` or
`a-b/n`, or a comma list of those; months and weekdays may be names (`jan`, `mon`); weekday 0 and 7
are Sunday. `@hourly`, `@daily`, `@weekly`, `@monthly` and `@yearly` are shorthands. As in Vixie
cron, when both day fields are restricted a day matches either of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

__all__ = ["Cron", "CronError", "parse_cron"]

_MONTHS = {name: i for i, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_WEEKDAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
           "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
# (name, lowest, highest, names); weekday 7 is accepted as Sunday and folded to 0 below.
_FIELDS = (
    ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS), ("day-of-week", 0, 7, _WEEKDAYS),
)
_SEARCH_DAYS = 366 * 8  # long enough for 29 February to come round


class CronError(ValueError):
    """An expression that is not a valid cron expression; the message says what to change."""


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    def _day_matches(self, day: date) -> bool:
        in_month = day.day in self.days
        in_week = day.isoweekday() % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def next_after(self, moment: datetime) -> datetime:
        """The first minute strictly after `moment` at which the expression fires (UTC)."""
        start = moment.astimezone(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        for _ in range(_SEARCH_DAYS):
            if day.month in self.months and self._day_matches(day):
                today = day == start.date()
                for hour in self.hours:
                    if today and hour < start.hour:
                        continue
                    for minute in self.minutes:
                        if today and hour == start.hour and minute < start.minute:
                            continue
                        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc)
            day += timedelta(days=1)
        raise CronError(f'"{self.expression}" never fires (no such date, e.g. 30 February).')


def _number(text: str, name: str, names: dict[str, int]) -> int:
    lowered = text.lower()
    if lowered in names:
        return names[lowered]
    if not text.isdigit():
        hint = f" or a name like {next(iter(names))}" if names else ""
        raise CronError(f'The {name} field: "{text}" is not a number{hint}.')
    return int(text)


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f'The {name} field "{text}" has an empty item between commas.')
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f'The {name} field: the step in "{item}" must be a whole number of at least 1.')
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start_text, _, end_text = base.partition("-")
            first, last = _number(start_text, name, names), _number(end_text, name, names)
            if first > last:
                raise CronError(f'The {name} field: the range "{base}" runs backwards; write it low-high.')
        else:
            first = _number(base, name, names)
            last = high if slash else first
        for value in (first, last):
            if not low <= value <= high:
                raise CronError(f"The {name} field: {value} is out of range {low}-{high}.")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def parse_cron(expression: str) -> Cron:
    """Parse a cron expression, or raise CronError with a sentence saying what is wrong."""
    text = " ".join(expression.split())
    expanded = _MACROS.get(text.lower(), text)
    if expanded.startswith("@"):
        raise CronError(f'Unknown shorthand "{text}"; use one of {", ".join(sorted(_MACROS))}.')
    parts = expanded.split(" ") if expanded else []
    if len(parts) != len(_FIELDS):
        raise CronError(
            "A cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f'e.g. "0 6 * * 1-5"; "{text}" has {len(parts)}.'
        )
    minutes, hours, days, months, weekdays = (
        _field(part, name, low, high, names) for part, (name, low, high, names) in zip(parts, _FIELDS)
    )
    cron = Cron(
        expression=text, minutes=tuple(sorted(minutes)), hours=tuple(sorted(hours)), days=days, months=months,
        weekdays=frozenset(day % 7 for day in weekdays),
        days_restricted=not parts[2].startswith("*"), weekdays_restricted=not parts[4].startswith("*"),
    )
    cron.next_after(datetime(2000, 1, 1, tzinfo=timezone.utc))  # refuses expressions that never fire
    return cron
