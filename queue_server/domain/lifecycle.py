"""The ticket state machine: which transitions exist and what each one stamps.

Every change of a ticket's status goes through :func:`transition`, which
refuses anything not in ``ALLOWED``, stamps the times and durations reports
need, and appends a :class:`TicketEvent`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..models import Ticket, TicketEvent, TicketStatus
from .errors import Conflict

S = TicketStatus

ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        (S.WAITING, S.CALLED),
        (S.CALLED, S.SERVING),
        (S.SERVING, S.DONE),
        (S.CALLED, S.NO_SHOW),
        # A visitor marked absent who turns up later can be called again (same day).
        (S.NO_SHOW, S.CALLED),
        (S.WAITING, S.TRANSFERRED),
        (S.CALLED, S.TRANSFERRED),
        (S.SERVING, S.TRANSFERRED),
        (S.WAITING, S.CANCELLED),
        (S.WAITING, S.EXPIRED),
        (S.CALLED, S.EXPIRED),
        (S.SERVING, S.EXPIRED),
    }
)

FINAL_STATUSES = frozenset({S.DONE, S.TRANSFERRED, S.CANCELLED, S.EXPIRED})


@dataclass(frozen=True)
class Actor:
    """Who did it: an officer/manager, a device, or the system (both None)."""

    user_id: int | None = None
    device_id: int | None = None


SYSTEM = Actor()


def _seconds(later: dt.datetime | None, earlier: dt.datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return max(0, round((later - earlier).total_seconds()))


# Built once; on the session's connection, past the ORM: nothing reads an event
# back as an object in the transaction that writes it, and the ORM's unit of work
# cost more than the insert (every issue and every call writes one).
_INSERT_EVENT = TicketEvent.__table__.insert()


def log_event(
    session: Session,
    ticket: Ticket,
    kind: str,
    from_status: str | None,
    at: dt.datetime,
    actor: Actor,
    counter_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append the ticket's event row (the ticket must be flushed: the row refers to it)."""
    session.connection().execute(_INSERT_EVENT, {
        "ticket_id": ticket.id,
        "kind": kind,
        "from_status": from_status,
        "to_status": str(ticket.status),
        "at": at,
        "user_id": actor.user_id,
        "device_id": actor.device_id,
        "counter_id": counter_id,
        "service_id": ticket.service_id,
        "data": data or {},
    })


def transition(
    session: Session,
    ticket: Ticket,
    to: TicketStatus,
    at: dt.datetime,
    actor: Actor,
    counter_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Move ``ticket`` to ``to`` or raise :class:`Conflict` naming both states."""
    before = ticket.status
    if (before, to) not in ALLOWED:
        raise Conflict(
            "illegal_transition",
            f"ticket {ticket.number} is {before}; it cannot become {to}",
            number=ticket.number,
            status=before,
            target=str(to),
        )
    ticket.status = to
    if to == S.CALLED:
        ticket.called_at = at
        ticket.first_called_at = ticket.first_called_at or at
        ticket.recall_count = 0
        ticket.finished_at = None
        ticket.wait_seconds = _seconds(at, ticket.queued_at)
        ticket.counter_id = counter_id
        ticket.officer_id = actor.user_id
    elif to == S.SERVING:
        ticket.started_at = at
        ticket.walk_seconds = _seconds(at, ticket.called_at)
    else:
        ticket.finished_at = at
        ticket.service_seconds = _seconds(at, ticket.started_at)
        if to in (S.DONE, S.TRANSFERRED):
            ticket.total_seconds = _seconds(at, ticket.queued_at)
    log_event(session, ticket, str(to), before, at, actor, counter_id or ticket.counter_id, data)
