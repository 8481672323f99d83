"""Device presence from Socket.IO connections, kept in the database.

Each server process remembers which of *its* connections belong to a kiosk,
display or print agent, stamps ``devices.last_seen_at`` on connect, every
``HEARTBEAT_SECONDS`` while any such connection lives (one background task
per process, started by the first device and ending with the last one) and
on disconnect. Several processes behind a load balancer each stamp their own
devices, so the database answers "online?" for all of them
(:func:`queue_server.domain.presence.is_online`). Connects and disconnects are
pushed to managers as ``device.presence``.
"""

from __future__ import annotations

import threading

from flask import Flask, current_app

from ..database import begin_write
from ..domain.presence import HEARTBEAT_SECONDS, touch
from ..extensions import db, socketio
from ..models import Device
from . import publish

EXTENSION = "antrian_presence"


class Presence:
    """This process's device connections (sid -> device id) and its heartbeat task."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.sids: dict[str, int] = {}
        self.running = False

    @property
    def interval(self) -> float:
        return float(self.app.config.get("PRESENCE_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))

    def device_ids(self) -> set[int]:
        with self.lock:
            return set(self.sids.values())

    def add(self, sid: str, device_id: int) -> bool:
        """Remember a connection; True when the heartbeat task must be started."""
        with self.lock:
            self.sids[sid] = device_id
            start, self.running = not self.running, True
        return start

    def remove(self, sid: str) -> tuple[int | None, bool]:
        """Forget a connection: (its device, whether the device has another one here)."""
        with self.lock:
            device_id = self.sids.pop(sid, None)
            return device_id, device_id in self.sids.values()

    def stop_if_idle(self) -> set[int]:
        """The devices to stamp now; empty (and the task marked stopped) when none."""
        with self.lock:
            ids = set(self.sids.values())
            if not ids:
                self.running = False
            return ids


def registry(app: Flask | None = None) -> Presence:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if EXTENSION not in app.extensions:
        app.extensions[EXTENSION] = Presence(app)
    return app.extensions[EXTENSION]  # type: ignore[no-any-return]


def _stamp(device_id: int, event: str) -> None:
    """Stamp one device as seen now, commit, and tell managers."""
    clock = current_app.extensions["antrian_clock"]
    begin_write(db.session)
    touch(db.session, [device_id], clock.now())
    db.session.commit()
    device = db.session.get(Device, device_id)
    if device is not None:
        db.session.refresh(device)
        publish.device_presence(device, event, clock.now())
    db.session.rollback()


def connected(sid: str, device_id: int) -> None:
    """A device's connection was accepted: it is online from now."""
    presence = registry()
    if presence.add(sid, device_id):
        socketio.start_background_task(_heartbeat, presence)
    try:
        _stamp(device_id, "connected")
    except Exception:  # noqa: BLE001 - presence must never refuse a device
        db.session.rollback()
        current_app.logger.exception("recording the connect of device %s failed", device_id)


def disconnected(sid: str) -> None:
    """A connection ended; the device's last sign of life is now, unless it
    still has another connection to this process."""
    device_id, still_here = registry().remove(sid)
    if device_id is None or still_here:
        return
    try:
        _stamp(device_id, "disconnected")
    except Exception:  # noqa: BLE001
        db.session.rollback()
        current_app.logger.exception("recording the disconnect of device %s failed", device_id)


def _heartbeat(presence: Presence) -> None:
    """Stamp this process's connected devices until none is left."""
    app = presence.app
    while True:
        socketio.sleep(presence.interval)
        ids = presence.stop_if_idle()
        if not ids:
            return
        with app.app_context():
            try:
                begin_write(db.session)
                touch(db.session, ids, app.extensions["antrian_clock"].now())
                db.session.commit()
            except Exception:  # noqa: BLE001 - keep beating; the next tick retries
                db.session.rollback()
                app.logger.exception("device heartbeat failed")
            finally:
                db.session.remove()
