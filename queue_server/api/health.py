"""GET /health: is the database reachable, is the message queue reachable.

A load balancer or monitor polls it; 503 names the part that is down, so the
operator knows whether to look at PostgreSQL or at Redis.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from sqlalchemy import text

from ..extensions import db, socketio
from ..presenters import iso
from ..realtime.message_queue import link_state, safe_url
from . import bp


def _database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True, "dialect": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - health reports any failure as data
        db.session.rollback()
        return {"ok": False, "dialect": db.engine.dialect.name, "error": type(exc).__name__}


def _ping(url: str) -> str:
    """'' when Redis answers a PING within a second, else the exception's class name."""
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return ""
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__


def _message_queue() -> dict[str, Any]:
    url = current_app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if not url:
        return {"configured": False, "ok": True, "mode": "single-process"}
    failure = _ping(url)
    link = link_state(socketio)  # this process's own view: publishing and listening
    if not failure and (link is None or link.ok):
        return {"configured": True, "ok": True, "mode": "redis"}
    body: dict[str, Any] = {"configured": True, "ok": False, "mode": "redis", "url": safe_url(url)}
    if failure:  # events reach only the clients of the process that emitted them
        body.update(error="redis_unreachable", detail=failure)
    else:  # Redis answers again; this process resubscribes within seconds
        body.update(error="redis_reconnecting")
    if link is not None and not link.ok:
        body.update(since=iso(link.since), events_not_shared=link.events_not_shared)
    return body


@bp.get("/health")
def health():  # type: ignore[no-untyped-def]
    database, queue = _database(), _message_queue()
    ok = database["ok"] and queue["ok"]
    body = {"status": "ok" if ok else "degraded", "database": database, "message_queue": queue}
    if not ok:
        body["problems"] = [name for name, part in (("database", database), ("message_queue", queue))
                            if not part["ok"]]
    return jsonify(body), 200 if ok else 503
