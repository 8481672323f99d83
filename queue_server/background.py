"""The server's background tasks: the end-of-day expiry loop (which also rolls
closed days up for the reports) and the print loop.

Every server process runs them: ``antrian serve`` and each gunicorn worker
(started from wsgi.py after the worker forked). Several copies are safe: print
jobs are claimed in the database (domain/printing.py), and on PostgreSQL an
advisory lock lets one process at a time expire tickets, so two workers
starting together do not both log the same expiry. (On SQLite, BEGIN
IMMEDIATE already makes the second run find nothing left to expire.)
"""

from __future__ import annotations

import datetime as dt
import os

from flask import Flask
from sqlalchemy import text

from .extensions import db, socketio

EXPIRY_LOCK = 0x616E7472  # "antr": the advisory lock key of the expiry run
_started_in: set[int] = set()  # process ids that already started the tasks


def _expiry_lock_taken() -> bool:
    """On PostgreSQL, take the transaction's expiry lock unless another process holds it."""
    if db.engine.dialect.name != "postgresql":
        return True
    return bool(db.session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                   {"key": EXPIRY_LOCK}).scalar_one())


def expire_once(app: Flask) -> int:
    """One expiry run, committed and published; returns the tickets expired."""
    from .api.guards import commit_and_publish
    from .domain.expiry import expire_past_days

    with app.app_context():
        try:
            expired = _expiry_lock_taken() and expire_past_days(db.session, app.extensions["antrian_clock"])
            if expired:
                commit_and_publish()
            else:
                db.session.rollback()
            return int(expired)
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


ROLLUP_LOOKBACK_DAYS = 7  # a server switched off over a long weekend still catches up


def roll_up_recent_days(app: Flask) -> int:
    """Roll up the closed days of the last week not rolled yet (after midnight's expiry:
    yesterday), so the morning's first report does not pay for it; returns how many."""
    from .domain import rollup
    from .domain.site import get_site, today

    with app.app_context():
        try:
            clock = app.extensions["antrian_clock"]
            day = today(db.session, clock)
            first = day - dt.timedelta(days=ROLLUP_LOOKBACK_DAYS)
            before = rollup.rolled_days(db.session, first, day)
            rollup.ensure(db.session, first, day, day, get_site(db.session).timezone, clock.now())
            return len(rollup.rolled_days(db.session, first, day) - before)
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


def expiry_loop(app: Flask) -> None:
    """Expire yesterday's unfinished tickets at start-up and every minute, then
    roll the closed days up for the reports."""
    while True:
        try:
            expire_once(app)
            roll_up_recent_days(app)
        except Exception:  # noqa: BLE001 - keep the loop alive; log and retry
            app.logger.exception("end-of-day work (expiry, report roll-up) failed")
        socketio.sleep(app.config["EXPIRY_INTERVAL_SECONDS"])


def start_background_tasks(app: Flask) -> bool:
    """Start both loops once in this process; False when they already run here."""
    if os.getpid() in _started_in:
        return False
    _started_in.add(os.getpid())
    from . import print_dispatch

    socketio.start_background_task(expiry_loop, app)
    socketio.start_background_task(print_dispatch.loop, app)
    return True
