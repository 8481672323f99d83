"""Room names, in one place so publishers and subscribers agree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.site import device_scope
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


def device(device_id: int) -> str:
    """A kiosk's own room: the results of its print jobs and its printer's state."""
    return f"device:{device_id}"


def agent(device_id: int) -> str:
    """A print agent's room: the jobs it should print."""
    return f"agent:{device_id}"


def device_agencies(session: Session, device: Device) -> list[int]:
    """The agencies a display or kiosk covers: by zone and/or code; none set = all."""
    scope = device_scope(session, device)
    return scope if scope is not None else list(session.execute(select(Agency.id)).scalars())
