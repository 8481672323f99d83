"""GET /agencies: what a kiosk or an MPP Digital app offers right now."""

from __future__ import annotations

from flask import jsonify
from flask_babel import get_locale

from ..domain.site import device_scope
from ..extensions import db
from ..models import DeviceKind
from ..overview import agencies_status
from . import bp
from .guards import clock, principal


def lang() -> str:
    return str(get_locale() or "id")


@bp.get("/agencies")
def list_agencies():  # type: ignore[no-untyped-def]
    """Everything, except for a kiosk: only the agencies it offers."""
    device = principal().device
    kiosk = device is not None and device.kind == DeviceKind.KIOSK
    only = device_scope(db.session, device) if kiosk else None
    return jsonify(agencies=agencies_status(db.session, clock(), lang(), only))
