"""Issuing tickets at a kiosk (or through the API for MPP Digital).

Order of work inside one write transaction: take the write/row locks, check the
agency is open and the quota not used up, allocate the next number, insert the
ticket and its first event. Any refusal happens before a number is taken.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, contains_eager

from ..database import begin_write
from ..models import Priority, Service, Site, Ticket, TicketStatus
from . import hours, queries
from .clock import Clock
from .errors import Forbidden, InvalidInput, NotFound, Refused
from .events import DomainEvent, record
from .lifecycle import Actor, log_event
from .numbering import format_number, next_sequence
from .site import get_site


@dataclass(frozen=True)
class IssuedTicket:
    ticket: Ticket
    ahead: int
    estimated_wait_minutes: int
    replayed: bool = False  # True when a retried request got its earlier ticket back


def new_token() -> str:
    """Unguessable status-page token (128 bits)."""
    return secrets.token_urlsafe(16)


def parse_priority(value: object) -> Priority:
    if value in (None, "", False):
        return Priority.NONE
    if value is True:
        return Priority.ELDERLY
    try:
        return Priority(str(value))
    except ValueError:
        allowed = ", ".join(p.value for p in Priority)
        raise InvalidInput(
            "invalid_priority", f"priority must be one of: {allowed}", allowed=allowed
        ) from None


def check_can_issue(service: Service, open_state: hours.OpenState, issued: int) -> None:
    """Raise :class:`Refused` with the reason a kiosk shows, or return."""
    if not service.agency.active:
        raise Refused("agency_inactive", f"{service.agency.name} is not serving",
                      agency=service.agency.name)
    if not service.active:
        raise Refused("service_inactive", f"{service.name} is not available", service=service.name)
    if not open_state.can_issue:
        nxt = open_state.next_open.strftime("%H:%M") if open_state.next_open else ""
        raise Refused(
            f"agency_{open_state.reason}",
            f"{service.agency.name} is not issuing tickets now ({open_state.reason})",
            agency=service.agency.name,
            next_open=nxt,
            next_open_date=open_state.next_open.date().isoformat() if open_state.next_open else "",
        )
    left = queries.quota_left(service, issued)
    if left == 0:
        raise Refused(
            "quota_exhausted",
            f"today's quota of {service.daily_quota} for {service.name} is used up",
            service=service.name,
            quota=service.daily_quota,
        )


# Statements of every issue, built once: building and cache-keying a statement
# costs about as much as SQLite running it.
_REPLAY = select(Ticket).where(Ticket.device_id == bindparam("device_id"),
                               Ticket.request_id == bindparam("request_id"))
# The service with its agency in one read; the service row is locked (PostgreSQL):
# quota checks of concurrent kiosks queue here.
_LOCKED_SERVICE = (select(Service).join(Service.agency).options(contains_eager(Service.agency))
                   .where(Service.id == bindparam("service_id")).with_for_update(of=Service))


def _replay(session: Session, device_id: int, request_id: str) -> Ticket | None:
    return session.execute(
        _REPLAY, {"device_id": device_id, "request_id": request_id}
    ).scalar_one_or_none()


def describe(session: Session, ticket: Ticket, clock: Clock, replayed: bool = False,
             site: Site | None = None) -> IssuedTicket:
    """Place in line and estimate; ``site`` saves a read when the caller has it."""
    site = site or get_site(session)
    ahead, wait = queries.position_and_wait(session, ticket, site.priority_mode, clock.now())
    return IssuedTicket(ticket, ahead, wait, replayed)


def issue_ticket(
    session: Session,
    clock: Clock,
    service_id: int,
    priority: object = None,
    actor: Actor | None = None,
    request_id: str | None = None,
    offered: Collection[int] | None = None,
) -> IssuedTicket:
    """Issue the next ticket of ``service_id``; the caller commits.

    ``request_id`` (with a device) makes the call idempotent: a kiosk retrying
    after a lost response gets the same ticket back instead of a second one.
    The earlier ticket is not looked for up front (retries are rare, issues
    are not): the unique (device, request id) pair refuses the second insert
    with an IntegrityError, after which the caller rolls back and asks
    :func:`replayed`. A retry refused on the way (the agency closed meanwhile,
    the quota ran out) is answered with the earlier ticket here.
    """
    actor = actor or Actor()
    prio = parse_priority(priority)
    if request_id is not None and (not isinstance(request_id, str) or not 0 < len(request_id) <= 64):
        raise InvalidInput("invalid_request_id", "request_id must be a string of 1-64 characters")
    begin_write(session)
    try:
        return _issue(session, clock, service_id, prio, actor,
                      request_id if actor.device_id is not None else None, offered)
    except (NotFound, Forbidden, Refused):
        earlier = replayed(session, clock, actor.device_id, request_id)
        if earlier is None:
            raise
        return earlier


def replayed(session: Session, clock: Clock, device_id: int | None,
             request_id: str | None) -> IssuedTicket | None:
    """The ticket an earlier request of this device with this id got, as it stands now."""
    if device_id is None or not request_id:
        return None
    earlier = _replay(session, device_id, request_id)
    if earlier is None:
        return None
    current = latest_leg(session, earlier.token) or earlier
    return describe(session, current, clock, replayed=True)


def _issue(session: Session, clock: Clock, service_id: int, prio: Priority, actor: Actor,
           request_id: str | None, offered: Collection[int] | None) -> IssuedTicket:
    site = get_site(session)
    service = session.execute(_LOCKED_SERVICE, {"service_id": service_id}).scalar_one_or_none()
    if service is None:
        raise NotFound("service_not_found", f"no service with id {service_id}", id=service_id)
    if offered is not None and service.agency_id not in offered:
        # A floor kiosk limited to some agencies issues only for those.
        raise Forbidden("service_not_offered", f"{service.name} is not offered at this kiosk",
                        service=service.name)
    now = clock.now()
    local = now.astimezone(ZoneInfo(site.timezone))  # one reading: the day is the issue time's day
    day = local.date()
    state = hours.evaluate(service.agency.hours, local, set(site.closed_dates or []))
    # Without a quota the count changes nothing: skip the read.
    issued = queries.issued_count(session, service.id, day) if service.daily_quota else 0
    check_can_issue(service, state, issued)

    sequence = next_sequence(session, service.prefix, day)
    ticket = Ticket(
        token=new_token(),
        leg=1,
        number=format_number(service.prefix, sequence),
        prefix=service.prefix,
        sequence=sequence,
        service_day=day,
        agency_id=service.agency_id,
        service_id=service.id,
        priority=prio,
        status=TicketStatus.WAITING,
        device_id=actor.device_id,
        request_id=request_id,
        issued_at=now,
        arrived_at=now,
        queued_at=now,
    )
    session.add(ticket)
    session.flush()  # a retried request_id stops here (IntegrityError), before anything else
    log_event(session, ticket, "issued", None, now, actor, data={"priority": str(prio)})
    issued_ticket = describe(session, ticket, clock, site=site)
    # The place and estimate travel with the event, so publishing need not compute them again.
    record(session, DomainEvent("ticket.issued", ticket.id, agency_ids=(service.agency_id,),
                                data={"ahead": issued_ticket.ahead,
                                      "estimated_wait_minutes": issued_ticket.estimated_wait_minutes}))
    return issued_ticket


def latest_leg(session: Session, token: str) -> Ticket | None:
    """The visitor's ticket as it stands now (the newest leg after transfers)."""
    return session.execute(
        select(Ticket).where(Ticket.token == token).order_by(Ticket.leg.desc()).limit(1)
    ).scalar_one_or_none()
