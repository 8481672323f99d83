"""Export the whole configuration as TOML in the format config_import reads.

The file round-trips: importing it into a fresh database rebuilds the same
site, agencies (with their hours inline), services, counters, users and
devices. Secrets are never exported: users come without passwords and
devices without keys (an import keeps existing ones; see config_upload).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .config_import import DEVICE_SETTINGS
from .domain.hours import format_schedule
from .models import Agency, Counter, Device, Site, User
from .toml_writer import pairs


def _hours(hours: dict[str, Any]) -> dict[str, Any] | None:
    if not hours or not hours.get("days"):
        return None  # always open: no hours table
    return {**format_schedule(hours),
            "cutoff_minutes": int(hours.get("cutoff_minutes", 0)),
            "issue_before_open_minutes": int(hours.get("issue_before_open_minutes", 0)),
            "issue_during_breaks": bool(hours.get("issue_during_breaks", True))}


def _site(site: Site | None) -> list[str]:
    if site is None:
        return []
    lines = ["[site]"] + pairs({"name": site.name, "timezone": site.timezone,
                                "default_language": site.default_language,
                                "closed_dates": list(site.closed_dates or [])})
    lines += ["", "[calling]"] + pairs({"priority_mode": site.priority_mode,
                                        "priority_ratio": site.priority_ratio,
                                        "no_show_grace_seconds": site.no_show_grace_seconds})
    return lines + [""]


def _agency(agency: Agency, counters: list[Counter]) -> list[str]:
    lines = ["[[agencies]]"] + pairs({"code": agency.code, "name": agency.name,
                                      "name_en": agency.name_en, "prefix": agency.prefix,
                                      "zone": agency.zone, "active": agency.active})
    hours = _hours(agency.hours)
    if hours is not None:
        lines += ["", "  [agencies.hours]"] + pairs(hours, "  ")
    for s in agency.services:
        lines += ["", "  [[agencies.services]]"] + pairs({
            "code": s.code, "name": s.name, "name_en": s.name_en,
            "prefix": s.prefix if s.prefix != agency.prefix else None,
            "daily_quota": s.daily_quota, "target_wait_minutes": s.target_wait_minutes,
            "avg_service_minutes": float(s.avg_service_minutes), "documents": s.documents,
            "active": s.active, "note_required": s.note_required}, "  ")
    for c in counters:
        lines += ["", "  [[agencies.counters]]"] + pairs({
            "code": c.code, "number": c.number, "name": c.name, "zone": c.zone,
            "services": sorted(s.code for s in c.services)}, "  ")
    return lines + [""]


def _users(session: Session) -> list[str]:
    lines: list[str] = []
    for u in session.execute(select(User).order_by(User.username)).scalars():
        lines += ["[[users]]"] + pairs({"username": u.username, "name": u.name, "role": u.role,
                                        "agency": u.agency.code if u.agency else None,
                                        "active": u.active}) + [""]
    return lines


def _devices(session: Session) -> list[str]:
    lines: list[str] = []
    for d in session.execute(select(Device).order_by(Device.code)).scalars():
        settings = d.settings or {}
        lines += ["[[devices]]"] + pairs({"code": d.code, "kind": d.kind, "name": d.name,
                                          "active": d.active,
                                          **{k: settings[k] for k in DEVICE_SETTINGS
                                             if k in settings}}) + [""]
    return lines


def export_config(session: Session, now: dt.datetime | None = None) -> str:
    """The whole configuration as TOML text (no passwords, no device keys)."""
    site = session.execute(select(Site).order_by(Site.id).limit(1)).scalar_one_or_none()
    agencies = session.execute(
        select(Agency).order_by(Agency.code).options(selectinload(Agency.services))
    ).scalars().all()
    counters = session.execute(
        select(Counter).order_by(Counter.number).options(selectinload(Counter.services))
    ).scalars().all()
    by_agency: dict[int, list[Counter]] = {}
    for counter in counters:
        by_agency.setdefault(counter.agency_id, []).append(counter)
    stamp = f" on {now.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if now else ""
    lines = [f"# Antrian configuration, exported{stamp}.",
             "# Passwords and device keys are not exported: importing keeps the existing ones.",
             ""]
    lines += _site(site)
    for agency in agencies:
        lines += _agency(agency, by_agency.get(agency.id, []))
    lines += _users(session) + _devices(session)
    return "\n".join(lines).rstrip("\n") + "\n"

