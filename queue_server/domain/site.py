"""Access to the single Site row and its derived settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Site
from .clock import Clock, local_now
from .errors import NotFound


def get_site(session: Session) -> Site:
    site = session.execute(select(Site).order_by(Site.id).limit(1)).scalar_one_or_none()
    if site is None:
        raise NotFound("site_missing", "no site configured; run 'antrian init' first")
    return site


def today(session: Session, clock: Clock) -> dt.date:
    return local_now(clock, get_site(session).timezone).date()
