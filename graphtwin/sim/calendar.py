"""Shift calendars from text: ``"Mon-Fri 06:00-14:00, 14:00-22:00; Sat 06:00-12:00"``.

Grammar (case-insensitive, white space free between tokens)::

    calendar = "24/7" | group { ";" group }
    group    = days windows
    days     = day-item { "," day-item }          day-item = Day [ "-" Day ]
    windows  = window { "," window }              window   = HH:MM "-" HH:MM
    Day      = Mon | Tue | Wed | Thu | Fri | Sat | Sun

A day range may wrap (``Sat-Mon``); a window whose end is not after its start crosses
midnight into the next day (``22:00-06:00``), and ``24:00`` ends a day. The result is
a pure function of the text, so scenarios can parse their own calendars the same way.
"""

from __future__ import annotations

import re

from graphtwin.errors import BadInput
from graphtwin.sim.spec import WEEK, ShiftCalendar

DAY = 24 * 3600.0
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d|24:00"
_WINDOW = re.compile(rf"^\s*({_TIME})\s*-\s*({_TIME})\s*$")
_DAY_ITEM = re.compile(r"^\s*([a-z]{3})\s*(?:-\s*([a-z]{3})\s*)?$", re.IGNORECASE)
# Where the day list ends and the windows begin: the first HH:MM of the group.
_FIRST_TIME = re.compile(r"\d")
ALWAYS = ("24/7", "")

_EXAMPLE = 'e.g. "Mon-Fri 06:00-14:00, 14:00-22:00; Sat 06:00-12:00"'


def parse_calendar(text: str) -> ShiftCalendar:
    """The weekly working windows ``text`` describes, merged and sorted.

    :raises BadInput: the text does not follow the grammar; the message quotes the
        offending part.
    """
    source = text.strip()
    if source.lower() in ALWAYS:
        return ShiftCalendar()
    windows: list[tuple[float, float]] = []
    for group in source.split(";"):
        if not group.strip():
            continue  # a trailing ";" is harmless
        windows += _group(group.strip(), source)
    merged = _merge(windows)
    # A calendar covering the whole week is the round-the-clock one.
    if merged == [(0.0, WEEK)]:
        return ShiftCalendar(text=source)
    return ShiftCalendar(tuple(merged), source)


def _group(group: str, source: str) -> list[tuple[float, float]]:
    first = _FIRST_TIME.search(group)
    if first is None:
        raise BadInput(f"shift calendar {source!r}: {group!r} has no time window ({_EXAMPLE})")
    days = _days(group[: first.start()], group, source)
    out: list[tuple[float, float]] = []
    for part in group[first.start() :].split(","):
        match = _WINDOW.match(part)
        if match is None:
            raise BadInput(
                f"shift calendar {source!r}: {part.strip()!r} is not a window HH:MM-HH:MM "
                f"({_EXAMPLE})"
            )
        start, end = _seconds(match.group(1)), _seconds(match.group(2))
        if start == end and start in (0.0, DAY):
            raise BadInput(
                f"shift calendar {source!r}: {part.strip()!r} is empty; "
                "write 00:00-24:00 for a whole day"
            )
        if end <= start:
            end += DAY  # crosses midnight into the next day
        for day in days:
            out += _wrap(day * DAY + start, day * DAY + end)
    return out


def _days(text: str, group: str, source: str) -> list[int]:
    if not text.strip():
        raise BadInput(f"shift calendar {source!r}: {group!r} names no days ({_EXAMPLE})")
    days: list[int] = []
    for item in text.split(","):
        match = _DAY_ITEM.match(item)
        if match is None:
            raise BadInput(
                f"shift calendar {source!r}: {item.strip()!r} is not a day or a day range "
                "(Mon, Tue, Wed, Thu, Fri, Sat, Sun; e.g. Mon-Fri)"
            )
        first = _day(match.group(1), source)
        last = _day(match.group(2), source) if match.group(2) else first
        day = first
        while True:
            if day not in days:
                days.append(day)
            if day == last:
                break
            day = (day + 1) % 7
    return days


def _day(name: str, source: str) -> int:
    try:
        return _DAYS.index(name.lower())
    except ValueError:
        raise BadInput(
            f"shift calendar {source!r}: {name!r} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"
        ) from None


def _seconds(hhmm: str) -> float:
    hours, minutes = hhmm.split(":")
    return int(hours) * 3600.0 + int(minutes) * 60.0


def _wrap(start: float, end: float) -> list[tuple[float, float]]:
    # Sunday night runs into Monday morning of the (same, repeating) week.
    if end <= WEEK:
        return [(start, end)]
    return [(start, WEEK), (0.0, end - WEEK)]


def _merge(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted windows with overlapping and touching ones joined (back-to-back shifts
    are one stretch of working time)."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def describe_calendar(calendar: ShiftCalendar) -> str:
    """Working hours per week, for origins and answers: ``"80 h/week (Mon-Fri ...)"``."""
    if calendar.always:
        return "24/7"
    hours = sum(end - start for start, end in calendar.windows) / 3600.0
    return f"{hours:g} h/week ({calendar.text})"
