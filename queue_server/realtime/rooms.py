"""Room names, in one place so publishers and subscribers agree."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import Agency, Device

MANAGERS = "managers"


def public_agency(agency_id: int) -> str:
    return f"public:agency:{agency_id}"


def staff_agency(agency_id: int) -> str:
    return f"staff:agency:{agency_id}"


def counter(counter_id: int) -> str:
    return f"counter:{counter_id}"


def ticket(token: str) -> str:
    return f"ticket:{token}"


def service(service_id: int) -> str:
    return f"service:{service_id}"


def device_agencies(session: Session, device: Device) -> list[int]:
    """The agencies a display or kiosk covers: by zone and/or code; none set = all."""
    zones: Collection[str] = device.settings.get("zones") or []
    codes: Collection[str] = device.settings.get("agencies") or []
    stmt = select(Agency.id)
    if zones or codes:
        stmt = stmt.where(or_(Agency.zone.in_(list(zones)), Agency.code.in_(list(codes))))
    return list(session.execute(stmt).scalars())
