"""Reprinting tickets and the kiosks' printer state (staff and managers)."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from ..database import begin_write
from ..domain import printing, queries
from ..domain.errors import Forbidden, NotFound
from ..domain.site import get_site
from ..extensions import db
from ..links import status_url
from ..models import Device, Role, Ticket, TicketStatus
from ..presenters import device_entry, print_state
from . import bp
from .guards import clock, commit_and_publish, optional_body, principal, require_user, str_field


@bp.post("/tickets/<int:ticket_id>/reprint")
@require_user(Role.OFFICER, Role.MANAGER, Role.ADMIN)
def reprint(ticket_id: int):  # type: ignore[no-untyped-def]
    """Print a ticket again at the kiosk that issued it, or at ``{"kiosk": code}``."""
    body = optional_body()
    kiosk_code = str_field(body, "kiosk", 40)
    user = principal().user
    begin_write(db.session)
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket_not_found", "no ticket with that id", id=ticket_id)
    if user.role == Role.OFFICER and ticket.agency_id != user.agency_id:
        raise Forbidden("not_your_ticket", "the ticket belongs to another agency", number=ticket.number)
    kiosk = None
    if kiosk_code:
        kiosk = db.session.execute(select(Device).where(Device.code == kiosk_code)).scalar_one_or_none()
        if kiosk is None:
            raise NotFound("device_not_found", "no device with that code", code=kiosk_code)
    ahead = estimate = 0
    if ticket.status == TicketStatus.WAITING:
        ahead, estimate = queries.position_and_wait(db.session, ticket, get_site(db.session).priority_mode,
                                                    clock().now())
    job = printing.reprint(db.session, clock(), ticket, kiosk, user, status_url(ticket.token), ahead,
                           estimate)
    commit_and_publish()
    return jsonify(ticket_id=ticket.id, number=ticket.number, print=print_state(job)), 201


@bp.get("/devices")
@require_user(Role.MANAGER, Role.ADMIN)
def devices():  # type: ignore[no-untyped-def]
    """Kiosks (with their printer's state), displays and print agents."""
    open_jobs = printing.open_jobs_by_kiosk(db.session)
    rows = db.session.execute(select(Device).order_by(Device.kind, Device.code)).scalars()
    return jsonify(devices=[device_entry(d, open_jobs.get(d.id, 0)) for d in rows])
