"""Socket.IO connect/subscribe handlers: authenticate, join rooms, snapshot.

Clients authenticate in the connect ``auth`` payload: ``{"key": device_key}``
for kiosks and displays, ``{"token": bearer}`` for people using scripts,
``{"ticket": status_token}`` for a visitor page; a logged-in browser needs
nothing (its session cookie is used). Every (re)connect receives a full
``snapshot`` so a client never has to replay what it missed.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, session
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, emit, join_room, leave_room

from ..auth.principal import Principal, from_secret
from ..domain import calling, issuing, queries
from ..domain.site import get_site
from ..extensions import db, socketio
from ..models import Counter, DeviceKind, Role, TicketStatus
from ..overview import agencies_status, recent_calls, waiting_by_agency
from ..presenters import counter_state, ticket_public
from . import rooms


def _clock():  # type: ignore[no-untyped-def]
    return current_app.extensions["antrian_clock"]


def _principal(auth: Any) -> Principal:
    auth = auth if isinstance(auth, dict) else {}
    secret = auth.get("key") or auth.get("token")
    if isinstance(secret, str) and secret:
        return from_secret(db.session, secret, _clock().now())
    if current_user.is_authenticated:
        return Principal(user=current_user._get_current_object(), via="session")
    return Principal()


def _visitor_snapshot(token: str) -> dict[str, Any] | None:
    ticket = issuing.latest_leg(db.session, token)
    if ticket is None:
        return None
    body = ticket_public(ticket)
    if ticket.status == TicketStatus.WAITING:
        ahead = queries.ahead_of(db.session, ticket, get_site(db.session).priority_mode)
        body["ahead"] = ahead
        body["estimated_wait_minutes"] = queries.estimated_wait_minutes(
            db.session, ticket.service, ahead, _clock().now())
    for old in [r for r in session.get("service_rooms", [])]:
        leave_room(old)
    join_room(rooms.ticket(token))
    join_room(rooms.service(ticket.service_id))
    session["service_rooms"] = [rooms.service(ticket.service_id)]
    return {"role": "visitor", "ticket": body}


def _device_snapshot(p: Principal) -> dict[str, Any]:
    device = p.device
    agency_ids = rooms.device_agencies(db.session, device)
    for agency_id in agency_ids:
        join_room(rooms.public_agency(agency_id))
    snapshot: dict[str, Any] = {"role": device.kind, "device": {"code": device.code,
                                                                "name": device.name}}
    if device.kind == DeviceKind.DISPLAY:
        snapshot["calls"] = recent_calls(db.session, _clock(), agency_ids, "id")
        counts = waiting_by_agency(db.session, _clock())
        snapshot["waiting"] = {str(a): counts.get(a, 0) for a in agency_ids}
    else:
        snapshot["agencies"] = agencies_status(db.session, _clock(), "id", agency_ids)
    return snapshot


def _staff_snapshot(p: Principal) -> dict[str, Any]:
    user = p.user
    if user.role in (Role.MANAGER, Role.ADMIN):
        join_room(rooms.MANAGERS)
        agency_ids = None
    else:
        join_room(rooms.staff_agency(user.agency_id))
        agency_ids = [user.agency_id]
    return {"role": user.role, "user": {"id": user.id, "name": user.name},
            "agencies": agencies_status(db.session, _clock(), "id", agency_ids)}


def _snapshot(p: Principal, auth: Any) -> dict[str, Any] | None:
    if p.device is not None and p.device.kind in (DeviceKind.DISPLAY, DeviceKind.KIOSK):
        return _device_snapshot(p)
    if p.user is not None:
        return _staff_snapshot(p)
    token = auth.get("ticket") if isinstance(auth, dict) else None
    if isinstance(token, str) and 0 < len(token) <= 32:
        return _visitor_snapshot(token)
    return None


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    p = _principal(auth)
    if p.demo_refused:
        raise ConnectionRefusedError("demo_credential")
    snapshot = _snapshot(p, auth)
    db.session.rollback()  # end the read transaction; never hold SQLite snapshots open
    if snapshot is None:
        raise ConnectionRefusedError("unauthorized")
    session["principal"] = {"user_id": p.user.id if p.user else None,
                            "device_id": p.device.id if p.device else None, "auth": auth}
    emit("snapshot", snapshot)


@socketio.on("resync")
def on_resync(_data: Any = None) -> None:
    """A client that suspects it missed something asks for a fresh snapshot."""
    auth = session.get("principal", {}).get("auth")
    snapshot = _snapshot(_principal(auth), auth)
    db.session.rollback()
    if snapshot is not None:
        emit("snapshot", snapshot)


@socketio.on("subscribe_counter")
def on_subscribe_counter(data: Any) -> dict[str, Any]:
    """An officer's page follows one counter; only counters it may operate."""
    auth = session.get("principal", {}).get("auth")
    p = _principal(auth)
    counter_id = data.get("counter_id") if isinstance(data, dict) else None
    counter = db.session.get(Counter, counter_id) if isinstance(counter_id, int) else None
    try:
        if p.user is None or counter is None:
            return {"ok": False, "error": "counter_not_found"}
        if p.user.role == Role.OFFICER and counter.agency_id != p.user.agency_id:
            return {"ok": False, "error": "not_your_counter"}
        join_room(rooms.counter(counter.id))
        queue = calling.queue_order(db.session, _clock(), counter, limit=50)
        from ..presenters import ticket_staff

        return {"ok": True, "counter": counter_state(counter),
                "queue": [ticket_staff(t) for t in queue]}
    finally:
        db.session.rollback()


@socketio.on("disconnect")
def on_disconnect(*_args: Any) -> None:
    db.session.remove()
