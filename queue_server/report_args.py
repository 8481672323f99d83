"""Reading a report's filter from query arguments, shared by the JSON API, the
report page and the exports so all three answer the same question.

``from`` and ``to`` are local service days (YYYY-MM-DD, default: the last 7
days up to today); ``agency``, ``service``, ``counter`` and ``officer`` are ids
and may repeat; ``by`` picks the breakdown rows.
"""

from __future__ import annotations

import datetime as dt

from werkzeug.datastructures import MultiDict

from .domain.errors import InvalidInput
from .domain.reports import BREAKDOWNS, ReportFilter

DEFAULT_DAYS = 7
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(9000, 12, 31)


def date_arg(args: MultiDict[str, str], name: str, default: dt.date) -> dt.date:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = dt.date.fromisoformat(raw)
        if not EARLIEST <= value <= LATEST:  # days around year 1 or 9999 overflow the date arithmetic
            raise ValueError(raw)
        return value
    except ValueError:
        raise InvalidInput("invalid_field", f"{name} must be a date YYYY-MM-DD", field=name,
                           reason="date YYYY-MM-DD") from None


def _ids(args: MultiDict[str, str], name: str) -> tuple[int, ...]:
    values = [v.strip() for v in args.getlist(name) if v.strip()]
    if not all(v.isdigit() and 0 < int(v) < 2**31 for v in values):
        raise InvalidInput("invalid_field", f"{name} must be an id", field=name, reason="id")
    return tuple(sorted({int(v) for v in values}))


def report_filter(args: MultiDict[str, str], today: dt.date) -> ReportFilter:
    """The filter the arguments ask for; InvalidInput (422) says which one is wrong."""
    end = date_arg(args, "to", today)
    start = date_arg(args, "from", end - dt.timedelta(days=DEFAULT_DAYS - 1))
    try:
        return ReportFilter(start, end, agency_ids=_ids(args, "agency"), service_ids=_ids(args, "service"),
                            counter_ids=_ids(args, "counter"), officer_ids=_ids(args, "officer"))
    except ValueError as exc:
        raise InvalidInput("invalid_period", str(exc), field="from") from None


def breakdown(args: MultiDict[str, str]) -> str | None:
    by = (args.get("by") or "").strip()
    if by and by not in BREAKDOWNS:
        raise InvalidInput("invalid_field", f"by must be one of {', '.join(BREAKDOWNS)}", field="by",
                           reason=" / ".join(BREAKDOWNS))
    return by or None
