"""Read-side questions about the queue: order, counts, quota, estimates.

Counts are grouped SQL queries so a 40-agency, 1,000-service site answers its
kiosk list in a few statements rather than one per service.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from ..models import (
    Counter,
    CounterState,
    Priority,
    Service,
    Ticket,
    TicketStatus,
    counter_services,
)

ESTIMATE_WINDOW = 20  # recent finished legs used for the average service time
ESTIMATE_LOOKBACK_DAYS = 7


def _columns(session: Session, stmt: Select[Any], params: dict[str, Any]) -> Any:
    """Run a read of plain columns on the session's connection, past the ORM.

    Every issue and call runs these; the ORM's result handling and its autoflush
    cost more than SQLite's answer. Without autoflush the read sees what the
    session has flushed: callers flush first what it must count (issuing flushes
    the new ticket before asking its place)."""
    return session.connection().execute(stmt, params)


def waiting_tickets(service_ids: Iterable[int], day: dt.date) -> Select[tuple[Ticket]]:
    return select(Ticket).where(
        Ticket.service_id.in_(list(service_ids)),
        Ticket.status == TicketStatus.WAITING,
        Ticket.service_day == day,
    )


def fifo(stmt: Select[tuple[Ticket]]) -> Select[tuple[Ticket]]:
    return stmt.order_by(Ticket.arrived_at, Ticket.id)


def waiting_counts(session: Session, day: dt.date, by: str = "service") -> dict[int, int]:
    """Waiting tickets today, keyed by service id (or agency id with by="agency")."""
    key = Ticket.agency_id if by == "agency" else Ticket.service_id
    rows = session.execute(
        select(key, func.count())
        .where(Ticket.status == TicketStatus.WAITING, Ticket.service_day == day)
        .group_by(key)
    )
    return {sid: n for sid, n in rows}


_AGENCY_WAITING = (  # built once: it runs on every issue and every call
    select(Ticket.agency_id, Ticket.service_id, func.count())
    .where(Ticket.agency_id.in_(bindparam("agency_ids", expanding=True)),
           Ticket.service_day == bindparam("day"), Ticket.status == TicketStatus.WAITING)
    .group_by(Ticket.agency_id, Ticket.service_id)
)


def agency_waiting(session: Session, day: dt.date, agency_ids: Iterable[int],
                   also: Iterable[tuple[int, int]] = ()) -> dict[int, dict[int, int]]:
    """Per agency, its services with tickets waiting today and how many, plus the
    ``also`` (agency id, service id) pairs with 0 when none of theirs waits.

    Read along ix_tickets_agency_waiting: only these agencies' waiting tickets,
    never the day's other legs, so it stays cheap on every issue however busy
    the day. ``also`` names the services an event touched, whose count may have
    dropped to 0 (clients keep a count until they are told another).
    """
    out: dict[int, dict[int, int]] = {}
    for agency_id, service_id in also:
        out.setdefault(agency_id, {})[service_id] = 0
    for agency_id, service_id, waiting in _columns(
            session, _AGENCY_WAITING, {"agency_ids": sorted(agency_ids), "day": day}):
        out.setdefault(agency_id, {})[service_id] = int(waiting)
    return {agency_id: dict(sorted(services.items())) for agency_id, services in out.items()}


def agency_services(session: Session, agency_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(agency id, service id) of every service of these agencies."""
    return [(a, s) for a, s in session.execute(
        select(Service.agency_id, Service.id).where(Service.agency_id.in_(sorted(agency_ids))))]


def issued_counts(session: Session, day: dt.date) -> dict[int, int]:
    """Tickets issued today per service (first legs only: transfers use no quota)."""
    rows = session.execute(
        select(Ticket.service_id, func.count())
        .where(Ticket.service_day == day, Ticket.leg == 1)
        .group_by(Ticket.service_id)
    )
    return {sid: n for sid, n in rows}


def issued_count(session: Session, service_id: int, day: dt.date) -> int:
    return session.execute(
        select(func.count()).where(
            Ticket.service_id == service_id, Ticket.service_day == day, Ticket.leg == 1
        )
    ).scalar_one()


def quota_left(service: Service, issued: int) -> int | None:
    """None means unlimited."""
    if not service.daily_quota:
        return None
    return max(0, service.daily_quota - issued)


def _blend(avg_seconds: float | None, n: int, service: Service) -> float:
    """Average minutes from ``n`` recent samples, falling back to the configured seed."""
    if not n:
        return float(service.avg_service_minutes)
    # Blend with the seed while few samples exist, so one odd visit cannot swing it.
    weight = n / ESTIMATE_WINDOW
    return weight * (float(avg_seconds) / 60) + (1 - weight) * float(service.avg_service_minutes)


def _serving_counters_stmt(service_id: BindParameter[int], only_open: bool) -> Select[tuple[int]]:
    counted = func.count(case((Counter.state == CounterState.OPEN, 1))) if only_open else func.count()
    return (select(counted).select_from(counter_services)
            .join(Counter, Counter.id == counter_services.c.counter_id)
            .where(counter_services.c.service_id == service_id))


def _estimate_inputs(service_id: BindParameter[int]) -> list[Any]:
    """Open counters, configured counters, and the recent service times' mean and
    count, as scalar subqueries: what an estimate needs besides the place."""
    recent = (
        select(Ticket.service_seconds)
        .where(Ticket.service_id == service_id, Ticket.status == TicketStatus.DONE,
               Ticket.service_seconds.is_not(None), Ticket.finished_at >= bindparam("since"))
        .order_by(Ticket.finished_at.desc())
        .limit(ESTIMATE_WINDOW)
        .subquery()
    )
    return [_serving_counters_stmt(service_id, True).scalar_subquery(),
            _serving_counters_stmt(service_id, False).scalar_subquery(),
            select(func.avg(recent.c.service_seconds)).scalar_subquery(),
            select(func.count()).select_from(recent).scalar_subquery()]


@functools.cache
def _position_stmt(rule: str) -> Select[tuple[int, int, int, float | None, int]]:
    """Everything an estimate needs in one statement, built once per rule
    ("earlier", "strict-priority", "strict-normal") with bound parameters:
    the place and the estimate's inputs as scalar subqueries."""
    ticket_id, arrived_at = bindparam("ticket_id"), bindparam("arrived_at")
    service_id = bindparam("service_id")
    earlier = or_(Ticket.arrived_at < arrived_at,
                  and_(Ticket.arrived_at == arrived_at, Ticket.id < ticket_id))
    is_priority = Ticket.priority != Priority.NONE
    before = {"earlier": earlier, "strict-priority": and_(is_priority, earlier),
              "strict-normal": or_(is_priority, earlier)}[rule]
    ahead = select(func.count()).select_from(Ticket).where(
        Ticket.service_id == service_id, Ticket.status == TicketStatus.WAITING,
        Ticket.service_day == bindparam("day"), Ticket.id != ticket_id, before)
    return select(ahead.scalar_subquery(), *_estimate_inputs(service_id))


def wait_minutes(ahead: int, minutes: float, counters: int) -> int:
    """The estimate shown to a visitor: places ahead x minutes a visit / counters, up.

    The visitor page computes the same from a ``queue.moved`` event's ``minutes``
    and ``counters`` (Math.ceil of the same double arithmetic).
    """
    return math.ceil(ahead * minutes / counters)


def position_and_wait(session: Session, ticket: Ticket, priority_mode: str,
                      now: dt.datetime) -> tuple[int, int]:
    """(ahead, estimated minutes) of a waiting ticket, in one round trip (every
    issue and every status page asks).

    Ahead: the waiting tickets of the same service called before this one.
    Exact under "strict" (every waiting priority ticket goes first); under
    "ratio" priority tickets only partly overtake, so earlier arrivals are
    counted: an honest middle that never promises too much. The estimate:
    ahead x the average service time (recent visits blended with the
    configured seed) / the open counters serving it, or, before any opened,
    the configured ones; rounded up."""
    if priority_mode == "strict":
        rule = "strict-priority" if ticket.is_priority else "strict-normal"
    else:
        rule = "earlier"
    ahead, open_, total, avg, n = _columns(session, _position_stmt(rule), {
        "ticket_id": ticket.id, "arrived_at": ticket.arrived_at, "service_id": ticket.service_id,
        "day": ticket.service_day, "since": now - dt.timedelta(days=ESTIMATE_LOOKBACK_DAYS),
    }).one()
    minutes = _blend(avg, n, ticket.service)
    return int(ahead), wait_minutes(int(ahead), minutes, open_ or total or 1)


LINE_LIMIT = 300  # places sent with queue.moved; visitors further back ask the server


@dataclass(frozen=True)
class WaitingLine:
    """A service's waiting tickets in the order they are called, and the inputs of
    the estimate, so every visitor can read their own place and wait from it."""

    service_id: int
    ticket_ids: list[int]  # first = next to be called; at most LINE_LIMIT
    complete: bool  # False: more tickets wait behind the last listed
    minutes: float  # average minutes a visit (recent service times blended with the seed)
    counters: int  # counters that divide the line (open ones, else configured ones, else 1)


@functools.cache
def _line_stmt(strict: bool) -> Select[tuple[int]]:
    # The order position_and_wait counts in: earlier arrival first (ties by id); in strict
    # mode every priority ticket before every normal one.
    order = [Ticket.arrived_at, Ticket.id]
    if strict:
        order.insert(0, case((Ticket.priority == Priority.NONE, 1), else_=0))
    return (select(Ticket.id)
            .where(Ticket.service_id == bindparam("service_id"), Ticket.status == TicketStatus.WAITING,
                   Ticket.service_day == bindparam("day"))
            .order_by(*order).limit(LINE_LIMIT + 1))


@functools.cache
def _line_inputs_stmt() -> Select[tuple[int, int, float | None, int]]:
    return select(*_estimate_inputs(bindparam("service_id")))


def waiting_line(session: Session, service: Service, day: dt.date, priority_mode: str,
                 now: dt.datetime) -> WaitingLine:
    """The line of ``service`` on ``day``, in two statements however long it is."""
    ids = list(_columns(session, _line_stmt(priority_mode == "strict"),
                        {"service_id": service.id, "day": day}).scalars())
    open_, total, avg, n = _columns(session, _line_inputs_stmt(), {
        "service_id": service.id, "since": now - dt.timedelta(days=ESTIMATE_LOOKBACK_DAYS),
    }).one()
    return WaitingLine(service.id, ids[:LINE_LIMIT], len(ids) <= LINE_LIMIT,
                       _blend(avg, n, service), int(open_ or total or 1))


def officer_day(session: Session, officer_id: int, day: dt.date) -> dict[str, int | None]:
    """An officer's own figures for one service day, in one grouped query:
    legs called by them that ended done, no-show or transferred, and the
    average wait and service time of the ones they served."""
    is_done = Ticket.status == TicketStatus.DONE
    row = session.execute(
        select(
            func.count(case((is_done, 1))),
            func.count(case((Ticket.status == TicketStatus.NO_SHOW, 1))),
            func.count(case((Ticket.status == TicketStatus.TRANSFERRED, 1))),
            func.avg(case((is_done, Ticket.service_seconds))),
            func.avg(case((is_done, Ticket.wait_seconds))),
        ).where(Ticket.officer_id == officer_id, Ticket.service_day == day)
    ).one()
    served, no_show, transferred, service, wait = row
    return {
        "served": int(served),
        "no_show": int(no_show),
        "transferred": int(transferred),
        "average_service_seconds": None if service is None else round(float(service)),
        "average_wait_seconds": None if wait is None else round(float(wait)),
    }
