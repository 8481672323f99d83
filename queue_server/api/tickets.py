"""Issuing (kiosk key) and following (status token) tickets."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy.exc import IntegrityError

from ..domain import calling, issuing, printing
from ..domain.errors import NotFound
from ..domain.lifecycle import Actor
from ..domain.site import device_scope
from ..extensions import db
from ..links import status_url
from ..models import Device, DeviceKind, PrintJob
from ..overview import ticket_status
from ..presenters import iso, print_state, ticket_public
from ..ratelimit import rate_limited
from . import bp
from .agencies import lang
from .guards import clock, commit_and_publish, int_field, json_body, principal, require_device


def issued_body(result: issuing.IssuedTicket, job: PrintJob | None = None) -> dict:
    """The kiosk's answer. ``job`` is the print job made with a new ticket (None:
    the kiosk has no printer); a replayed ticket's newest job is looked up."""
    t = result.ticket
    body = ticket_public(t, lang())
    if result.replayed:
        job = printing.latest_job(db.session, t.token)
    body.update(
        id=t.id,
        token=t.token,
        ahead=result.ahead,
        estimated_wait_minutes=result.estimated_wait_minutes,
        issued_at=iso(t.issued_at),
        status_url=status_url(t.token),
        print=print_state(job),
    )
    return body


def _queue_print(result: issuing.IssuedTicket, kiosk: Device) -> PrintJob | None:
    """Paper is queued with the ticket, in its transaction (see domain.printing)."""
    if result.replayed:
        return None
    return printing.request_print(db.session, clock(), result.ticket, kiosk,
                                  status_url(result.ticket.token), result.ahead,
                                  result.estimated_wait_minutes)


@bp.post("/tickets")
@rate_limited("issue")
@require_device(DeviceKind.KIOSK)
def issue():  # type: ignore[no-untyped-def]
    body = json_body()
    service_id = int_field(body, "service_id")
    device = principal().device
    if device in db.session:
        # Issuing ends the read transaction that authenticated the kiosk (begin_write)
        # and would expire this row; detached, its printer settings stay readable
        # without reading the row again.
        db.session.expunge(device)
    request_id = body.get("request_id")
    try:
        result = issuing.issue_ticket(
            db.session, clock(), service_id, body.get("priority"), Actor(device_id=device.id),
            request_id=request_id, offered=device_scope(db.session, device),
        )
        body = issued_body(result, _queue_print(result, device))
        commit_and_publish()
    except IntegrityError:
        # The kiosk sent this request_id before (a retry, or two racing copies of it):
        # the unique (device, request id) pair refused the second ticket. Answer the first.
        db.session.rollback()
        result = issuing.replayed(db.session, clock(), device.id, request_id)
        if result is None:
            raise
        body = issued_body(result)
    return jsonify(body), 200 if result.replayed else 201


def _by_token(token: str):  # type: ignore[no-untyped-def]
    ticket = issuing.latest_leg(db.session, token) if len(token) <= 32 else None
    if ticket is None:
        raise NotFound("ticket_not_found", "no ticket with that token")
    return ticket


@bp.get("/tickets/<token>")
@rate_limited("status")
def status(token: str):  # type: ignore[no-untyped-def]
    """Anyone holding the token (the QR code) may follow the ticket."""
    return jsonify(ticket_status(db.session, clock(), _by_token(token), lang()))


@bp.post("/tickets/<token>/cancel")
@rate_limited("status")
def cancel(token: str):  # type: ignore[no-untyped-def]
    """The visitor leaves before being called (a walkout), from the status page."""
    if len(token) > 32:
        raise NotFound("ticket_not_found", "no ticket with that token")
    ticket = calling.cancel(db.session, clock(), token, Actor())
    commit_and_publish()
    return jsonify(ticket_public(ticket, lang()))
