"""Opening hours: intervals, breaks, early issuing, cut-off and holidays."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import JAKARTA

from queue_server.domain.errors import InvalidInput
from queue_server.domain.hours import OpenReason, evaluate, format_schedule, parse_intervals, parse_schedule

SCHEDULE = parse_schedule(
    {
        "mon": "08:00-12:00, 13:00-15:30",
        "fri": "08:00-11:00, 13:30-15:30",
        "cutoff_minutes": 30,
        "issue_before_open_minutes": 30,
        "issue_during_breaks": True,
    }
)


def at(day: int, hh: int, mm: int = 0) -> dt.datetime:
    """2026-11-23 is a Monday; day 4 is that week's Friday."""
    return dt.datetime(2026, 11, 23 + day, hh, mm, tzinfo=JAKARTA)


def test_parse_intervals_in_minutes() -> None:
    assert parse_intervals("08:00-12:00, 13:00-15:30") == [[480, 720], [780, 930]]
    assert parse_intervals("") == []


@pytest.mark.parametrize("bad", ["8-12", "08:00-07:00", "08:00-12:00, 11:00-13:00", "25:00-26:00"])
def test_bad_intervals_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_intervals(bad)


def test_schedule_round_trips() -> None:
    assert format_schedule(SCHEDULE)["fri"] == "08:00-11:00, 13:30-15:30"
    assert format_schedule(SCHEDULE)["sat"] == ""


@pytest.mark.parametrize(
    ("moment", "can_issue", "reason"),
    [
        (at(0, 7, 0), False, OpenReason.BEFORE_OPEN),
        (at(0, 7, 30), True, OpenReason.BEFORE_OPEN),  # 30 minutes early issuing
        (at(0, 8, 0), True, OpenReason.OPEN),
        (at(0, 12, 15), True, OpenReason.BREAK),  # issue_during_breaks
        (at(0, 14, 59), True, OpenReason.OPEN),
        (at(0, 15, 0), False, OpenReason.AFTER_CUTOFF),  # 30 minutes before 15:30
        (at(0, 15, 30), False, OpenReason.CLOSED),
        (at(4, 11, 30), True, OpenReason.BREAK),  # Friday prayer break
        (at(5, 9, 0), False, OpenReason.CLOSED),  # Saturday: no hours
    ],
)
def test_evaluate(moment: dt.datetime, can_issue: bool, reason: str) -> None:
    state = evaluate(SCHEDULE, moment)
    assert (state.can_issue, state.reason) == (can_issue, reason)


def test_break_without_issuing_names_the_reopening_time() -> None:
    strict = {**SCHEDULE, "issue_during_breaks": False}
    state = evaluate(strict, at(4, 12, 0))
    assert not state.can_issue and state.reason == OpenReason.BREAK
    assert state.next_open == at(4, 13, 30)


def test_after_closing_next_open_is_next_working_day() -> None:
    state = evaluate(SCHEDULE, at(4, 16, 0))  # Friday evening -> Monday 08:00
    assert state.next_open == at(7, 8, 0)


def test_holiday_closes_the_day() -> None:
    state = evaluate(SCHEDULE, at(0, 9, 0), {"2026-11-23"})
    assert not state.can_issue and state.reason == OpenReason.HOLIDAY
    assert state.next_open == at(4, 8, 0)  # only Monday and Friday have hours
    assert evaluate(SCHEDULE, at(0, 9, 0), {"2026-11-24"}).can_issue


def test_no_schedule_means_always_open() -> None:
    assert evaluate({}, at(6, 3, 0)).can_issue
