"""Report figures for a period and a filter, aggregated in SQL.

Every figure comes from grouped queries, never from loading tickets into
Python, so a year of a large MPP stays fast:

* counts, wait and service sums and SLA counts per service day and breakdown
  key ("the cube"): closed days from the per-day roll-up
  (:mod:`~queue_server.domain.rollup`, with the arrivals per hour), today and
  unclosed days from the ticket legs (one row per queue a visitor stood in;
  see :class:`~queue_server.models.Ticket`); totals, breakdown table, daily
  and weekly trends are sums of its rows;
* one histogram query per duration (``GROUP BY wait_seconds``, read along an
  index in that order) gives the exact average, median and 90th percentile;
* arrivals per weekday and hour (the heatmap) come with the roll-up, and from
  one more grouped query for the days read live.

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

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..models import ROLLUP_COUNTS, ROLLUP_HOURS, Agency, Counter, Service, Ticket, User, report_rollup
from . import rollup

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

    def conditions(self, table: Any = Ticket, days: Sequence[dt.date] | None = None
                   ) -> list[ColumnElement[bool]]:
        """WHERE clauses on ``table`` (tickets or the roll-up: same column names),
        for the whole range or, when given, only ``days`` of it."""
        if days is None:
            out: list[ColumnElement[bool]] = [table.service_day >= self.start, table.service_day <= self.end]
        else:
            out = [table.service_day.in_(days)]
        for name, ids in (("agency_id", self.agency_ids), ("service_id", self.service_ids),
                          ("counter_id", self.counter_ids), ("officer_id", self.officer_ids)):
            if ids:
                out.append(getattr(table, name).in_(ids))
        return out

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]


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

    FIELDS = ROLLUP_COUNTS

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

Cube = list[tuple[dt.date, Any, Counts]]


def _live_cube(session: Session, report_filter: ReportFilter, by: str,
               days: Sequence[dt.date] | None) -> Cube:
    """Counts per service day and breakdown key from the tickets of ``days``."""
    key = getattr(Ticket, f"{by}_id")
    stmt = (
        select(Ticket.service_day, key, *rollup.leg_count_columns())
        .join(Service, Service.id == Ticket.service_id)
        .where(*report_filter.conditions(Ticket, days))
        .group_by(Ticket.service_day, key)
    )
    return [(day, group, Counts(*(int(n or 0) for n in numbers)))
            for day, group, *numbers in session.execute(stmt)]


def _rolled_cube(session: Session, report_filter: ReportFilter, by: str,
                 heatmap: list[list[int]]) -> Cube:
    """Counts per service day and breakdown key from the roll-up, and its arrivals
    added to ``heatmap``: in one pass when the breakdown needs no finer level than
    the filter, else the arrivals from the coarser level the filter alone needs
    (a year per officer sums 14 columns of the finest level, not 38)."""
    table = report_rollup.c
    f = report_filter
    level = rollup.level_for(by, f.service_ids, f.counter_ids, f.officer_ids)
    heat_level = rollup.level_for("agency", f.service_ids, f.counter_ids, f.officer_ids)
    names = ROLLUP_COUNTS + (ROLLUP_HOURS if heat_level == level else ())
    key = getattr(table, f"{by}_id")
    stmt = (select(table.service_day, key, *(func.sum(getattr(table, n)) for n in names))
            .where(table.level == level, *f.conditions(table))
            .group_by(table.service_day, key))
    out = []
    width = len(ROLLUP_COUNTS)
    for day, group, *numbers in session.execute(stmt):
        out.append((day, group, Counts(*(int(n or 0) for n in numbers[:width]))))
        _add_arrivals(heatmap, day, numbers[width:])
    if heat_level != level:
        arrivals = (select(table.service_day, *(func.sum(getattr(table, n)) for n in ROLLUP_HOURS))
                    .where(table.level == heat_level, *f.conditions(table)).group_by(table.service_day))
        for day, *numbers in session.execute(arrivals):
            _add_arrivals(heatmap, day, numbers)
    return out


def _add_arrivals(heatmap: list[list[int]], day: dt.date, hours: Sequence[Any]) -> None:
    row = heatmap[day.weekday()]
    for hour, arrivals in enumerate(hours):
        row[hour] += int(arrivals or 0)


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
        return {i: name for i, name in rows}
    rows = session.execute(select(User.id, User.username, User.name).where(User.id.in_(ids)))
    return {i: f"{name or username} ({username})" for i, username, name in rows}


# -- heatmap ------------------------------------------------------------------------------------------


def _add_live_arrivals(session: Session, report_filter: ReportFilter, timezone: str,
                       days: Sequence[dt.date] | None, grid: list[list[int]]) -> None:
    """Adds arrivals (new visitors) per local weekday and hour of issue on ``days`` to ``grid``."""
    hour = rollup.utc_hour(session)
    rows = session.execute(
        select(Ticket.service_day, hour, func.count())
        .where(*report_filter.conditions(Ticket, days), Ticket.leg == literal(1))
        .group_by(Ticket.service_day, hour)
    ).all()
    zone = ZoneInfo(timezone)
    for day, utc_hour, count in rows:
        local_hour = (int(utc_hour) + rollup.utc_offset_hours(day, zone)) % 24
        grid[day.weekday()][local_hour] += int(count)


# -- the report ---------------------------------------------------------------------------------------


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def default_breakdown(report_filter: ReportFilter) -> str:
    """Agencies for the whole MPP; services once one agency is chosen."""
    return "service" if len(report_filter.agency_ids) == 1 or report_filter.service_ids else "agency"


def build(session: Session, report_filter: ReportFilter, timezone: str, by: str | None = None,
          today: dt.date | None = None, now: dt.datetime | None = None) -> Report:
    """The whole report for ``report_filter``; ``by`` picks the breakdown table's rows.

    With ``today`` (and ``now``, stamped on new roll-ups) closed days come from
    the roll-up, rolled first where missing; without it every day is read from
    the tickets (same figures, slower on long ranges).
    """
    by = by or default_breakdown(report_filter)
    if by not in BREAKDOWNS:
        raise ValueError(f"breakdown must be one of {', '.join(BREAKDOWNS)}")
    rolled: set[dt.date] = set()
    if today is not None:
        rolled = rollup.ensure(session, report_filter.start, report_filter.end, today, timezone,
                               now or dt.datetime.now(dt.UTC))
    live_days = None if not rolled else [d for d in report_filter.days() if d not in rolled]
    heatmap = [[0] * 24 for _ in range(7)]
    cube: Cube = []
    if rolled:
        cube += _rolled_cube(session, report_filter, by, heatmap)
    if live_days is None or live_days:
        cube += _live_cube(session, report_filter, by, live_days)
        _add_live_arrivals(session, report_filter, timezone, live_days, heatmap)
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
        breakdown=breakdown, daily=daily, weekly=weekly, heatmap=heatmap,
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
