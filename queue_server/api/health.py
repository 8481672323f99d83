"""GET /health: is the database reachable, is the message queue reachable."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from sqlalchemy import text

from ..extensions import db
from . import bp


def _database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True, "dialect": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - health reports any failure as data
        db.session.rollback()
        return {"ok": False, "dialect": db.engine.dialect.name, "error": type(exc).__name__}


def _message_queue() -> dict[str, Any]:
    url = current_app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if not url:
        return {"configured": False, "ok": True, "mode": "single-process"}
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return {"configured": True, "ok": True, "mode": "redis"}
    except Exception as exc:  # noqa: BLE001
        return {"configured": True, "ok": False, "mode": "redis", "error": type(exc).__name__}


@bp.get("/health")
def health():  # type: ignore[no-untyped-def]
    database, queue = _database(), _message_queue()
    ok = database["ok"] and queue["ok"]
    body = {"status": "ok" if ok else "degraded", "database": database, "message_queue": queue}
    return jsonify(body), 200 if ok else 503
