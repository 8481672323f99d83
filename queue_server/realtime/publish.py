"""Push committed domain events to the rooms that need them.

The payloads are built inside the transaction that made the events, just
before its commit (:func:`prepare`), from the rows it wrote: what a client
receives is what the database holds once the commit succeeded, and the reads
cost no second transaction after it. They are sent only after the commit
(:meth:`Outbox.send`): never a rolled-back call. A call is the exception
(:func:`publish`): committed first, it goes to the hall before the rest is
read, so those reads do not hold it back. Works unchanged with a Redis
message queue: ``socketio.emit`` goes through it when configured.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import printing, queries
from ..domain.clock import Clock
from ..domain.events import DomainEvent
from ..domain.presence import is_online
from ..domain.site import get_site, today
from ..extensions import socketio
from ..models import Counter, Device, PrintJob, Service, Ticket, TicketEvent
from ..overview import call_entry, ticket_status
from ..presenters import counter_state, iso, print_job_update, printer_entry, ticket_staff
from . import rooms

CALL_EVENTS = {"ticket.called", "ticket.recalled"}


def emit(event: str, payload: dict[str, Any], to: Iterable[str]) -> None:
    targets = sorted(set(to))
    if targets:
        socketio.emit(event, payload, to=targets)


def send_now() -> None:
    """Let the connections' writers send what was emitted so far.

    Under eventlet and gevent an emit only queues the message; the sockets'
    writer greenlets send it once the request's greenlet yields, which a
    database call does not do (SQLite never, psycopg2 between statements).
    Without a yield every event of a call waits for the whole request,
    its answer included."""
    socketio.sleep(0)


Message = tuple[str, dict[str, Any], list[str]]


@dataclass
class Outbox:
    """The messages a transaction's events announce, in the order they go out.

    Held (``live=False``): built inside the transaction, sent by :meth:`send`
    after its commit; ``None`` marks a pause, where the sockets send what came
    before it first. Live: each message goes out as it is built (the
    transaction has committed already)."""

    live: bool = False
    messages: list[Message | None] = field(default_factory=list)
    wake_printing: bool = False  # a print job was queued: the dispatcher looks now

    def add(self, event: str, payload: dict[str, Any], to: Iterable[str]) -> None:
        targets = sorted(set(to))
        if not targets:
            return
        if self.live:
            emit(event, payload, targets)
        else:
            self.messages.append((event, payload, targets))

    def pause(self) -> None:
        if self.live:
            send_now()
        else:
            self.messages.append(None)

    def send(self) -> None:
        """After the commit: emit what is held, pausing where marked."""
        if self.wake_printing:
            from ..print_dispatch import wake

            wake()
        for message in self.messages:
            if message is None:
                send_now()
            else:
                emit(*message)
        send_now()


def _ticket_rooms(ticket: Ticket, counter_id: int | None) -> list[str]:
    out = [rooms.staff_agency(ticket.agency_id), rooms.ticket(ticket.token), rooms.MANAGERS]
    if counter_id:
        out.append(rooms.counter(counter_id))
    return out


def _publish_call(out: Outbox, session: Session, clock: Clock, event: DomainEvent, ticket: Ticket) -> None:
    counter = session.get(Counter, event.counter_id) if event.counter_id else None
    logged = session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                  TicketEvent.kind.in_(("called", "recalled")))
        .order_by(TicketEvent.id.desc()).limit(1)
    ).scalar_one()
    call = call_entry(ticket, counter, logged.kind, logged.at, "id", int(event.data.get("recall", 0)),
                      logged.id)
    # Displays and kiosks get the public call; staff and the visitor get it too.
    out.add("ticket.called", call,
            [rooms.public_agency(a) for a in event.agency_ids] + [rooms.ticket(ticket.token)])
    out.pause()  # the hall hears the call before the rest of the request's work
    out.add("ticket.updated", {"ticket": ticket_staff(ticket), "event": event.kind},
            [rooms.staff_agency(a) for a in event.agency_ids] + [rooms.MANAGERS]
            + ([rooms.counter(counter.id)] if counter else []))


def _publish_ticket(out: Outbox, session: Session, clock: Clock, event: DomainEvent) -> Ticket | None:
    """Publish a ticket's event; the ticket (None: gone)."""
    ticket = session.get(Ticket, event.ticket_id)
    if ticket is None:
        return None
    if event.kind in CALL_EVENTS:
        _publish_call(out, session, clock, event, ticket)
        return ticket
    out.add("ticket.updated", {"ticket": ticket_staff(ticket), "event": event.kind},
            [r for r in _ticket_rooms(ticket, event.counter_id) if not r.startswith("ticket:")]
            + [rooms.staff_agency(a) for a in event.agency_ids])
    # The visitor's own room gets only the public view of their ticket.
    position = ((event.data["ahead"], event.data["estimated_wait_minutes"])
                if "ahead" in event.data else None)  # computed when issuing
    out.add("ticket.status", {"ticket": ticket_status(session, clock, ticket, "id", position),
                              "event": event.kind},
            [rooms.ticket(ticket.token)])
    return ticket


def _uses_quota(ticket: Ticket, event: DomainEvent) -> bool:
    """Whether the event changed what a kiosk shows beyond the waiting counts: a
    new ticket (not a transfer's leg) of a service with a daily quota leaves
    one fewer."""
    return (event.kind == "ticket.issued" and not event.data.get("transfer")
            and bool(ticket.service.daily_quota))


def _moves_others(ticket: Ticket, event: DomainEvent) -> bool:
    """Whether a ticket's event can change anyone else's place or estimate. A new
    ticket without priority joins the end of its line: nobody else moves. A
    transferred leg keeps its first arrival and a priority ticket may go ahead
    (strict mode), so those do move the line."""
    if event.kind != "ticket.issued" or event.data.get("transfer"):
        return True
    return ticket.is_priority


def _publish_counter(out: Outbox, session: Session, event: DomainEvent) -> None:
    counter = session.get(Counter, event.counter_id)
    if counter is None:
        return
    out.add("counter.updated", counter_state(counter),
            [rooms.counter(counter.id), rooms.staff_agency(counter.agency_id), rooms.MANAGERS])


def _publish_queue_counts(out: Outbox, session: Session, clock: Clock, agency_ids: set[int],
                          lines: set[tuple[int, int]], moved_services: set[int],
                          whole_agencies: set[int], refresh: set[int]) -> None:
    """The lines that moved to their visitor pages, then the waiting counts to the
    agencies' displays, kiosks and staff.

    A ticket's event moves only its own service's line (places are counted per
    service), so only that room hears ``queue.moved``, with the line itself
    (see :func:`_line_payload`). Other events (a counter opening, an expiry, a
    configuration change) may move every line of their agencies. The visitors
    go first: a phone in a pocket is waiting for exactly this.
    """
    # Only the touched agencies' waiting tickets are read (a ticket's agency is
    # always its service's), not the whole day.
    day = today(session, clock)
    # Services whose count may have dropped to 0 are listed with it: the lines the
    # events touched, and every service of an agency a broader event touched.
    also = lines | set(queries.agency_services(session, whole_agencies) if whole_agencies else ())
    waiting = queries.agency_waiting(session, day, agency_ids, also)
    for agency_id in sorted(agency_ids):
        for service_id, count in waiting.get(agency_id, {}).items():
            # An empty line has nobody to tell (the ticket that left it hears its own event).
            if count and (agency_id in whole_agencies or service_id in moved_services):
                out.add("queue.moved", _line_payload(session, clock, service_id, day),
                        [rooms.service(service_id)])
    out.pause()
    for agency_id in sorted(agency_ids):
        services = waiting.get(agency_id, {})
        payload = {
            "agency_id": agency_id,
            "waiting": sum(services.values()),
            "services": {str(s): n for s, n in services.items()},
            "refresh": agency_id in refresh,
        }
        out.add("queue.changed", payload, [rooms.public_agency(agency_id),
                                           rooms.staff_agency(agency_id), rooms.MANAGERS])


def _line_payload(session: Session, clock: Clock, service_id: int, day: dt.date) -> dict[str, Any]:
    """The line itself travels with queue.moved: each visitor page finds its own
    ticket in it and shows its place and estimate without asking the server (a
    hall of phones refetching after every call would cost more than the call)."""
    service = session.get(Service, service_id)
    line = queries.waiting_line(session, service, day, get_site(session).priority_mode, clock.now())
    return {"service_id": service_id, "waiting": line.ticket_ids, "complete": line.complete,
            "minutes": line.minutes, "counters": line.counters}


def _publish_print(out: Outbox, session: Session, event: DomainEvent) -> None:
    """A job's outcome goes to the kiosk that shows the ticket and to staff."""
    job = session.get(PrintJob, event.data["job_id"])
    if job is None:
        return
    payload = print_job_update(job)
    out.add("print.updated", payload, [rooms.device(job.device_id), rooms.MANAGERS,
                                       rooms.staff_agency(job.ticket.agency_id)])


def _publish_printer(out: Outbox, session: Session, event: DomainEvent) -> None:
    device = session.get(Device, event.data["device_id"])
    if device is None:
        return
    open_jobs = printing.open_jobs_by_kiosk(session).get(device.id, 0)
    out.add("printer.updated", {"device_code": device.code, **printer_entry(device, open_jobs)},
            [rooms.device(device.id), rooms.MANAGERS])


def device_presence(device: Device, event: str, now: dt.datetime) -> None:
    """A kiosk, display or print agent connected or left: managers see it at once."""
    emit("device.presence", {"device_id": device.id, "code": device.code, "kind": device.kind,
                             "name": device.name, "event": event,
                             "online": is_online(device.last_seen_at, now),
                             "last_seen_at": iso(device.last_seen_at)}, [rooms.MANAGERS])


def announces_call(events: list[DomainEvent]) -> bool:
    """Whether the hall is waiting for these events: a call goes out the moment
    it is committed, before anything else is read (see api.guards)."""
    return any(event.kind in CALL_EVENTS for event in events)


def publish(session: Session, clock: Clock, events: list[DomainEvent]) -> None:
    """After the commit: read and send each message at once, the call first."""
    prepare(session, clock, events, Outbox(live=True)).send()


def prepare(session: Session, clock: Clock, events: list[DomainEvent],
            out: Outbox | None = None) -> Outbox:
    """The messages of ``events``, into ``out`` (by default held, to be sent after
    the commit: then the session must be flushed, as the reads must see its writes)."""
    out = out if out is not None else Outbox()
    touched: set[int] = set()
    lines: set[tuple[int, int]] = set()  # (agency, service) of every ticket's event
    moved: set[int] = set()  # services whose line a ticket's event moved
    whole: set[int] = set()  # agencies all of whose lines may have moved
    # Agencies whose kiosks fetch their list again: more changed than the counts
    # (a quota's remainder, the configuration, the day's end), see queue.changed.
    refresh: set[int] = set()
    for event in events:
        if event.kind == "print.queued":
            out.wake_printing = True
        elif event.kind == "print.updated":
            _publish_print(out, session, event)
        elif event.kind == "printer.updated":
            _publish_printer(out, session, event)
        elif event.kind.startswith("ticket."):
            ticket = _publish_ticket(out, session, clock, event)
            if ticket is None:
                whole.update(event.agency_ids)
                refresh.update(event.agency_ids)
            else:
                lines.add((ticket.agency_id, ticket.service_id))
                if _moves_others(ticket, event):
                    moved.add(ticket.service_id)
                if _uses_quota(ticket, event):
                    refresh.add(ticket.agency_id)
        else:
            if event.kind == "counter.updated":
                _publish_counter(out, session, event)
            else:
                refresh.update(event.agency_ids)
            whole.update(event.agency_ids)
        touched.update(event.agency_ids)
    if touched:
        _publish_queue_counts(out, session, clock, touched, lines, moved, whole, refresh)
    return out
