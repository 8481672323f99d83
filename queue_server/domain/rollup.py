"""Per-day roll-up of closed service days, so a report over a year reads a few
hundred rows a day instead of every leg.

A service day is *closed* once it is before the site's today and none of its
legs is still waiting, called or being served (the end-of-day expiry has run).
From then on its legs never change, so their counts per agency, service,
counter and officer, plus new visitors per local hour of arrival, can be
summed once into ``report_rollup`` and ``report_days`` records that it was
done. Reports read today and any day not yet closed from the tickets
themselves (see :func:`queue_server.domain.reports.build`).

Days are rolled lazily, the first time a report covers them, one short write
transaction per day (on SQLite a long one would hold up the kiosks);
``antrian rollup`` does the same ahead of time, e.g. after importing a year of
history. The share within target uses the service's target wait when the day
was rolled; ``antrian rollup --rebuild`` recomputes past days after a target
changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, delete, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..database import begin_write
from ..models import ROLLUP_COUNTS, ROLLUP_HOURS, Service, Ticket, TicketStatus, report_days, report_rollup

S = TicketStatus
GROUP_COLUMNS = ("agency_id", "service_id", "counter_id", "officer_id")
# Levels of detail: the columns each keeps (the rest are empty).
AGENCY_LEVEL, SERVICE_LEVEL, DESK_LEVEL = 0, 1, 2
LEVEL_COLUMNS = {AGENCY_LEVEL: GROUP_COLUMNS[:1], SERVICE_LEVEL: GROUP_COLUMNS[:2], DESK_LEVEL: GROUP_COLUMNS}


def level_for(by: str, service_ids: Sequence[int], counter_ids: Sequence[int],
              officer_ids: Sequence[int]) -> int:
    """The coarsest level that still holds the breakdown key and the filter's columns:
    a year of a whole MPP per agency reads 40 rows a day, not 700."""
    if counter_ids or officer_ids or by in ("counter", "officer"):
        return DESK_LEVEL
    if service_ids or by == "service":
        return SERVICE_LEVEL
    return AGENCY_LEVEL


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def leg_count_columns() -> list[Any]:
    """SQL aggregates over tickets joined to services, in ``ROLLUP_COUNTS`` order."""
    target = Service.target_wait_minutes * 60
    return [
        func.count(),
        _count_if(Ticket.leg == 1), _count_if(Ticket.leg > 1),
        _count_if(Ticket.status == S.DONE), _count_if(Ticket.status == S.NO_SHOW),
        _count_if(Ticket.status == S.CANCELLED), _count_if(Ticket.status == S.EXPIRED),
        _count_if(Ticket.status == S.TRANSFERRED),
        _count_if(Ticket.status.in_((S.WAITING, S.CALLED, S.SERVING))),
        func.count(Ticket.wait_seconds), func.coalesce(func.sum(Ticket.wait_seconds), 0),
        _count_if(and_(Ticket.wait_seconds.is_not(None), Ticket.wait_seconds <= target)),
        func.count(Ticket.service_seconds), func.coalesce(func.sum(Ticket.service_seconds), 0),
    ]


def utc_hour(session: Session) -> Any:
    """The UTC hour of issue. SQLite keeps datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text:
    cutting the hour out is several times faster than strftime on a year of tickets."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.substr(Ticket.issued_at, 12, 2), Integer)
    return cast(func.extract("hour", Ticket.issued_at), Integer)


def utc_offset_hours(day: dt.date, zone: ZoneInfo) -> int:
    """The zone's whole-hour offset at noon of ``day`` (Indonesian zones have no DST)."""
    offset = dt.datetime.combine(day, dt.time(12), zone).utcoffset() or dt.timedelta()
    return int(offset.total_seconds() // 3600)


def rolled_days(session: Session, start: dt.date, end: dt.date) -> set[dt.date]:
    column = report_days.c.service_day
    return set(session.execute(select(column).where(column >= start, column <= end)).scalars())


def is_closed(session: Session, day: dt.date) -> bool:
    """No leg of ``day`` is still waiting, called or being served."""
    return session.execute(
        select(Ticket.id).where(Ticket.service_day == day,
                                Ticket.status.in_((S.WAITING, S.CALLED, S.SERVING))).limit(1)
    ).first() is None


def _arrival_columns(session: Session, day: dt.date, timezone: str) -> list[Any]:
    """New visitors per local hour of issue, as 24 SQL sums (the zone's offset of
    ``day`` turns a local hour into the UTC hour stored)."""
    offset = utc_offset_hours(day, ZoneInfo(timezone))
    hour = utc_hour(session)
    return [_count_if(and_(Ticket.leg == 1, hour == (local - offset) % 24)) for local in range(24)]


def _insert_desks(session: Session, day: dt.date, timezone: str) -> None:
    """DESK_LEVEL rows of ``day``, summed by the database from the legs."""
    keys = [getattr(Ticket, name) for name in GROUP_COLUMNS]
    rows = (
        select(literal(DESK_LEVEL), Ticket.service_day, *keys, *leg_count_columns(),
               *_arrival_columns(session, day, timezone))
        .join(Service, Service.id == Ticket.service_id)
        .where(Ticket.service_day == day)
        .group_by(Ticket.service_day, *keys)
    )
    names = ["level", "service_day", *GROUP_COLUMNS, *ROLLUP_COUNTS, *ROLLUP_HOURS]
    session.execute(insert(report_rollup).from_select(names, rows))


def _insert_level(session: Session, day: dt.date, level: int) -> None:
    """The rows of a coarser ``level``: sums of the DESK_LEVEL rows of ``day``."""
    table = report_rollup.c
    kept = [getattr(table, name) for name in LEVEL_COLUMNS[level]]
    rows = (
        select(literal(level), table.service_day, *kept,
               *(func.sum(getattr(table, name)) for name in ROLLUP_COUNTS + ROLLUP_HOURS))
        .where(table.level == DESK_LEVEL, table.service_day == day)
        .group_by(table.service_day, *kept)
    )
    names = ["level", "service_day", *LEVEL_COLUMNS[level], *ROLLUP_COUNTS, *ROLLUP_HOURS]
    session.execute(insert(report_rollup).from_select(names, rows))


def roll_up_day(session: Session, day: dt.date, timezone: str, now: dt.datetime) -> bool:
    """Roll ``day`` up in a transaction of its own; False while it is not closed.

    The database sums a day's legs itself (INSERT ... SELECT): a few
    milliseconds of write lock for a day of a big MPP. Two reports rolling the
    same day at once: the second one finds the day done (SQLite, serialised
    writers) or hits the primary key of report_days (PostgreSQL) and leaves the
    first one's rows.
    """
    begin_write(session)
    done = select(report_days.c.service_day).where(report_days.c.service_day == day)
    if session.execute(done).first():
        session.commit()
        return True
    if not is_closed(session, day):
        session.rollback()
        return False
    try:
        session.execute(insert(report_days).values(service_day=day, rolled_at=now))
        _insert_desks(session, day, timezone)
        _insert_level(session, day, SERVICE_LEVEL)
        _insert_level(session, day, AGENCY_LEVEL)
        session.commit()
    except IntegrityError:
        session.rollback()
    return True


def ensure(session: Session, start: dt.date, end: dt.date, today: dt.date, timezone: str,
           now: dt.datetime) -> set[dt.date]:
    """Roll up every closed day of start..end not yet rolled; returns the rolled days
    of the range (days before the first ticket count as rolled: they hold nothing)."""
    last = min(end, today - dt.timedelta(days=1))
    if last < start:
        return set()
    done = rolled_days(session, start, last)
    first_ticket = session.execute(select(func.min(Ticket.service_day))).scalar()
    day = start
    while day <= last:
        if day not in done and first_ticket is not None and day >= first_ticket:
            if roll_up_day(session, day, timezone, now):
                done.add(day)
        elif day not in done:
            done.add(day)  # nothing was ever issued that early (or at all)
        day += dt.timedelta(days=1)
    return done


def discard(session: Session, days: Iterable[dt.date] | None = None) -> int:
    """Forget the roll-up of ``days`` (all days when None); the next report or
    ``antrian rollup`` rolls them again. Returns how many days were forgotten."""
    begin_write(session)
    rows, marks = delete(report_rollup), delete(report_days)
    if days is not None:
        chosen = list(days)
        rows = rows.where(report_rollup.c.service_day.in_(chosen))
        marks = marks.where(report_days.c.service_day.in_(chosen))
    session.execute(rows)
    count = session.execute(marks).rowcount or 0
    session.commit()
    return count


def ensure_all(session: Session, today: dt.date, timezone: str, now: dt.datetime
               ) -> tuple[int, list[dt.date]]:
    """Roll up every closed day from the first ticket to the last; returns how many
    days are rolled up now and the past days still open (unfinished legs: the
    end-of-day expiry has not run for them yet)."""
    first, last = session.execute(select(func.min(Ticket.service_day), func.max(Ticket.service_day))).one()
    session.rollback()
    if first is None:
        return 0, []
    done = ensure(session, first, last, today, timezone, now)
    pending, day = [], first
    while day <= min(last, today - dt.timedelta(days=1)):
        if day not in done:
            pending.append(day)
        day += dt.timedelta(days=1)
    return len(done), pending
