"""The admin start page: what is configured, and links to every admin page."""

from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from ..models import Agency, AuditEntry, Counter, Device, Service, User
from . import bp
from .common import page


def _count(model: type) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    counts = {name: _count(model) for name, model in (
        ("agencies", Agency), ("services", Service), ("counters", Counter), ("users", User),
        ("devices", Device), ("audit", AuditEntry))}
    return page("admin/index.html", counts=counts)
