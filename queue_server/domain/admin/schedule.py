"""Opening hours as an administrator edits them: one text per weekday.

The stored form is what :func:`queue_server.domain.hours.parse_schedule`
makes from a configuration file, so the form, the TOML file and issuing all
read the same JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..hours import WEEKDAYS, format_schedule, parse_intervals, parse_schedule


@dataclass
class WeekHours:
    """The editable parts of an agency's hours."""

    always_open: bool = True  # no schedule: tickets at any time (24h desks, tests)
    days: dict[str, str] = field(default_factory=lambda: dict.fromkeys(WEEKDAYS, ""))
    cutoff_minutes: int = 0
    issue_before_open_minutes: int = 0
    issue_during_breaks: bool = True


def to_week(hours: dict[str, Any]) -> WeekHours:
    """The stored JSON as form values ("08:00-12:00, 13:00-15:30" per day)."""
    if not hours or not hours.get("days"):
        return WeekHours()
    return WeekHours(
        always_open=False,
        days=format_schedule(hours),
        cutoff_minutes=int(hours.get("cutoff_minutes", 0)),
        issue_before_open_minutes=int(hours.get("issue_before_open_minutes", 0)),
        issue_during_breaks=bool(hours.get("issue_during_breaks", True)),
    )


def from_week(week: WeekHours) -> dict[str, Any]:
    """Validate the form values and build the stored JSON; the error names the day."""
    if week.always_open:
        return {}
    for day in WEEKDAYS:
        try:
            parse_intervals(week.days.get(day, ""))
        except InvalidInput as exc:
            raise InvalidInput("invalid_hours", exc.message, field=day) from None
    for name in ("cutoff_minutes", "issue_before_open_minutes"):
        if not 0 <= getattr(week, name) <= 600:
            raise InvalidInput("invalid_minutes", f"{name} must be 0-600", field=name)
    return parse_schedule({
        **{day: week.days.get(day, "") for day in WEEKDAYS},
        "cutoff_minutes": week.cutoff_minutes,
        "issue_before_open_minutes": week.issue_before_open_minutes,
        "issue_during_breaks": week.issue_during_breaks,
    })
