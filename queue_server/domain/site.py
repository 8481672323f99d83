"""Access to the single Site row and its derived settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import Agency, Device, Site
from .clock import Clock, local_now
from .errors import NotFound

_KEPT = "antrian_site"  # session.info key: (id, row) of the site row this session read
_FIRST_SITE = select(Site).order_by(Site.id).limit(1)  # built once: most requests read it


def get_site(session: Session) -> Site:
    """The site row, read once per session (a request issuing and then publishing
    asks several times). The session keeps it: its identity map holds rows only
    weakly. After a commit or rollback expired it, the next use reads it again."""
    kept = session.info.get(_KEPT)
    site = session.get(Site, kept[0]) if kept is not None else None
    if site is None:
        site = session.execute(_FIRST_SITE).scalar_one_or_none()
        if site is None:
            raise NotFound("site_missing", "no site configured; run 'antrian init' first")
        session.info[_KEPT] = (site.id, site)
    return site


def today(session: Session, clock: Clock) -> dt.date:
    return local_now(clock, get_site(session).timezone).date()


def device_scope(session: Session, device: Device) -> list[int] | None:
    """The agencies a kiosk offers or a display shows (its "zones" and/or
    "agencies" settings); None when it covers every agency."""
    zones = list(device.settings.get("zones") or [])
    codes = list(device.settings.get("agencies") or [])
    if not zones and not codes:
        return None
    return list(session.execute(
        select(Agency.id).where(or_(Agency.zone.in_(zones), Agency.code.in_(codes)))
    ).scalars())
