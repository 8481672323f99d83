"""Read models shared by the REST API and Socket.IO snapshots.

Each function answers one screen's question with a handful of grouped
queries, then shapes the answer with :mod:`presenters`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .domain import hours, queries, survey
from .domain.announce import announcement
from .domain.clock import Clock, local_now
from .domain.site import get_site
from .models import Agency, Counter, Ticket, TicketEvent, TicketStatus
from .presenters import agency_entry, counter_brief, iso, localized, service_entry, ticket_public


def agencies_status(
    session: Session, clock: Clock, lang: str, only: Collection[int] | None = None
) -> list[dict[str, Any]]:
    """Agencies with services, open/closed with reason, waiting counts and quota left."""
    site = get_site(session)
    local = local_now(clock, site.timezone)
    day = local.date()
    waiting = queries.waiting_counts(session, day)
    issued = queries.issued_counts(session, day)
    closed = set(site.closed_dates or [])
    stmt = select(Agency).options(selectinload(Agency.services)).order_by(Agency.code)
    if only is not None:
        stmt = stmt.where(Agency.id.in_(list(only)))
    out = []
    for agency in session.execute(stmt).scalars():
        state = hours.evaluate(agency.hours, local, closed)
        if not agency.active:
            state = hours.OpenState(False, False, hours.OpenReason.INACTIVE)
        services = [
            service_entry(s, waiting.get(s.id, 0), queries.quota_left(s, issued.get(s.id, 0)), lang)
            for s in agency.services
        ]
        out.append(agency_entry(agency, state, services, lang))
    return out


def ticket_status(session: Session, clock: Clock, ticket: Ticket, lang: str,
                  position: tuple[int, int] | None = None) -> dict[str, Any]:
    """A visitor's view of their ticket: state, place in line and estimate while waiting.

    ``position`` is (ahead, estimated minutes) when the caller computed them in
    the transaction that just committed (issuing), so they are not read twice.
    """
    body = ticket_public(ticket, lang)
    ahead = estimate = None
    if ticket.status == TicketStatus.WAITING:
        if position is not None:
            ahead, estimate = position
        else:
            ahead, estimate = queries.position_and_wait(session, ticket,
                                                        get_site(session).priority_mode, clock.now())
    body.update(
        id=ticket.id,  # this leg's id: how queue.moved's line lists it
        ahead=ahead,
        position=None if ahead is None else ahead + 1,  # 1 = next to be called
        estimated_wait_minutes=estimate,
        transferred=ticket.leg > 1,
        # The satisfaction survey: "open" once the visit is done, "answered" after it.
        survey=(("answered" if survey.answered(session, ticket.token) else "open")
                if ticket.status == TicketStatus.DONE else None),
    )
    return body


def waiting_by_agency(session: Session, clock: Clock) -> dict[int, int]:
    site = get_site(session)
    return queries.waiting_counts(session, local_now(clock, site.timezone).date(), by="agency")


def call_entry(ticket: Ticket, counter: Counter | None, kind: str, at: Any, lang: str,
               recall: int = 0, call_id: int | None = None) -> dict[str, Any]:
    """A call as a display shows and announces it. ``call_id`` (the call's
    event id) lets a display that reconnects tell new calls from known ones."""
    return {
        "call_id": call_id,
        "announcement": announcement(ticket.number, counter.number if counter else None),
        "ticket_id": ticket.id,
        "number": ticket.number,
        "kind": kind,
        "recall": recall,
        "at": iso(at),
        "counter": counter_brief(counter),
        "agency": {"id": ticket.agency_id, "code": ticket.agency.code,
                   "name": localized(ticket.agency, lang)},
        "service": {"id": ticket.service_id, "name": localized(ticket.service, lang)},
        "zone": counter.zone if counter else "",
    }


def recent_calls(session: Session, clock: Clock, agency_ids: Collection[int] | None,
                 lang: str, limit: int = 10) -> list[dict[str, Any]]:
    """Today's latest calls (and recalls), newest first, for a display snapshot."""
    site = get_site(session)
    day = local_now(clock, site.timezone).date()
    stmt = (
        select(TicketEvent, Ticket)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.kind.in_(("called", "recalled")), Ticket.service_day == day)
        .order_by(TicketEvent.at.desc(), TicketEvent.id.desc())
        .limit(limit)
    )
    if agency_ids is not None:
        stmt = stmt.where(Ticket.agency_id.in_(list(agency_ids)))
    out = []
    for event, ticket in session.execute(stmt):
        counter = session.get(Counter, event.counter_id) if event.counter_id else None
        out.append(call_entry(ticket, counter, event.kind, event.at, lang,
                              int(event.data.get("recall", 0)), event.id))
    return out
