"""Opening hours: weekly intervals with breaks, a ticket cut-off and holidays.

An agency's hours are stored as JSON (see :func:`parse_schedule`) and evaluated
against the site's local time to answer one question for the kiosk: may a
ticket be issued now, and if not, why and until when.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class OpenReason:
    """Why an agency is (not) issuing tickets; stable codes for the UI."""

    OPEN = "open"
    BREAK = "break"  # between two intervals of the day
    BEFORE_OPEN = "before_open"
    AFTER_CUTOFF = "after_cutoff"  # still serving, no new tickets
    CLOSED = "closed"  # after hours, or no hours today
    HOLIDAY = "holiday"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class OpenState:
    can_issue: bool
    serving: bool  # counters are expected to be working now
    reason: str
    next_open: dt.datetime | None = None  # local time the agency next opens
    closes_at: dt.datetime | None = None  # local end of the current interval


def _minutes(hh: str, mm: str, text: str) -> int:
    h, m = int(hh), int(mm)
    if h > 24 or m > 59 or (h == 24 and m):
        raise InvalidInput("invalid_hours", f"invalid time in {text!r}", value=text)
    return h * 60 + m


def parse_intervals(text: str) -> list[list[int]]:
    """Parse "08:00-12:00, 13:00-15:30" into [[480, 720], [780, 930]] minutes."""
    out: list[list[int]] = []
    for part in (p for p in text.split(",") if p.strip()):
        match = _INTERVAL.match(part)
        if not match:
            raise InvalidInput("invalid_hours", f"invalid interval {part!r}", value=part)
        start = _minutes(match[1], match[2], part)
        end = _minutes(match[3], match[4], part)
        if end <= start or (out and start < out[-1][1]):
            raise InvalidInput(
                "invalid_hours", f"intervals must be increasing: {text!r}", value=text
            )
        out.append([start, end])
    return out


def parse_schedule(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn a TOML schedule table into the JSON stored on the agency."""
    days = {day: parse_intervals(str(raw.get(day, ""))) for day in WEEKDAYS}
    return {
        "days": days,
        "cutoff_minutes": int(raw.get("cutoff_minutes", 0)),
        "issue_before_open_minutes": int(raw.get("issue_before_open_minutes", 0)),
        "issue_during_breaks": bool(raw.get("issue_during_breaks", True)),
    }


def format_schedule(hours: dict[str, Any]) -> dict[str, str]:
    """The inverse of parse_intervals per day, for the API and export."""
    return {
        day: ", ".join(
            f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"
            for s, e in hours.get("days", {}).get(day, [])
        )
        for day in WEEKDAYS
    }


def _at(day: dt.date, minute: int, tz: dt.tzinfo | None) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tz) + dt.timedelta(minutes=minute)


def _next_open(
    hours: dict[str, Any], local: dt.datetime, closed_dates: set[str], after_minute: int
) -> dt.datetime | None:
    day = local.date()
    for offset in range(0, 15):
        d = day + dt.timedelta(days=offset)
        if d.isoformat() in closed_dates:
            continue
        for start, _end in hours.get("days", {}).get(WEEKDAYS[d.weekday()], []):
            if offset > 0 or start > after_minute:
                return _at(d, start, local.tzinfo)
    return None


def evaluate(
    hours: dict[str, Any], local: dt.datetime, closed_dates: set[str] | frozenset[str] = frozenset()
) -> OpenState:
    """Decide whether tickets can be issued at local time ``local``.

    Rules, in order: holidays close the day; before the first interval a ticket
    may be taken ``issue_before_open_minutes`` early; between intervals (a
    break) issuing follows ``issue_during_breaks``; no ticket is issued in the
    last ``cutoff_minutes`` before the day's final closing.
    """
    if not hours or not hours.get("days"):
        # No schedule configured means "always open": useful for tests and 24h desks.
        return OpenState(True, True, OpenReason.OPEN)
    minute = local.hour * 60 + local.minute
    if local.date().isoformat() in closed_dates:
        return OpenState(
            False, False, OpenReason.HOLIDAY, _next_open(hours, local, closed_dates, 24 * 60)
        )
    intervals = hours["days"].get(WEEKDAYS[local.weekday()], [])
    nxt = _next_open(hours, local, closed_dates, minute)
    if not intervals:
        return OpenState(False, False, OpenReason.CLOSED, nxt)
    first_start, last_end = intervals[0][0], intervals[-1][1]
    cutoff = last_end - int(hours.get("cutoff_minutes", 0))
    if minute < first_start:
        early = minute >= first_start - int(hours.get("issue_before_open_minutes", 0))
        return OpenState(early, False, OpenReason.BEFORE_OPEN, nxt)
    if minute >= last_end:
        return OpenState(False, False, OpenReason.CLOSED, nxt)
    if minute >= cutoff:
        in_interval = any(s <= minute < e for s, e in intervals)
        return OpenState(False, in_interval, OpenReason.AFTER_CUTOFF, nxt)
    for start, end in intervals:
        if start <= minute < end:
            return OpenState(True, True, OpenReason.OPEN, closes_at=_at(local.date(), end, local.tzinfo))
    return OpenState(bool(hours.get("issue_during_breaks", True)), False, OpenReason.BREAK, nxt)
