"""Counter staffing: who may operate a counter, and open/pause/close.

A counter has at most one officer and at most one active ticket; an officer
sits at one counter at a time.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import begin_write
from ..models import ACTIVE_TICKET_STATUSES, Counter, CounterEvent, CounterState, Role, User
from .clock import Clock
from .errors import Conflict, Forbidden, NotFound
from .events import DomainEvent, record


def check_can_operate(counter: Counter, user: User) -> None:
    """Officers work only at their own agency's counters; admins anywhere."""
    if user.role == Role.ADMIN:
        return
    if user.role != Role.OFFICER or user.agency_id != counter.agency_id:
        raise Forbidden(
            "not_your_counter",
            f"{user.username} may not operate {counter.name}",
            counter=counter.name,
        )


def lock_counter(session: Session, counter_id: int) -> Counter:
    """Load the counter for a change, row-locked so two browsers cannot race."""
    begin_write(session)
    counter = session.execute(
        select(Counter).where(Counter.id == counter_id).with_for_update()
    ).scalar_one_or_none()
    if counter is None:
        raise NotFound("counter_not_found", f"no counter with id {counter_id}", id=counter_id)
    return counter


def has_active_ticket(counter: Counter) -> bool:
    t = counter.current_ticket
    return t is not None and t.status in ACTIVE_TICKET_STATUSES


def _set_state(session: Session, counter: Counter, to: CounterState, user: User, clock: Clock) -> None:
    now = clock.now()
    session.add(
        CounterEvent(
            counter_id=counter.id, user_id=user.id, from_state=counter.state, to_state=to, at=now
        )
    )
    counter.state = to
    counter.state_changed_at = now
    if to == CounterState.CLOSED:
        counter.officer_id = None
    elif to == CounterState.OPEN or counter.officer_id is None:
        counter.officer_id = user.id
    record(session, DomainEvent("counter.updated", counter_id=counter.id, agency_ids=(counter.agency_id,)))


def open_counter(session: Session, clock: Clock, counter_id: int, user: User) -> Counter:
    counter = lock_counter(session, counter_id)
    check_can_operate(counter, user)
    if counter.officer_id not in (None, user.id) and counter.state != CounterState.CLOSED:
        raise Conflict(
            "counter_taken",
            f"{counter.name} is staffed by someone else; they must close it first",
            counter=counter.name,
        )
    elsewhere = session.execute(
        select(Counter).where(
            Counter.officer_id == user.id,
            Counter.id != counter.id,
            Counter.state != CounterState.CLOSED,
        )
    ).scalar_one_or_none()
    if elsewhere is not None:
        raise Conflict(
            "officer_elsewhere",
            f"{user.username} is still at {elsewhere.name}; close it first",
            counter=elsewhere.name,
        )
    if counter.state != CounterState.OPEN:
        _set_state(session, counter, CounterState.OPEN, user, clock)
    return counter


def _leave(session: Session, clock: Clock, counter_id: int, user: User, to: CounterState) -> Counter:
    counter = lock_counter(session, counter_id)
    check_can_operate(counter, user)
    if counter.state == CounterState.CLOSED:
        if to == CounterState.CLOSED:
            return counter
        raise Conflict("counter_closed", f"{counter.name} is closed", counter=counter.name)
    if counter.officer_id not in (None, user.id) and user.role != Role.ADMIN:
        raise Conflict("counter_taken", f"{counter.name} is staffed by someone else", counter=counter.name)
    if has_active_ticket(counter):
        raise Conflict(
            "counter_busy",
            f"{counter.name} still has ticket {counter.current_ticket.number}; finish it first",
            counter=counter.name,
            number=counter.current_ticket.number,
        )
    if counter.state != to:
        _set_state(session, counter, to, user, clock)
    return counter


def pause_counter(session: Session, clock: Clock, counter_id: int, user: User) -> Counter:
    return _leave(session, clock, counter_id, user, CounterState.PAUSED)


def close_counter(session: Session, clock: Clock, counter_id: int, user: User) -> Counter:
    return _leave(session, clock, counter_id, user, CounterState.CLOSED)
