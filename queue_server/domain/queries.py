"""Read-side questions about the queue: order, counts, quota, estimates.

Counts are grouped SQL queries so a 40-agency, 1,000-service site answers its
kiosk list in a few statements rather than one per service.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from sqlalchemy import Select, and_, case, func, or_, select
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


def ahead_of(session: Session, ticket: Ticket, priority_mode: str) -> int:
    """How many waiting tickets of the same service will be called before this one.

    Exact for one service under "strict" (all waiting priority tickets go
    first); under "ratio" priority tickets only partly overtake, so the count
    of earlier arrivals is used: an honest middle that never promises too much.
    """
    earlier = or_(
        Ticket.arrived_at < ticket.arrived_at,
        and_(Ticket.arrived_at == ticket.arrived_at, Ticket.id < ticket.id),
    )
    same_queue = and_(
        Ticket.service_id == ticket.service_id,
        Ticket.status == TicketStatus.WAITING,
        Ticket.service_day == ticket.service_day,
        Ticket.id != ticket.id,
    )
    if priority_mode == "strict":
        is_priority = Ticket.priority != Priority.NONE
        # A priority ticket waits only for earlier priority tickets; a normal
        # one waits for every priority ticket and for earlier normal ones.
        before = and_(is_priority, earlier) if ticket.is_priority else or_(is_priority, earlier)
    else:
        before = earlier
    return session.execute(select(func.count()).where(same_queue, before)).scalar_one()


def average_service_minutes(session: Session, service: Service, now: dt.datetime) -> float:
    """Mean of the last finished service times, falling back to the configured seed."""
    recent = (
        select(Ticket.service_seconds)
        .where(
            Ticket.service_id == service.id,
            Ticket.status == TicketStatus.DONE,
            Ticket.service_seconds.is_not(None),
            Ticket.finished_at >= now - dt.timedelta(days=ESTIMATE_LOOKBACK_DAYS),
        )
        .order_by(Ticket.finished_at.desc())
        .limit(ESTIMATE_WINDOW)
        .subquery()
    )
    avg, n = session.execute(select(func.avg(recent.c.service_seconds), func.count())).one()
    if not n:
        return float(service.avg_service_minutes)
    # Blend with the seed while few samples exist, so one odd visit cannot swing it.
    weight = n / ESTIMATE_WINDOW
    return weight * (float(avg) / 60) + (1 - weight) * float(service.avg_service_minutes)


def serving_counters(session: Session, service_id: int) -> tuple[int, int]:
    """(open counters, configured counters) that serve the service."""
    open_, total = session.execute(
        select(
            func.count(case((Counter.state == CounterState.OPEN, 1))),
            func.count(),
        )
        .select_from(counter_services)
        .join(Counter, Counter.id == counter_services.c.counter_id)
        .where(counter_services.c.service_id == service_id)
    ).one()
    return int(open_), int(total)


def estimated_wait_minutes(
    session: Session, service: Service, ahead: int, now: dt.datetime
) -> int:
    """ahead x average service time / counters working on it, rounded up.

    Before any counter has opened, the configured counters are assumed to open.
    """
    open_, total = serving_counters(session, service.id)
    servers = open_ or total or 1
    return math.ceil(ahead * average_service_minutes(session, service, now) / servers)


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
