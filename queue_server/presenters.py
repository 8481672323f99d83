"""Turn models into the JSON shapes shared by the API and Socket.IO events.

One function per shape so a ticket looks the same whether it arrives by REST
or by push.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .domain.hours import OpenState, format_schedule
from .models import Agency, Counter, Device, PrintJob, Service, Ticket


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def localized(obj: Agency | Service, lang: str) -> str:
    return (obj.name_en or obj.name) if lang == "en" else obj.name


def counter_brief(counter: Counter | None) -> dict[str, Any] | None:
    if counter is None:
        return None
    return {"id": counter.id, "number": counter.number, "name": counter.name, "zone": counter.zone}


def ticket_public(ticket: Ticket, lang: str = "id") -> dict[str, Any]:
    """What a visitor or a display may see: no other visitor, no officer."""
    return {
        "number": ticket.number,
        "status": ticket.status,
        "priority": ticket.priority,
        "service": {"id": ticket.service_id, "code": ticket.service.code,
                    "name": localized(ticket.service, lang)},
        "agency": {"id": ticket.agency_id, "code": ticket.agency.code,
                   "name": localized(ticket.agency, lang)},
        "counter": counter_brief(ticket.counter) if ticket.status in ("called", "serving") else None,
        "issued_at": iso(ticket.issued_at),
        "called_at": iso(ticket.called_at),
        "service_day": ticket.service_day.isoformat(),
    }


def ticket_staff(ticket: Ticket, lang: str = "id") -> dict[str, Any]:
    """The officer's view: adds ids, times and durations."""
    data = ticket_public(ticket, lang)
    data.update(
        id=ticket.id,
        leg=ticket.leg,
        previous_id=ticket.previous_id,
        arrived_at=iso(ticket.arrived_at),
        queued_at=iso(ticket.queued_at),
        started_at=iso(ticket.started_at),
        finished_at=iso(ticket.finished_at),
        recall_count=ticket.recall_count,
        note=ticket.note,
        counter=counter_brief(ticket.counter),
        wait_seconds=ticket.wait_seconds,
        walk_seconds=ticket.walk_seconds,
        service_seconds=ticket.service_seconds,
        total_seconds=ticket.total_seconds,
    )
    return data


def counter_state(counter: Counter, lang: str = "id") -> dict[str, Any]:
    current = counter.current_ticket
    return {
        "id": counter.id,
        "code": counter.code,
        "number": counter.number,
        "name": counter.name,
        "zone": counter.zone,
        "agency": {"id": counter.agency_id, "code": counter.agency.code,
                   "name": localized(counter.agency, lang)},
        "state": counter.state,
        "officer": ({"id": counter.officer.id, "name": counter.officer.name}
                    if counter.officer else None),
        "service_ids": sorted(s.id for s in counter.services),
        "current_ticket": ticket_staff(current, lang)
        if current is not None and current.status in ("called", "serving") else None,
        "state_changed_at": iso(counter.state_changed_at),
    }


def open_state(state: OpenState) -> dict[str, Any]:
    return {
        "can_issue": state.can_issue,
        "serving": state.serving,
        "reason": state.reason,
        "next_open": state.next_open.isoformat() if state.next_open else None,
    }


def service_entry(service: Service, waiting: int, quota_left: int | None, lang: str) -> dict[str, Any]:
    return {
        "id": service.id,
        "code": service.code,
        "name": localized(service, lang),
        "name_id": service.name,
        "name_en": service.name_en,
        "prefix": service.prefix,
        "active": service.active,
        "daily_quota": service.daily_quota,
        "quota_left": quota_left,
        "waiting": waiting,
        "target_wait_minutes": service.target_wait_minutes,
        "documents": [d.strip() for d in service.documents.split(";") if d.strip()],
        "note_required": service.note_required,
    }


def agency_entry(agency: Agency, state: OpenState, services: list[dict[str, Any]],
                 lang: str) -> dict[str, Any]:
    return {
        "id": agency.id,
        "code": agency.code,
        "name": localized(agency, lang),
        "name_id": agency.name,
        "name_en": agency.name_en,
        "prefix": agency.prefix,
        "zone": agency.zone,
        "active": agency.active,
        "open": open_state(state),
        "hours": format_schedule(agency.hours) if agency.hours else None,
        "waiting": sum(s["waiting"] for s in services),
        "services": services,
    }


def print_state(job: PrintJob | None) -> dict[str, Any]:
    """A ticket's paper as the kiosk and staff see it."""
    if job is None:
        return {"job_id": None, "status": "none", "attempts": 0, "error": ""}
    return {"job_id": job.id, "status": job.status, "attempts": job.attempts,
            "error": job.last_error, "reprint": job.reprint, "printed_at": iso(job.printed_at)}


def printer_entry(device: Device, open_jobs: int) -> dict[str, Any]:
    """A kiosk's printer for the managers' view."""
    settings = device.settings or {}
    return {"target": str(settings.get("printer") or "none"),
            "paper_width": int(settings.get("paper_width", 80)),
            "state": device.printer_state, "error": device.printer_error,
            "checked_at": iso(device.printer_checked_at), "open_jobs": open_jobs}


def device_entry(device: Device, open_jobs: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = {"id": device.id, "code": device.code, "kind": device.kind,
                            "name": device.name, "active": device.active,
                            "last_seen_at": iso(device.last_seen_at)}
    if device.kind == "kiosk":
        body["printer"] = printer_entry(device, open_jobs)
    if device.kind == "print_agent":
        settings = device.settings or {}
        body["kiosks"] = settings.get("kiosks") or ([settings["kiosk"]] if settings.get("kiosk") else [])
    return body


def print_job_update(job: PrintJob) -> dict[str, Any]:
    """The ``print.updated`` event: "retrying" while attempts keep failing."""
    status = job.status
    if status == "pending" and job.attempts:
        status = "retrying"
    return {"job_id": job.id, "ticket_id": job.ticket_id, "number": job.ticket.number,
            "status": status, "attempts": job.attempts, "reprint": job.reprint,
            "error_code": job.last_error.split(":", 1)[0] if job.last_error else "",
            "error": job.last_error}
