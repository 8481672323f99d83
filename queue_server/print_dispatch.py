"""The server's print loop: drives network/USB/serial/file printers itself and
hands jobs of "agent" printers to the print agents connected over Socket.IO.

Runs as a background task of ``antrian serve`` (and of every gunicorn worker;
claims in the database keep two workers off the same job). Sending happens
outside any database transaction, so a slow printer never holds a lock.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from printer.targets import PrinterError, probe, send

from .api.guards import commit_and_publish
from .domain import printing
from .domain.clock import Clock
from .extensions import db, socketio
from .models import Device, DeviceKind, PrintJob
from .realtime import rooms

SEND_TIMEOUT = 5.0
RECORD_ATTEMPTS = 4  # a printed job's result is retried this often before the lease decides
RECORD_RETRY_SECONDS = 0.5
PROBE_EVERY = 60.0  # seconds between status checks of idle direct printers

_wake = threading.Event()  # green under eventlet's monkey patching


def wake() -> None:
    """A job was queued: attempt it now instead of at the next tick."""
    _wake.set()


def job_message(job: PrintJob) -> dict[str, Any]:
    """What a print agent receives: the ESC/POS bytes, ready to send."""
    return {"job_id": job.id, "number": job.ticket.number, "reprint": job.reprint,
            "data": base64.b64encode(job.payload).decode("ascii")}


def _clock(app: Flask) -> Clock:
    return app.extensions["antrian_clock"]


def print_direct(app: Flask) -> int:
    """One pass over the server's own printers; returns the jobs attempted.

    Printers are driven in parallel (one thread, green under eventlet, per
    printer), so a dead printer's connect timeout never delays another kiosk.
    """
    with app.app_context():
        jobs = printing.claim_due(db.session, _clock(app), agent=False)
        by_target: dict[str, list[tuple[int, bytes]]] = {}
        for job in jobs:
            by_target.setdefault(job.target, []).append((job.id, job.payload))
        db.session.commit()
    threads = [threading.Thread(target=_print_on, args=(app, target, work), daemon=True)
               for target, work in by_target.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(jobs)


def _forget_session() -> None:
    """Drop the session after a database error; its connection may be dead."""
    with contextlib.suppress(Exception):  # rolling back over a dead connection raises too
        db.session.rollback()
    db.session.remove()


def _record(app: Flask, job_id: int, state: str = "", error: PrinterError | None = None) -> None:
    """Store one attempt's outcome, retrying on a fresh connection if the database fails.

    The paper is out (or not) whatever happens to the database now. Left to the
    claim's lease, a printed job whose result was lost (PostgreSQL restarted at
    that moment) would come back and the visitor would get a second ticket.
    Recording is idempotent, so a retry after a lost commit answer is safe.
    """
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            if error is None:
                printing.record_result(db.session, _clock(app), job_id, True, printer_state=state)
            else:
                printing.record_result(db.session, _clock(app), job_id, False, error.code, error.message)
            commit_and_publish()
            return
        except SQLAlchemyError:
            _forget_session()
            if attempt == RECORD_ATTEMPTS:
                raise
            app.logger.warning("recording print job %s failed (database error); retrying", job_id)
            time.sleep(RECORD_RETRY_SECONDS)  # green under eventlet


def _print_on(app: Flask, target: str, work: list[tuple[int, bytes]]) -> None:
    """Print one printer's jobs in order; once it is found offline, the rest of
    this pass fails the same way without waiting for another timeout."""
    down: PrinterError | None = None
    with app.app_context():
        try:
            for job_id, payload in work:
                try:
                    if down is not None:
                        raise down
                    state = send(target, payload, timeout=SEND_TIMEOUT)
                except PrinterError as exc:
                    down = exc if exc.code == "offline" else None
                    _record(app, job_id, error=exc)
                else:
                    _record(app, job_id, state=state)
        except Exception:  # noqa: BLE001 - the claim's lease makes the job come back
            app.logger.exception("printing on %s failed", target)
        finally:
            _forget_session()


def deliver_to_agents(app: Flask) -> int:
    """Send due agent jobs to the rooms of the agents driving those kiosks."""
    with app.app_context():
        jobs = printing.claim_due(db.session, _clock(app), agent=True)
        messages = [(printing.agents_of(db.session, job.device_id), job_message(job)) for job in jobs]
        commit_and_publish()
        for agents, message in messages:
            for agent_id in agents:
                socketio.emit("print.job", message, to=rooms.agent(agent_id))
        return len(messages)


def probe_idle_printers(app: Flask) -> None:
    """Managers see a printer go offline or run out of paper before a visitor does."""
    with app.app_context():
        kiosks = db.session.execute(
            db.select(Device).where(Device.kind == DeviceKind.KIOSK, Device.active.is_(True))
        ).scalars().all()
        targets = [(k.id, printing.printer_setup(k).target) for k in kiosks]
        db.session.rollback()
        for kiosk_id, target in targets:
            if target in ("none", printing.AGENT):
                continue
            state = probe(target)
            kiosk = db.session.get(Device, kiosk_id)
            printing.set_printer_state(db.session, _clock(app), kiosk, state,
                                       "" if state in ("ok", "paper_low", "unknown") else state)
            commit_and_publish()


def run_once(app: Flask) -> int:
    return print_direct(app) + deliver_to_agents(app)


def loop(app: Flask, interval: float = 1.0) -> None:
    """Forever: attempt due jobs, wait for a wake-up or the next tick."""
    last_probe = 0.0  # probe at start-up
    while True:
        try:
            run_once(app)
            if time.monotonic() - last_probe >= PROBE_EVERY:
                probe_idle_printers(app)
                last_probe = time.monotonic()
        except Exception:  # noqa: BLE001 - a bad pass must not stop printing for the day
            app.logger.exception("print dispatch failed")
        finally:
            with app.app_context():
                _forget_session()
        _wake.wait(interval)
        _wake.clear()
