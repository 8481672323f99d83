"""Pages that run on a device (kiosk, hall display): bind the browser once.

The device is opened once as ``/kiosk?key=<device key>``; the key is checked,
remembered in the signed session cookie and removed from the address bar by a
redirect. Later visits need only the cookie. Without either, the page answers
with a short Indonesian explanation instead of the screen.
"""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, request

from ..extensions import db
from ..models import Device
from .principal import device_from_cookie, from_secret, remember_device


def bind_device(kind: str) -> tuple[Device | None, Response | tuple[str, int] | None]:
    """(device, None) when the browser is bound to a device of this kind,
    otherwise (None, the response to send instead)."""
    key = request.args.get("key")
    if key:
        p = from_secret(db.session, key, current_app.extensions["antrian_clock"].now())
        if p.device is not None and p.device.kind == kind:
            remember_device(p.device)
            args = {k: v for k, v in request.args.items() if k != "key"}
            query = "&".join(f"{k}={v}" for k, v in args.items() if k == "lang" and v in ("id", "en"))
            return None, redirect(request.path + (f"?{query}" if query else ""))
        reason = "demo_credential" if p.demo_refused else "bad_key"
        return None, (render_template("device_setup.html", kind=kind, reason=reason), 403)
    p = device_from_cookie(db.session)
    if p.device is not None and p.device.kind == kind:
        return p.device, None
    reason = "demo_credential" if p.demo_refused else "no_key"
    return None, (render_template("device_setup.html", kind=kind, reason=reason), 401)
