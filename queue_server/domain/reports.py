"""Report figures for a period and a filter, aggregated in SQL.

Every figure comes from grouped queries over ticket legs (one row per queue a
visitor stood in; see :class:`~queue_server.models.Ticket`), never from
loading tickets into Python, so a year of a large MPP stays fast:

* one "cube" query per service day and breakdown key gives the counts, the
  wait and service sums, the SLA counts: totals, breakdown table, daily and
  weekly trends are sums of its rows;
* one histogram query per duration (``GROUP BY wait_seconds``) gives the exact
  average, median and 90th percentile: a day has at most 86,400 distinct
  values, whatever the number of tickets;
* one query per service day and hour gives the arrivals heatmap.

Definitions (docs/reports.md): wait = the call that led to the outcome -
entering the queue (the first call; a no-show called back and served counts
from the last call), service = finish - start. Percentiles interpolate
linearly between ranks, as PostgreSQL's ``percentile_cont`` and Excel's
``PERCENTILE.INC`` do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..models import Agency, Counter, Service, Ticket, TicketStatus, User

S = TicketStatus
BREAKDOWNS = ("agency", "service", "counter", "officer")
MAX_DAYS = 731  # two years: longer ranges are refused, not silently slow


@dataclass(frozen=True)
class ReportFilter:
    """Which legs a report covers: service days start..end (inclusive) and,
    when given, only these agencies, services, counters and officers."""

    start: dt.date
    end: dt.date
    agency_ids: tuple[int, ...] = ()
    service_ids: tuple[int, ...] = ()
    counter_ids: tuple[int, ...] = ()
    officer_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the end date is before the start date")
        if (self.end - self.start).days >= MAX_DAYS:
            raise ValueError(f"a report covers at most {MAX_DAYS} days")

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = [Ticket.service_day >= self.start,
                                          Ticket.service_day <= self.end]
        for column, ids in ((Ticket.agency_id, self.agency_ids), (Ticket.service_id, self.service_ids),
                            (Ticket.counter_id, self.counter_ids), (Ticket.officer_id, self.officer_ids)):
            if ids:
                out.append(column.in_(ids))
        return out


@dataclass
class Counts:
    """How the legs in a group ended (or stand), with sums for the averages."""

    legs: int = 0
    issued: int = 0  # new visitors (first legs)
    transferred_in: int = 0  # legs opened by a transfer from another service
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    expired: int = 0
    transferred: int = 0  # sent on to another service
    open: int = 0  # still waiting, called or being served
    wait_count: int = 0
    wait_sum: int = 0
    within_target: int = 0
    service_count: int = 0
    service_sum: int = 0

    FIELDS = ("legs", "issued", "transferred_in", "served", "no_show", "cancelled", "expired",
              "transferred", "open", "wait_count", "wait_sum", "within_target", "service_count",
              "service_sum")

    def add(self, other: Counts) -> None:
        for name in self.FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def avg_wait(self) -> float | None:
        return self.wait_sum / self.wait_count if self.wait_count else None

    @property
    def avg_service(self) -> float | None:
        return self.service_sum / self.service_count if self.service_count else None

    @property
    def sla_share(self) -> float | None:
        """Share of called legs whose wait was within their service's target."""
        return self.within_target / self.wait_count if self.wait_count else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in self.FIELDS}
        out.update(avg_wait_seconds=_round(self.avg_wait), avg_service_seconds=_round(self.avg_service),
                   sla_share=_round(self.sla_share, 4))
        return out


@dataclass(frozen=True)
class Distribution:
    """Average, median and 90th percentile of a duration in seconds."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mean": _round(self.mean), "median": _round(self.median),
                "p90": _round(self.p90)}


@dataclass
class Row:
    """One line of the breakdown table or of a trend."""

    key: Any
    label: str
    counts: Counts = field(default_factory=Counts)

    def as_dict(self) -> dict[str, Any]:
        key = self.key.isoformat() if isinstance(self.key, dt.date) else self.key
        return {"key": key, "label": self.label, **self.counts.as_dict()}


@dataclass
class Report:
    filter: ReportFilter
    breakdown_by: str
    totals: Counts
    wait: Distribution
    service: Distribution
    breakdown: list[Row]
    daily: list[Row]
    weekly: list[Row]
    heatmap: list[list[int]]  # [weekday 0=Monday][local hour 0..23]: arrivals

    def as_dict(self) -> dict[str, Any]:
        f = self.filter
        return {
            "filter": {"from": f.start.isoformat(), "to": f.end.isoformat(),
                       "agency": list(f.agency_ids), "service": list(f.service_ids),
                       "counter": list(f.counter_ids), "officer": list(f.officer_ids)},
            "breakdown_by": self.breakdown_by,
            "totals": self.totals.as_dict(),
            "wait": self.wait.as_dict(),
            "service": self.service.as_dict(),
            "breakdown": [row.as_dict() for row in self.breakdown],
            "daily": [row.as_dict() for row in self.daily],
            "weekly": [row.as_dict() for row in self.weekly],
            "heatmap": self.heatmap,
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# -- percentiles --------------------------------------------------------------------------------------


def percentile(histogram: Sequence[tuple[int, int]], fraction: float) -> float | None:
    """The ``fraction`` percentile of values given as sorted (value, count) pairs,
    interpolated linearly between the two nearest ranks (percentile_cont)."""
    total = sum(count for _, count in histogram)
    if total == 0:
        return None
    position = fraction * (total - 1)
    lower_rank = int(position)
    lower = _value_at(histogram, lower_rank)
    if position == lower_rank:
        return float(lower)
    upper = _value_at(histogram, lower_rank + 1)
    return lower + (position - lower_rank) * (upper - lower)


def _value_at(histogram: Sequence[tuple[int, int]], rank: int) -> int:
    """The value at 0-based ``rank`` of the sorted multiset."""
    seen = 0
    for value, count in histogram:
        seen += count
        if rank < seen:
            return value
    raise IndexError(rank)


def distribution(histogram: Sequence[tuple[int, int]]) -> Distribution:
    count = sum(c for _, c in histogram)
    if count == 0:
        return Distribution(0, None, None, None)
    mean = sum(v * c for v, c in histogram) / count
    return Distribution(count, mean, percentile(histogram, 0.5), percentile(histogram, 0.9))


def _histogram(session: Session, column: Any, report_filter: ReportFilter) -> list[tuple[int, int]]:
    rows = session.execute(
        select(column, func.count()).where(*report_filter.conditions(), column.is_not(None))
        .group_by(column).order_by(column)
    ).all()
    return [(int(value), int(count)) for value, count in rows]


# -- the cube -----------------------------------------------------------------------------------------


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _breakdown_key(by: str) -> Any:
    return {"agency": Ticket.agency_id, "service": Ticket.service_id, "counter": Ticket.counter_id,
            "officer": Ticket.officer_id}[by]


def _cube(session: Session, report_filter: ReportFilter, by: str) -> list[tuple[dt.date, Any, Counts]]:
    """Counts per service day and breakdown key, in one grouped query."""
    key = _breakdown_key(by)
    target = Service.target_wait_minutes * 60
    stmt = (
        select(
            Ticket.service_day, key, func.count(),
            _count_if(Ticket.leg == 1), _count_if(Ticket.leg > 1),
            _count_if(Ticket.status == S.DONE), _count_if(Ticket.status == S.NO_SHOW),
            _count_if(Ticket.status == S.CANCELLED), _count_if(Ticket.status == S.EXPIRED),
            _count_if(Ticket.status == S.TRANSFERRED),
            _count_if(Ticket.status.in_((S.WAITING, S.CALLED, S.SERVING))),
            func.count(Ticket.wait_seconds), func.coalesce(func.sum(Ticket.wait_seconds), 0),
            _count_if(and_(Ticket.wait_seconds.is_not(None), Ticket.wait_seconds <= target)),
            func.count(Ticket.service_seconds), func.coalesce(func.sum(Ticket.service_seconds), 0),
        )
        .join(Service, Service.id == Ticket.service_id)
        .where(*report_filter.conditions())
        .group_by(Ticket.service_day, key)
    )
    out = []
    for day, group, *numbers in session.execute(stmt):
        out.append((day, group, Counts(*(int(n or 0) for n in numbers))))
    return out


def _labels(session: Session, by: str, keys: Iterable[Any]) -> dict[Any, str]:
    ids = [k for k in keys if k is not None]
    if not ids:
        return {}
    if by == "agency":
        rows = session.execute(select(Agency.id, Agency.code, Agency.name).where(Agency.id.in_(ids)))
        return {i: f"{code} - {name}" for i, code, name in rows}
    if by == "service":
        rows = session.execute(select(Service.id, Agency.code, Service.code, Service.name)
                               .join(Agency, Agency.id == Service.agency_id).where(Service.id.in_(ids)))
        return {i: f"{agency}/{code} - {name}" for i, agency, code, name in rows}
    if by == "counter":
        rows = session.execute(select(Counter.id, Counter.name).where(Counter.id.in_(ids)))
        return dict(rows.tuples())
    rows = session.execute(select(User.id, User.username, User.name).where(User.id.in_(ids)))
    return {i: f"{name or username} ({username})" for i, username, name in rows}


# -- heatmap ------------------------------------------------------------------------------------------


def _utc_hour(session: Session) -> Any:
    """The UTC hour of issue. SQLite keeps datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text:
    cutting the hour out is several times faster than strftime on a year of tickets."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.substr(Ticket.issued_at, 12, 2), Integer)
    return cast(func.extract("hour", Ticket.issued_at), Integer)


def _heatmap(session: Session, report_filter: ReportFilter, timezone: str) -> list[list[int]]:
    """Arrivals (new visitors) per local weekday and hour of issue."""
    hour = _utc_hour(session)
    rows = session.execute(
        select(Ticket.service_day, hour, func.count())
        .where(*report_filter.conditions(), Ticket.leg == literal(1))
        .group_by(Ticket.service_day, hour)
    ).all()
    zone = ZoneInfo(timezone)
    grid = [[0] * 24 for _ in range(7)]
    for day, utc_hour, count in rows:
        offset = _utc_offset_hours(day, zone)
        local_hour = (int(utc_hour) + offset) % 24
        grid[day.weekday()][local_hour] += int(count)
    return grid


def _utc_offset_hours(day: dt.date, zone: ZoneInfo) -> int:
    """The zone's whole-hour offset at noon of ``day`` (Indonesian zones have no DST)."""
    offset = dt.datetime.combine(day, dt.time(12), zone).utcoffset() or dt.timedelta()
    return int(offset.total_seconds() // 3600)


# -- the report ---------------------------------------------------------------------------------------


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def default_breakdown(report_filter: ReportFilter) -> str:
    """Agencies for the whole MPP; services once one agency is chosen."""
    return "service" if len(report_filter.agency_ids) == 1 or report_filter.service_ids else "agency"


def build(session: Session, report_filter: ReportFilter, timezone: str, by: str | None = None) -> Report:
    """The whole report for ``report_filter``; ``by`` picks the breakdown table's rows."""
    by = by or default_breakdown(report_filter)
    if by not in BREAKDOWNS:
        raise ValueError(f"breakdown must be one of {', '.join(BREAKDOWNS)}")
    cube = _cube(session, report_filter, by)
    totals = Counts()
    groups: dict[Any, Counts] = {}
    days: dict[dt.date, Counts] = {}
    for day, group, counts in cube:
        totals.add(counts)
        groups.setdefault(group, Counts()).add(counts)
        days.setdefault(day, Counts()).add(counts)
    labels = _labels(session, by, groups)
    breakdown = [Row(key, labels.get(key, "-"), counts)
                 for key, counts in sorted(groups.items(), key=lambda kv: labels.get(kv[0], "~"))]
    daily, weekly = _trends(report_filter, days)
    return Report(
        filter=report_filter, breakdown_by=by, totals=totals,
        wait=distribution(_histogram(session, Ticket.wait_seconds, report_filter)),
        service=distribution(_histogram(session, Ticket.service_seconds, report_filter)),
        breakdown=breakdown, daily=daily, weekly=weekly,
        heatmap=_heatmap(session, report_filter, timezone),
    )


def _trends(report_filter: ReportFilter, days: dict[dt.date, Counts]) -> tuple[list[Row], list[Row]]:
    """Every day and every week of the range, zero where nothing happened
    (a gap in a chart must read as "no visitors", not be skipped)."""
    daily, weeks = [], {}
    day = report_filter.start
    while day <= report_filter.end:
        counts = days.get(day, Counts())
        daily.append(Row(day, day.isoformat(), counts))
        monday = week_start(day)
        if monday not in weeks:
            iso = monday.isocalendar()
            weeks[monday] = Row(monday, f"{iso.year}-W{iso.week:02d}")
        weeks[monday].counts.add(counts)
        day += dt.timedelta(days=1)
    return daily, list(weeks.values())
