"""Socket.IO connect/subscribe handlers: authenticate, join rooms, snapshot.

Clients authenticate in the connect ``auth`` payload: ``{"key": device_key}``
for kiosks and displays, ``{"token": bearer}`` for people using scripts,
``{"ticket": status_token}`` for a visitor page; a logged-in browser needs
nothing (its session cookie is used). Every (re)connect receives a full
``snapshot`` so a client never has to replay what it missed.

A new handler goes into :data:`HANDLERS`; :func:`attach` binds them to each
app's Socket.IO server.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request, session
from flask_socketio import ConnectionRefusedError, SocketIO, emit, join_room, leave_room

from ..auth.principal import Principal, from_cookies, from_secret
from ..domain import calling, issuing, printing
from ..extensions import db
from ..models import Counter, Device, DeviceKind, PrintJob, Role
from ..overview import agencies_status, recent_calls, ticket_status, waiting_by_agency
from ..presenters import counter_state, iso, printer_entry
from . import presence, rooms


def _clock():  # type: ignore[no-untyped-def]
    return current_app.extensions["antrian_clock"]


def _principal(auth: Any) -> Principal:
    auth = auth if isinstance(auth, dict) else {}
    secret = auth.get("key") or auth.get("token")
    if isinstance(secret, str) and secret:
        return from_secret(db.session, secret, _clock().now())
    if auth.get("ticket"):
        return Principal()  # a visitor page: the ticket token decides, not cookies
    return from_cookies(db.session)


def _visitor_snapshot(token: str) -> dict[str, Any] | None:
    ticket = issuing.latest_leg(db.session, token)
    if ticket is None:
        return None
    body = ticket_status(db.session, _clock(), ticket, "id")
    for old in [r for r in session.get("service_rooms", [])]:
        leave_room(old)
    join_room(rooms.ticket(token))
    join_room(rooms.service(ticket.service_id))
    session["service_rooms"] = [rooms.service(ticket.service_id)]
    return {"role": "visitor", "ticket": body}


def _agent_snapshot(p: Principal) -> dict[str, Any]:
    """A print agent joins its room and gets every unfinished job of its kiosks."""
    from ..print_dispatch import job_message

    agent = p.device
    join_room(rooms.agent(agent.id))
    kiosks = printing.agent_kiosks(db.session, agent)
    jobs = [job_message(j) for j in printing.open_agent_jobs(db.session, _clock(), kiosks)]
    codes = [db.session.get(Device, k).code for k in kiosks]
    db.session.commit()
    return {"role": "print_agent", "device": {"code": agent.code, "name": agent.name},
            "kiosks": codes, "jobs": jobs}


def _device_snapshot(p: Principal) -> dict[str, Any]:
    device = p.device
    if device.kind == DeviceKind.KIOSK:
        join_room(rooms.device(device.id))
    agency_ids = rooms.device_agencies(db.session, device)
    for agency_id in agency_ids:
        join_room(rooms.public_agency(agency_id))
    snapshot: dict[str, Any] = {"role": device.kind, "device": {"code": device.code,
                                                                "name": device.name}}
    if device.kind == DeviceKind.DISPLAY:
        # 20: recalls are listed too, and the board shows ~10 tickets.
        snapshot["calls"] = recent_calls(db.session, _clock(), agency_ids, "id", limit=20)
        snapshot["server_time"] = iso(_clock().now())  # TVs' own clocks are often wrong
        counts = waiting_by_agency(db.session, _clock())
        snapshot["waiting"] = {str(a): counts.get(a, 0) for a in agency_ids}
    else:
        snapshot["agencies"] = agencies_status(db.session, _clock(), "id", agency_ids)
        open_jobs = printing.open_jobs_by_kiosk(db.session).get(device.id, 0)
        snapshot["printer"] = printer_entry(device, open_jobs)
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
    if p.device is not None and p.device.kind == DeviceKind.PRINT_AGENT:
        return _agent_snapshot(p)
    if p.user is not None:
        return _staff_snapshot(p)
    token = auth.get("ticket") if isinstance(auth, dict) else None
    if isinstance(token, str) and 0 < len(token) <= 32:
        return _visitor_snapshot(token)
    return None


def on_connect(auth: Any = None) -> None:
    p = _principal(auth)
    if p.demo_refused:
        raise ConnectionRefusedError("demo_credential")
    snapshot = _snapshot(p, auth)
    db.session.rollback()  # end the read transaction; never hold SQLite snapshots open
    if snapshot is None:
        raise ConnectionRefusedError("unauthorized")
    device_id = p.device.id if p.device else None
    session["principal"] = {"user_id": p.user.id if p.user else None,
                            "device_id": device_id, "auth": auth}
    emit("snapshot", snapshot)
    if device_id is not None:
        presence.connected(request.sid, device_id)  # type: ignore[attr-defined]


def on_resync(_data: Any = None) -> None:
    """A client that suspects it missed something asks for a fresh snapshot."""
    auth = session.get("principal", {}).get("auth")
    snapshot = _snapshot(_principal(auth), auth)
    db.session.rollback()
    if snapshot is not None:
        emit("snapshot", snapshot)


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


def _agent() -> Device | None:
    """The print agent behind this connection, re-read (it may have been disabled)."""
    device_id = session.get("principal", {}).get("device_id")
    device = db.session.get(Device, device_id) if device_id else None
    if device is None or not device.active or device.kind != DeviceKind.PRINT_AGENT:
        return None
    return device


def on_print_result(data: Any) -> dict[str, Any]:
    """A print agent reports one attempt: {job_id, ok, error_code?, message?, printer_state?}."""
    from ..api.guards import commit_and_publish

    agent = _agent()
    job_id = data.get("job_id") if isinstance(data, dict) else None
    try:
        if agent is None or not isinstance(job_id, int):
            return {"ok": False, "error": "forbidden" if agent is None else "invalid_field"}
        job = db.session.get(PrintJob, job_id)
        if job is None or job.device_id not in printing.agent_kiosks(db.session, agent):
            return {"ok": False, "error": "job_not_found"}
        job = printing.record_result(
            db.session, _clock(), job_id, data.get("ok") is True, str(data.get("error_code") or "error"),
            str(data.get("message") or "")[:150], str(data.get("printer_state") or ""))
        status = job.status
        commit_and_publish()
        return {"ok": True, "status": status}
    finally:
        db.session.rollback()


def on_printer_status(data: Any) -> dict[str, Any]:
    """A print agent's periodic report of its printer: {state, message?}."""
    from ..api.guards import commit_and_publish
    from ..models import PrinterState

    agent = _agent()
    state = data.get("state") if isinstance(data, dict) else None
    try:
        if agent is None or state not in {s.value for s in PrinterState}:
            return {"ok": False, "error": "forbidden" if agent is None else "invalid_field"}
        for kiosk_id in printing.agent_kiosks(db.session, agent):
            printing.set_printer_state(db.session, _clock(), db.session.get(Device, kiosk_id), state,
                                       str(data.get("message") or "")[:200])
        commit_and_publish()
        return {"ok": True}
    finally:
        db.session.rollback()


def on_disconnect(*_args: Any) -> None:
    """A device's last sign of life is now; a print agent gone means its kiosks
    cannot print: managers should know both."""
    try:
        presence.disconnected(request.sid)  # type: ignore[attr-defined]
        agent = _agent()
        if agent is not None:
            from ..api.guards import commit_and_publish

            for kiosk_id in printing.agent_kiosks(db.session, agent):
                printing.set_printer_state(db.session, _clock(), db.session.get(Device, kiosk_id),
                                           "offline", "print agent disconnected")
            commit_and_publish()
    finally:
        db.session.remove()


HANDLERS = (("connect", on_connect), ("resync", on_resync), ("subscribe_counter", on_subscribe_counter),
            ("print.result", on_print_result), ("printer.status", on_printer_status),
            ("disconnect", on_disconnect))


def attach(sio: SocketIO) -> None:
    """Bind the handlers to the Socket.IO server of the app being created.

    ``@socketio.on`` at import time would bind them only to the server that
    existed then, so a second app in the same process (tests) would get a
    server without handlers; binding again replaces, so this is idempotent.
    """
    for name, handler in HANDLERS:
        sio.on(name)(handler)
