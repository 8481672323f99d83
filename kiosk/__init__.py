"""The touchscreen kiosk (/kiosk): pick an agency and a service, get a ticket.

The page is plain HTML/CSS/JS; it talks to the JSON API (issuing) and to
Socket.IO (live waiting counts, open/closed, print results) with the device
session the browser got when it was opened once with its key.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template
from flask_wtf.csrf import generate_csrf

from queue_server.auth.device_pages import bind_device
from queue_server.domain.site import get_site
from queue_server.extensions import db
from queue_server.models import Device, DeviceKind

bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

IDLE_SECONDS = 30  # back to the start screen when nobody touches it
RESULT_SECONDS = 10  # how long the ticket stays on screen


def kiosk_config(device: Device) -> dict[str, Any]:
    """What the page script needs, rendered into the page as JSON."""
    site = get_site(db.session)
    settings = device.settings or {}
    return {
        "device": {"code": device.code, "name": device.name},
        # The time zone makes "today"/"tomorrow" of opening times the site's, not the browser's.
        "site": {"name": site.name, "timezone": site.timezone},
        "default_lang": site.default_language if site.default_language in ("id", "en") else "id",
        "printer": {"target": settings.get("printer") or "none"},
        "idle_seconds": int(settings.get("idle_seconds", IDLE_SECONDS)),
        "result_seconds": int(settings.get("result_seconds", RESULT_SECONDS)),
        "csrf_token": generate_csrf(),
        "api": "/api/v1",
        # Base of the status link under the QR code when the API answer has no status_url.
        "public_url": str(current_app.config.get("PUBLIC_URL") or "").rstrip("/"),
        "debug": bool(current_app.config.get("TESTING")),
    }


@bp.get("/")
def page():  # type: ignore[no-untyped-def]
    device, refusal = bind_device(DeviceKind.KIOSK)
    if refusal is not None:
        return refusal
    return render_template("kiosk/kiosk.html", config=kiosk_config(device))
