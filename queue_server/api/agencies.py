"""GET /agencies: what a kiosk or an MPP Digital app offers right now."""

from __future__ import annotations

from flask import jsonify
from flask_babel import get_locale

from ..extensions import db
from ..overview import agencies_status
from . import bp
from .guards import clock


def lang() -> str:
    return str(get_locale() or "id")


@bp.get("/agencies")
def list_agencies():  # type: ignore[no-untyped-def]
    return jsonify(agencies=agencies_status(db.session, clock(), lang()))
