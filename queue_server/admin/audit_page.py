"""The audit log: the latest administrative changes, newest first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import AuditEntry, Site
from . import bp
from .common import page

PER_PAGE = 50


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(entry: AuditEntry) -> list[Change]:
    """The entry's fields as rows "field: before -> after"."""
    names = sorted(set(entry.before or {}) | set(entry.after or {}))
    return [Change(n, _text((entry.before or {}).get(n)), _text((entry.after or {}).get(n)))
            for n in names]


def _timezone() -> ZoneInfo:
    site = db.session.execute(select(Site).order_by(Site.id).limit(1)).scalar_one_or_none()
    return ZoneInfo(site.timezone if site else "Asia/Jakarta")


@bp.get("/audit")
def audit():  # type: ignore[no-untyped-def]
    number = request.args.get("page", "1")
    current = int(number) if number.isdigit() and int(number) > 0 else 1
    total = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    pages = max(1, -(-total // PER_PAGE))
    current = min(current, pages)
    entries = db.session.execute(
        select(AuditEntry).order_by(AuditEntry.id.desc()).options(selectinload(AuditEntry.user))
        .offset((current - 1) * PER_PAGE).limit(PER_PAGE)
    ).scalars().all()
    tz = _timezone()
    rows = [(e, e.at.astimezone(tz), changes(e)) for e in entries]
    return page("admin/audit.html", rows=rows, page_number=current, pages=pages, total=total)
