"""Issuing (kiosk key) and following (status token) tickets."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy.exc import IntegrityError

from ..domain import calling, issuing, queries
from ..domain.errors import NotFound
from ..domain.lifecycle import Actor
from ..domain.site import get_site
from ..extensions import db
from ..models import DeviceKind, TicketStatus
from ..presenters import iso, ticket_public
from . import bp
from .agencies import lang
from .guards import clock, commit_and_publish, int_field, json_body, principal, require_device


def issued_body(result: issuing.IssuedTicket) -> dict:
    t = result.ticket
    body = ticket_public(t, lang())
    body.update(
        id=t.id,
        token=t.token,
        ahead=result.ahead,
        estimated_wait_minutes=result.estimated_wait_minutes,
        issued_at=iso(t.issued_at),
    )
    return body


@bp.post("/tickets")
@require_device(DeviceKind.KIOSK)
def issue():  # type: ignore[no-untyped-def]
    body = json_body()
    service_id = int_field(body, "service_id")
    device = principal().device
    request_id = body.get("request_id")
    try:
        result = issuing.issue_ticket(
            db.session, clock(), service_id, body.get("priority"), Actor(device_id=device.id),
            request_id=request_id,
        )
        commit_and_publish()
    except IntegrityError:
        # Two retries of the same request raced; the other one won: return its ticket.
        db.session.rollback()
        result = issuing.issue_ticket(
            db.session, clock(), service_id, body.get("priority"), Actor(device_id=device.id),
            request_id=request_id,
        )
        if not result.replayed:
            raise
        db.session.commit()
    return jsonify(issued_body(result)), 200 if result.replayed else 201


def _by_token(token: str):  # type: ignore[no-untyped-def]
    ticket = issuing.latest_leg(db.session, token) if len(token) <= 32 else None
    if ticket is None:
        raise NotFound("ticket_not_found", "no ticket with that token")
    return ticket


@bp.get("/tickets/<token>")
def status(token: str):  # type: ignore[no-untyped-def]
    """Anyone holding the token (the QR code) may follow the ticket."""
    ticket = _by_token(token)
    body = ticket_public(ticket, lang())
    ahead = estimate = None
    if ticket.status == TicketStatus.WAITING:
        ahead = queries.ahead_of(db.session, ticket, get_site(db.session).priority_mode)
        estimate = queries.estimated_wait_minutes(db.session, ticket.service, ahead, clock().now())
    body.update(ahead=ahead, estimated_wait_minutes=estimate, transferred=ticket.leg > 1)
    return jsonify(body)


@bp.post("/tickets/<token>/cancel")
def cancel(token: str):  # type: ignore[no-untyped-def]
    """The visitor leaves before being called (a walkout), from the status page."""
    if len(token) > 32:
        raise NotFound("ticket_not_found", "no ticket with that token")
    ticket = calling.cancel(db.session, clock(), token, Actor())
    commit_and_publish()
    return jsonify(ticket_public(ticket, lang()))
