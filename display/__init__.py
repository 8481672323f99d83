"""The hall TV display (/display/<code>): calls shown large and announced.

Plain HTML/CSS/JS fed by Socket.IO: a snapshot on every (re)connect, then
``ticket.called`` and ``queue.changed`` for the agencies the display covers.
The spoken text comes with each call (``announcement``, built by
queue_server.domain.announce), so every display reads numbers the same way.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for

from queue_server.auth.device_pages import bind_device
from queue_server.domain.site import get_site
from queue_server.extensions import db
from queue_server.models import Device, DeviceKind

bp = Blueprint("display", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

DEFAULT_RUNNING_TEXT = ("Selamat datang di {site}. Siapkan dokumen persyaratan Anda sebelum dipanggil. "
                        "Layanan prioritas bagi lansia, penyandang disabilitas, dan ibu hamil.")
VOICES = ("auto", "clips", "speech")


def display_config(device: Device) -> dict[str, Any]:
    """What the page script needs, rendered into the page as JSON."""
    site = get_site(db.session)
    settings = device.settings or {}
    voice = settings.get("voice", "auto")
    return {
        "device": {"code": device.code, "name": device.name},
        "site": {"name": site.name, "timezone": site.timezone},
        "running_text": str(settings.get("running_text") or DEFAULT_RUNNING_TEXT.format(site=site.name)),
        "announce_english": bool(settings.get("announce_english", False)),
        "voice": voice if voice in VOICES else "auto",
        "clips": url_for("display.static", filename="voice/id/"),
        "history": 8,  # calls listed besides the current one
        "flash_seconds": 6,
    }


@bp.get("/<code>")
def page(code: str):  # type: ignore[no-untyped-def]
    device, refusal = bind_device(DeviceKind.DISPLAY)
    if refusal is not None:
        return refusal
    if device.code != code:
        return render_template("device_setup.html", kind="display", reason="bad_key"), 403
    return render_template("display/display.html", config=display_config(device))
