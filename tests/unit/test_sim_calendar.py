"""Shift calendars from text: the grammar, midnight, wrapping weeks, merging, errors."""

from __future__ import annotations

import pytest

from graphtwin.errors import BadInput
from graphtwin.sim.calendar import describe_calendar, parse_calendar
from graphtwin.sim.spec import WEEK

H = 3600.0
D = 24 * H


def test_two_shifts_on_weekdays_and_a_saturday_morning() -> None:
    text = "Mon-Fri 06:00-14:00, 14:00-22:00; Sat 06:00-12:00"
    calendar = parse_calendar(text)
    # Back-to-back shifts are one stretch of working time.
    expected = [(d * D + 6 * H, d * D + 22 * H) for d in range(5)] + [
        (5 * D + 6 * H, 5 * D + 12 * H)
    ]
    assert list(calendar.windows) == expected
    assert calendar.text == text
    assert not calendar.always
    assert describe_calendar(calendar) == f"86 h/week ({text})"


@pytest.mark.parametrize("text", ["24/7", "", "  ", "Mon-Sun 00:00-24:00", "Mon-Sun 06:00-06:00"])
def test_round_the_clock(text: str) -> None:
    calendar = parse_calendar(text)
    assert calendar.always
    assert describe_calendar(calendar) == "24/7"


def test_a_night_shift_crosses_midnight() -> None:
    calendar = parse_calendar("Mon-Fri 22:00-06:00")
    assert calendar.windows[0] == (22 * H, D + 6 * H)
    assert (4 * D + 22 * H, 5 * D + 6 * H) in calendar.windows
    assert sum(e - s for s, e in calendar.windows) == 5 * 8 * H


def test_a_sunday_night_shift_wraps_into_monday_morning() -> None:
    calendar = parse_calendar("Sun 22:00-06:00")
    assert list(calendar.windows) == [(0.0, 6 * H), (6 * D + 22 * H, WEEK)]


def test_overlapping_windows_and_repeated_days_are_merged() -> None:
    calendar = parse_calendar("Mon 06:00-12:00, 10:00-14:00; Mon,Tue 13:00-15:00")
    assert list(calendar.windows) == [(6 * H, 15 * H), (D + 13 * H, D + 15 * H)]


def test_day_lists_ranges_that_wrap_and_any_case() -> None:
    calendar = parse_calendar("SAT-mon 08:00-09:00; Wed, thu 08:00-09:00")
    starts = [s // D for s, _e in calendar.windows]
    assert starts == [0, 2, 3, 5, 6]


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("Mon 00:00-00:00", "is empty"),
        ("Mon-Fri", "has no time window"),
        ("06:00-14:00", "names no days"),
        ("Mon-Fry 06:00-14:00", "'Fry' is not a day"),
        ("Monday 06:00-14:00", "'Monday' is not a day or a day range"),
        ("Mon 6-14", "'6-14' is not a window"),
        ("Mon 06:00-25:00", "'06:00-25:00' is not a window"),
        ("Mon 06:00-14:00, 14:00", "'14:00' is not a window"),
        ("Mon 06:00-14:00; Tue 07:60-08:00", "'07:60-08:00' is not a window"),
    ],
)
def test_bad_grammar_names_the_offending_part(text: str, part: str) -> None:
    with pytest.raises(BadInput, match="shift calendar") as caught:
        parse_calendar(text)
    assert part in caught.value.message
