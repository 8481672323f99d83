"""Absolute links printed on tickets and shown as QR codes."""

from __future__ import annotations

from flask import current_app, request


def status_url(token: str) -> str:
    """The visitor's status page. Phones reach the server over the LAN, so the
    configured PUBLIC_URL (ANTRIAN_PUBLIC_URL) wins; otherwise the address the
    kiosk itself used, which is the LAN address unless the kiosk runs on the
    server machine."""
    base = str(current_app.config.get("PUBLIC_URL") or "").strip() or request.host_url
    return base.rstrip("/") + "/t/" + token
