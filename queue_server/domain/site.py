"""Access to the single Site row and its derived settings."""

from __future__ import annotations

import datetime as dt
import weakref

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from ..models import Agency, Device, Site
from .clock import Clock, local_now
from .errors import NotFound

# The site row's id per database: with it, a request that already read the row
# (issuing, then publishing) finds it in the session instead of asking again.
_site_ids: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


def get_site(session: Session) -> Site:
    engine = session.get_bind()
    known = _site_ids.get(engine)  # type: ignore[arg-type]
    site = session.get(Site, known) if known is not None else None
    if site is None:  # first time, or the database was set up again
        site = session.execute(select(Site).order_by(Site.id).limit(1)).scalar_one_or_none()
        if site is None:
            raise NotFound("site_missing", "no site configured; run 'antrian init' first")
        _site_ids[engine] = site.id  # type: ignore[index]
    # The session's identity map holds rows weakly: keep this one for the session's life.
    session.info["antrian_site"] = site
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
