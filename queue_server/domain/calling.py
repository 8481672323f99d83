"""Calling and serving at a counter: call next, call a number, recall, start,
finish, no-show and transfer.

Calling order (documented in docs/architecture.md): a counter calls only from
the services it serves and only today's tickets. Within a class tickets go
first-come first-served by arrival time (a transferred ticket keeps its
original arrival). Priority tickets (elderly, disabled, pregnant) are favoured
by the site's rule:

* ``strict``: a waiting priority ticket is always called before any normal one.
* ``ratio`` with N: priority first, but after N priority calls in a row by this
  counter, a waiting normal ticket is called next, so nobody starves.

Every operation locks the counter row first and picks tickets with ``FOR
UPDATE SKIP LOCKED``, so two counters calling at the same instant never get the
same ticket (on SQLite the write lock serialises them).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import begin_write
from ..models import Counter, CounterState, Priority, Role, Service, Ticket, TicketStatus, User
from . import queries
from .clock import Clock
from .counters import check_can_operate, has_active_ticket, lock_counter
from .errors import Conflict, InvalidInput, NotFound, Refused
from .events import DomainEvent, record
from .issuing import latest_leg
from .lifecycle import Actor, log_event, transition
from .site import get_site, today

S = TicketStatus


def queue_order(
    session: Session, clock: Clock, counter: Counter, limit: int | None = None
) -> list[Ticket]:
    """The waiting tickets this counter would call, in the order it would call them.

    Simulates the priority rule forward from the counter's current streak, so
    the list an officer sees is exactly the order call-next follows.
    """
    site = get_site(session)
    day = today(session, clock)
    ids = [s.id for s in counter.services]
    waiting = session.execute(queries.fifo(queries.waiting_tickets(ids, day))).scalars().all()
    prio = [t for t in waiting if t.is_priority]
    normal = [t for t in waiting if not t.is_priority]
    ordered: list[Ticket] = []
    streak = counter.priority_streak
    while prio or normal:
        take_prio = bool(prio) and (
            site.priority_mode == "strict" or not normal or streak < site.priority_ratio
        )
        if take_prio:
            ordered.append(prio.pop(0))
            streak += 1
        else:
            ordered.append(normal.pop(0))
            streak = 0
        if limit is not None and len(ordered) >= limit:
            break
    return ordered


def _pick_next(session: Session, clock: Clock, counter: Counter) -> Ticket | None:
    site = get_site(session)
    day = today(session, clock)
    ids = [s.id for s in counter.services]
    base = queries.waiting_tickets(ids, day)

    def first(stmt):  # type: ignore[no-untyped-def]
        return session.execute(
            queries.fifo(stmt).limit(1).with_for_update(skip_locked=True)
        ).scalar_one_or_none()

    def first_priority() -> Ticket | None:
        return first(base.where(Ticket.priority != Priority.NONE))

    def first_normal() -> Ticket | None:
        return first(base.where(Ticket.priority == Priority.NONE))

    if site.priority_mode == "strict":
        return first_priority() or first_normal()
    if counter.priority_streak >= site.priority_ratio:
        return first_normal() or first_priority()
    return first_priority() or first_normal()


def _operating_counter(session: Session, counter_id: int, user: User) -> Counter:
    counter = lock_counter(session, counter_id)
    check_can_operate(counter, user)
    if counter.state != CounterState.OPEN:
        raise Conflict(
            f"counter_{counter.state}",
            f"{counter.name} is {counter.state}; open it first",
            counter=counter.name,
        )
    if counter.officer_id not in (None, user.id) and user.role != Role.ADMIN:
        raise Conflict("counter_taken", f"{counter.name} is staffed by someone else", counter=counter.name)
    return counter


def _require_free(counter: Counter) -> None:
    if has_active_ticket(counter):
        raise Conflict(
            "counter_busy",
            f"{counter.name} still has ticket {counter.current_ticket.number}; "
            "finish, transfer or mark it no-show first",
            counter=counter.name,
            number=counter.current_ticket.number,
        )


def _current(counter: Counter) -> Ticket:
    if not has_active_ticket(counter):
        raise Conflict("no_current_ticket", f"{counter.name} has no current ticket", counter=counter.name)
    assert counter.current_ticket is not None
    return counter.current_ticket


def _announce(session: Session, kind: str, ticket: Ticket, counter: Counter, **data: object) -> None:
    agencies = tuple(sorted({ticket.agency_id, counter.agency_id}))
    record(session, DomainEvent(kind, ticket.id, counter.id, agencies, dict(data)))


def _call(session: Session, clock: Clock, counter: Counter, ticket: Ticket, user: User) -> Ticket:
    transition(session, ticket, S.CALLED, clock.now(), Actor(user.id), counter.id)
    counter.current_ticket_id = ticket.id
    counter.current_ticket = ticket
    counter.priority_streak = counter.priority_streak + 1 if ticket.is_priority else 0
    _announce(session, "ticket.called", ticket, counter)
    return ticket


def call_next(session: Session, clock: Clock, counter_id: int, user: User) -> Ticket | None:
    """Call the next ticket by the calling order; None when nobody waits."""
    counter = _operating_counter(session, counter_id, user)
    _require_free(counter)
    ticket = _pick_next(session, clock, counter)
    if ticket is None:
        return None
    return _call(session, clock, counter, ticket, user)


def call_ticket(session: Session, clock: Clock, counter_id: int, user: User, ticket_id: int) -> Ticket:
    """Call a specific waiting ticket (or a no-show who came back) of this agency."""
    counter = _operating_counter(session, counter_id, user)
    _require_free(counter)
    ticket = session.execute(
        select(Ticket).where(Ticket.id == ticket_id).with_for_update()
    ).scalar_one_or_none()
    if ticket is None or ticket.agency_id != counter.agency_id:
        raise NotFound("ticket_not_found", f"no ticket {ticket_id} for this counter", id=ticket_id)
    if ticket.service_day != today(session, clock):
        raise Conflict("ticket_not_today", f"ticket {ticket.number} is from {ticket.service_day}",
                       number=ticket.number)
    if ticket.status not in (S.WAITING, S.NO_SHOW):
        raise Conflict(
            "illegal_transition",
            f"ticket {ticket.number} is {ticket.status}; it cannot be called",
            number=ticket.number,
            status=ticket.status,
            target=str(S.CALLED),
        )
    return _call(session, clock, counter, ticket, user)


def recall(session: Session, clock: Clock, counter_id: int, user: User) -> Ticket:
    """Announce the current ticket again; it stays ``called``."""
    counter = _operating_counter(session, counter_id, user)
    ticket = _current(counter)
    if ticket.status != S.CALLED:
        raise Conflict("illegal_transition", f"ticket {ticket.number} is {ticket.status}; only a "
                       "called ticket can be recalled", number=ticket.number, status=ticket.status,
                       target="recall")
    ticket.recall_count += 1
    log_event(session, ticket, "recalled", S.CALLED, clock.now(), Actor(user.id), counter.id,
              {"recall": ticket.recall_count})
    _announce(session, "ticket.recalled", ticket, counter, recall=ticket.recall_count)
    return ticket


def start(session: Session, clock: Clock, counter_id: int, user: User) -> Ticket:
    counter = _operating_counter(session, counter_id, user)
    ticket = _current(counter)
    transition(session, ticket, S.SERVING, clock.now(), Actor(user.id), counter.id)
    _announce(session, "ticket.updated", ticket, counter)
    return ticket


def _release(session: Session, counter: Counter, ticket: Ticket, kind: str, **data: object) -> None:
    counter.current_ticket_id = None
    counter.current_ticket = None
    _announce(session, kind, ticket, counter, **data)


def finish(session: Session, clock: Clock, counter_id: int, user: User, note: str = "") -> Ticket:
    """Finish the current ticket. A called ticket is started implicitly, since
    many officers press only Call and Finish."""
    counter = _operating_counter(session, counter_id, user)
    ticket = _current(counter)
    if ticket.service.note_required and not note.strip():
        raise InvalidInput("note_required", f"{ticket.service.name} needs a note when finished",
                           service=ticket.service.name)
    now = clock.now()
    if ticket.status == S.CALLED:
        transition(session, ticket, S.SERVING, now, Actor(user.id), counter.id, {"implicit": True})
    if note:
        ticket.note = note[:2000]
    transition(session, ticket, S.DONE, now, Actor(user.id), counter.id)
    _release(session, counter, ticket, "ticket.updated")
    return ticket


def no_show(session: Session, clock: Clock, counter_id: int, user: User) -> Ticket:
    """Mark the called visitor absent, after at least one recall or the grace time."""
    counter = _operating_counter(session, counter_id, user)
    ticket = _current(counter)
    grace = get_site(session).no_show_grace_seconds
    now = clock.now()
    if ticket.status == S.CALLED and ticket.recall_count == 0 and grace > 0:
        waited = (now - ticket.called_at).total_seconds() if ticket.called_at else 0
        if waited < grace:
            raise Refused(
                "no_show_too_early",
                f"recall {ticket.number} first or wait {round(grace - waited)} s more",
                number=ticket.number,
                seconds=round(grace - waited),
            )
    transition(session, ticket, S.NO_SHOW, now, Actor(user.id), counter.id)
    _release(session, counter, ticket, "ticket.updated")
    return ticket


def transfer(
    session: Session, clock: Clock, counter_id: int, user: User, service_id: int, note: str = ""
) -> Ticket:
    """Close the current leg as ``transferred`` and queue a new leg in another
    service (any agency), keeping number, token, priority and arrival time.
    Returns the new leg."""
    counter = _operating_counter(session, counter_id, user)
    ticket = _current(counter)
    target = session.get(Service, service_id)
    if target is None:
        raise NotFound("service_not_found", f"no service with id {service_id}", id=service_id)
    if target.id == ticket.service_id:
        raise InvalidInput("same_service", "the ticket is already in that service")
    if not target.agency.active:
        raise Refused("agency_inactive", f"{target.agency.name} is not serving", agency=target.agency.name)
    if not target.active:
        raise Refused("service_inactive", f"{target.name} is not available", service=target.name)
    now = clock.now()
    note = (note or "")[:2000]
    transition(session, ticket, S.TRANSFERRED, now, Actor(user.id), counter.id,
               {"to_service_id": target.id, "note": note})
    leg = Ticket(
        token=ticket.token,
        leg=ticket.leg + 1,
        previous_id=ticket.id,
        number=ticket.number,
        prefix=ticket.prefix,
        sequence=ticket.sequence,
        service_day=ticket.service_day,
        agency_id=target.agency_id,
        service_id=target.id,
        priority=ticket.priority,
        status=S.WAITING,
        device_id=ticket.device_id,
        note=note,
        issued_at=ticket.issued_at,
        arrived_at=ticket.arrived_at,
        queued_at=now,
    )
    session.add(leg)
    session.flush()
    log_event(session, leg, "transferred_in", None, now, Actor(user.id), counter.id,
              {"from_ticket_id": ticket.id, "from_service_id": ticket.service_id, "note": note})
    _release(session, counter, ticket, "ticket.transferred", new_ticket_id=leg.id)
    record(session, DomainEvent("ticket.issued", leg.id, agency_ids=(target.agency_id,),
                                data={"transfer": True}))
    return leg


def cancel(session: Session, clock: Clock, token: str, actor: Actor) -> Ticket:
    """A waiting visitor gives up (from the status page or by staff): a walkout."""
    begin_write(session)
    ticket = latest_leg(session, token)
    if ticket is None:
        raise NotFound("ticket_not_found", "no ticket with that token")
    transition(session, ticket, S.CANCELLED, clock.now(), actor)
    record(session, DomainEvent("ticket.updated", ticket.id, agency_ids=(ticket.agency_id,)))
    return ticket
