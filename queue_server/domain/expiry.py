"""End of day: unfinished tickets of past days become ``expired``.

Run at start-up and periodically; calling only ever looks at today's tickets,
so a late run cannot make yesterday's ticket callable.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..database import begin_write
from ..models import Counter, Ticket, TicketStatus
from .clock import Clock
from .events import DomainEvent, record
from .lifecycle import SYSTEM, transition
from .site import today

UNFINISHED = (TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING)


def expire_past_days(session: Session, clock: Clock) -> int:
    """Expire every unfinished ticket older than today; returns how many."""
    begin_write(session)
    day = today(session, clock)
    stale = session.execute(
        select(Ticket).where(Ticket.service_day < day, Ticket.status.in_(UNFINISHED))
    ).scalars().all()
    if not stale:
        return 0
    now = clock.now()
    ids = [t.id for t in stale]
    session.execute(
        update(Counter).where(Counter.current_ticket_id.in_(ids)).values(current_ticket_id=None)
    )
    for ticket in stale:
        transition(session, ticket, TicketStatus.EXPIRED, now, SYSTEM)
    agencies = tuple(sorted({t.agency_id for t in stale}))
    record(session, DomainEvent("queue.expired", agency_ids=agencies, data={"count": len(ids)}))
    return len(stale)
