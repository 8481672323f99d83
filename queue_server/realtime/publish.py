"""Push committed domain events to the rooms that need them.

Called by the API after commit. Payloads are built from fresh rows, so what a
client receives is what the database holds. Works unchanged with a Redis
message queue: ``socketio.emit`` goes through it when configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from ..domain import queries
from ..domain.clock import Clock
from ..domain.events import DomainEvent
from ..domain.site import today
from ..extensions import socketio
from ..models import Counter, Ticket
from ..overview import call_entry
from ..presenters import counter_state, ticket_public, ticket_staff
from . import rooms

CALL_EVENTS = {"ticket.called", "ticket.recalled"}


def emit(event: str, payload: dict[str, Any], to: Iterable[str]) -> None:
    targets = sorted(set(to))
    if targets:
        socketio.emit(event, payload, to=targets)


def _ticket_rooms(ticket: Ticket, counter_id: int | None) -> list[str]:
    out = [rooms.staff_agency(ticket.agency_id), rooms.ticket(ticket.token), rooms.MANAGERS]
    if counter_id:
        out.append(rooms.counter(counter_id))
    return out


def _publish_call(session: Session, event: DomainEvent, ticket: Ticket) -> None:
    counter = session.get(Counter, event.counter_id) if event.counter_id else None
    kind = "recalled" if event.kind == "ticket.recalled" else "called"
    call = call_entry(ticket, counter, kind, ticket.called_at, "id", int(event.data.get("recall", 0)))
    # Displays and kiosks get the public call; staff and the visitor get it too.
    emit("ticket.called", call,
         [rooms.public_agency(a) for a in event.agency_ids] + [rooms.ticket(ticket.token)])
    emit("ticket.updated", {"ticket": ticket_staff(ticket), "event": event.kind},
         [rooms.staff_agency(a) for a in event.agency_ids] + [rooms.MANAGERS]
         + ([rooms.counter(counter.id)] if counter else []))


def _publish_ticket(session: Session, event: DomainEvent) -> None:
    ticket = session.get(Ticket, event.ticket_id)
    if ticket is None:
        return
    if event.kind in CALL_EVENTS:
        _publish_call(session, event, ticket)
        return
    emit("ticket.updated", {"ticket": ticket_staff(ticket), "event": event.kind},
         [r for r in _ticket_rooms(ticket, event.counter_id) if not r.startswith("ticket:")]
         + [rooms.staff_agency(a) for a in event.agency_ids])
    # The visitor's own room gets only the public view of their ticket.
    emit("ticket.status", {"ticket": ticket_public(ticket), "event": event.kind},
         [rooms.ticket(ticket.token)])


def _publish_counter(session: Session, event: DomainEvent) -> None:
    counter = session.get(Counter, event.counter_id)
    if counter is None:
        return
    emit("counter.updated", counter_state(counter),
         [rooms.counter(counter.id), rooms.staff_agency(counter.agency_id), rooms.MANAGERS])


def _publish_queue_counts(session: Session, clock: Clock, agency_ids: set[int]) -> None:
    """Waiting counts moved: tell displays/kiosks, staff, and visitor pages."""
    day = today(session, clock)
    counts = queries.waiting_counts(session, day)
    by_agency = queries.waiting_counts(session, day, by="agency")
    services = {
        sid: aid for sid, aid in session.execute(
            Ticket.__table__.select().with_only_columns(Ticket.service_id, Ticket.agency_id)
            .where(Ticket.agency_id.in_(agency_ids), Ticket.service_day == day).distinct()
        )
    }
    for agency_id in sorted(agency_ids):
        payload = {
            "agency_id": agency_id,
            "waiting": by_agency.get(agency_id, 0),
            "services": {str(s): counts.get(s, 0) for s, a in services.items() if a == agency_id},
        }
        emit("queue.changed", payload, [rooms.public_agency(agency_id),
                                        rooms.staff_agency(agency_id), rooms.MANAGERS])
        for service_id in payload["services"]:
            emit("queue.moved", {"service_id": int(service_id)}, [rooms.service(int(service_id))])


def publish(session: Session, clock: Clock, events: list[DomainEvent]) -> None:
    touched: set[int] = set()
    for event in events:
        if event.kind.startswith("ticket."):
            _publish_ticket(session, event)
        elif event.kind == "counter.updated":
            _publish_counter(session, event)
        touched.update(event.agency_ids)
    if touched:
        _publish_queue_counts(session, clock, touched)
