"""Agencies, their services and counters: create and edit, validated and audited.

Rows that tickets refer to are never deleted, only made inactive; a counter
may be deleted only while nothing refers to it. Codes are fixed once created:
they are how a configuration file and device settings name a row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...database import begin_write
from ...models import (
    Agency,
    Counter,
    CounterEvent,
    CounterState,
    Service,
    Site,
    SurveyResponse,
    Ticket,
    TicketEvent,
)
from ..errors import Conflict, InvalidInput
from ..events import DomainEvent, record
from . import prefixes
from .changes import Editor, apply, audited, snapshot

AGENCY_FIELDS = ("code", "name", "name_en", "prefix", "zone", "active", "hours")
SERVICE_FIELDS = ("code", "name", "name_en", "prefix", "daily_quota", "target_wait_minutes",
                  "avg_service_minutes", "documents", "active", "note_required")
COUNTER_FIELDS = ("code", "number", "name", "zone", "agency_id", "services")


def _taken(field: str, what: str, other: str) -> InvalidInput:
    return InvalidInput(f"{field}_taken", f"{field} {what} is already used by {other}",
                        field=field, value=what, other=other)


def _check_prefix(session: Session, prefix: str, agency_id: int | None) -> None:
    owner = prefixes.other_owner(session, prefix, agency_id)
    if owner is not None:
        raise _taken("prefix", prefix, owner.code)


def _nudge(session: Session, agency_id: int, counter_id: int | None = None) -> None:
    """Kiosks and displays of the agency refresh what they show (the publisher
    sends queue.changed for the agency; counter.updated for a counter). Not
    before a site exists: counts are per local day of the site."""
    if session.execute(select(Site.id).limit(1)).first() is None:
        return
    kind = "config.changed" if counter_id is None else "counter.updated"
    record(session, DomainEvent(kind, counter_id=counter_id, agency_ids=(agency_id,)))


def _counter_audit(counter: Counter) -> dict[str, Any]:
    values = snapshot(counter, [f for f in COUNTER_FIELDS if f != "services"])
    values["services"] = sorted(s.code for s in counter.services)
    return values


def save_agency(session: Session, editor: Editor, agency: Agency | None,
                values: dict[str, Any]) -> Agency:
    """Create (agency None) or edit an agency. A new prefix moves the services
    that shared the old one along with it (they stay in the agency's queue)."""
    begin_write(session)
    values = dict(values)
    code = values.pop("code") if agency is None else agency.code
    if agency is None:
        other = session.execute(select(Agency).where(Agency.code == code)).scalar_one_or_none()
        if other is not None:
            raise _taken("code", code, other.name)
    _check_prefix(session, values["prefix"], agency.id if agency else None)
    if agency is None:
        agency = Agency(code=code, **values)
        session.add(agency)
        session.flush()
        audited(session, editor, "create", "agency", agency, code, {},
                snapshot(agency, AGENCY_FIELDS))
        _nudge(session, agency.id)
        return agency
    before = snapshot(agency, AGENCY_FIELDS)
    old_prefix = agency.prefix
    if values["prefix"] != old_prefix:
        for service in agency.services:
            if service.prefix == old_prefix:
                service.prefix = values["prefix"]
    apply(agency, values)
    if audited(session, editor, "update", "agency", agency, code, before,
               snapshot(agency, AGENCY_FIELDS)):
        _nudge(session, agency.id)
    return agency


def save_service(session: Session, editor: Editor, agency: Agency, service: Service | None,
                 values: dict[str, Any]) -> Service:
    """Create or edit a service of ``agency``; an empty prefix means the agency's."""
    begin_write(session)
    values = dict(values)
    code = values.pop("code") if service is None else service.code
    values["prefix"] = values.get("prefix") or agency.prefix
    if service is None:
        other = session.execute(
            select(Service).where(Service.agency_id == agency.id, Service.code == code)
        ).scalar_one_or_none()
        if other is not None:
            raise _taken("code", code, other.name)
    _check_prefix(session, values["prefix"], agency.id)
    label = f"{agency.code}/{code}"
    if service is None:
        service = Service(agency=agency, code=code, **values)
        session.add(service)
        session.flush()
        audited(session, editor, "create", "service", service, label, {},
                snapshot(service, SERVICE_FIELDS))
    else:
        before = snapshot(service, SERVICE_FIELDS)
        apply(service, values)
        if not audited(session, editor, "update", "service", service, label, before,
                       snapshot(service, SERVICE_FIELDS)):
            return service
    _nudge(session, agency.id)
    return service


def save_counter(session: Session, editor: Editor, agency: Agency, counter: Counter | None,
                 values: dict[str, Any], service_ids: list[int]) -> Counter:
    """Create or edit a counter of ``agency``; it may serve only that agency's services."""
    begin_write(session)
    values = dict(values)
    code = values.pop("code") if counter is None else counter.code
    own = {s.id: s for s in agency.services}
    foreign = [i for i in service_ids if i not in own]
    if foreign:
        raise InvalidInput("foreign_service", "a counter serves only its agency's services",
                           field="services")
    if counter is None:
        other = session.execute(select(Counter).where(Counter.code == code)).scalar_one_or_none()
        if other is not None:
            raise _taken("code", code, other.name)
    other = session.execute(
        select(Counter).where(Counter.number == values["number"],
                              Counter.id != (counter.id if counter else -1))
    ).scalar_one_or_none()
    if other is not None:
        raise _taken("number", str(values["number"]), other.code)
    wanted = [own[i] for i in sorted(set(service_ids))]
    if counter is None:
        counter = Counter(code=code, agency_id=agency.id, **values)
        counter.services = wanted
        session.add(counter)
        session.flush()
        audited(session, editor, "create", "counter", counter, code, {}, _counter_audit(counter))
        return counter
    before = _counter_audit(counter)
    apply(counter, values)
    if sorted(s.id for s in counter.services) != [s.id for s in wanted]:
        counter.services = wanted
    if audited(session, editor, "update", "counter", counter, code, before,
               _counter_audit(counter)):
        _nudge(session, agency.id, counter.id)
    return counter


def counter_history(session: Session, counter: Counter) -> int:
    """How many rows refer to the counter (tickets, events, surveys)."""
    total = 0
    for model, column in ((Ticket, Ticket.counter_id), (TicketEvent, TicketEvent.counter_id),
                          (CounterEvent, CounterEvent.counter_id),
                          (SurveyResponse, SurveyResponse.counter_id)):
        total += session.execute(select(func.count()).select_from(model)
                                 .where(column == counter.id)).scalar_one()
    return total


def delete_counter(session: Session, editor: Editor, counter: Counter) -> None:
    """Remove a counter that was never used; one with history keeps its row
    (remove its services instead, so it calls nobody)."""
    begin_write(session)
    if counter.state != CounterState.CLOSED or counter.officer_id is not None:
        raise Conflict("counter_in_use", f"{counter.code} is open", counter=counter.code)
    if counter_history(session, counter):
        raise Conflict("counter_has_history", f"{counter.code} has served tickets",
                       counter=counter.code)
    before = _counter_audit(counter)
    audited(session, editor, "delete", "counter", counter, counter.code, before, {})
    session.delete(counter)
    session.flush()
