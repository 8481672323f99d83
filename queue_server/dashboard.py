"""Read model of the managers' live dashboard (/manager): one snapshot of the
building right now and of today's service day.

Plain functions over a SQLAlchemy session and a clock (no Flask), answered
with a few grouped queries whatever the size of the site: waiting tickets per
service, today's legs per agency, the counters with their officers, the
devices. The page and docs/dashboard.md explain each figure to managers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session, selectinload

from .domain import hours, printing
from .domain.clock import Clock
from .domain.presence import ONLINE_SECONDS, is_online
from .domain.site import get_site
from .models import (
    Agency,
    Counter,
    CounterState,
    Device,
    DeviceKind,
    PrinterState,
    Service,
    Ticket,
    TicketStatus,
    UTCDateTime,
)
from .presenters import device_entry, iso, localized

PRINTER_DOWN = (PrinterState.PAPER_OUT, PrinterState.OFFLINE, PrinterState.ERROR)


def _seconds(later: dt.datetime, earlier: dt.datetime) -> int:
    return max(0, int((later - earlier).total_seconds()))


def waiting_by_service(session: Session, day: dt.date, now: dt.datetime,
                       targets: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Per service: tickets waiting now, the oldest ``queued_at``, and how many
    have waited longer than their service's target (``now - queued_at > target``).

    The target differs per service, so the cut-off time is a CASE over the few
    distinct target values: plain datetime comparison, the same on SQLite and
    PostgreSQL, with no date arithmetic in SQL.
    """
    distinct = sorted(set(targets))
    if not distinct:
        return {}
    cutoff = case(
        {t: literal(now - dt.timedelta(minutes=t), UTCDateTime) for t in distinct},
        value=Service.target_wait_minutes,
    )
    rows = session.execute(
        select(Ticket.service_id, func.count(), func.min(Ticket.queued_at),
               func.count(case((Ticket.queued_at < cutoff, 1))))
        .join(Service, Service.id == Ticket.service_id)
        .where(Ticket.status == TicketStatus.WAITING, Ticket.service_day == day)
        .group_by(Ticket.service_id)
    )
    return {sid: {"waiting": int(n), "oldest": oldest, "over_target": int(over)}
            for sid, n, oldest, over in rows}


def legs_by_agency(session: Session, day: dt.date) -> dict[int, dict[str, int]]:
    """Per agency, over today's legs: issued (first legs), served (done),
    no-shows, called (legs with a stored wait, i.e. called at least once),
    the sum of their waits, and how many of those waited past the target."""
    over = Ticket.wait_seconds > Service.target_wait_minutes * 60
    rows = session.execute(
        select(
            Ticket.agency_id,
            func.count(case((Ticket.leg == 1, 1))),
            func.count(case((Ticket.status == TicketStatus.DONE, 1))),
            func.count(case((Ticket.status == TicketStatus.NO_SHOW, 1))),
            func.count(Ticket.wait_seconds),
            func.coalesce(func.sum(Ticket.wait_seconds), 0),
            func.count(case((over, 1))),
        )
        .join(Service, Service.id == Ticket.service_id)
        .where(Ticket.service_day == day)
        .group_by(Ticket.agency_id)
    )
    return {aid: {"issued": int(i), "served": int(d), "no_show": int(ns), "called": int(c),
                  "wait_sum": int(ws), "called_over_target": int(o)}
            for aid, i, d, ns, c, ws, o in rows}


def _counter_entry(counter: Counter) -> dict[str, Any]:
    ticket = counter.current_ticket
    officer = counter.officer
    return {
        "id": counter.id, "code": counter.code, "number": counter.number, "name": counter.name,
        "state": counter.state,
        "officer": (officer.name or officer.username) if officer else None,
        "ticket": ticket.number if ticket is not None and ticket.status in (
            TicketStatus.CALLED, TicketStatus.SERVING) else None,
        "since": iso(counter.state_changed_at),
    }


def counters_by_agency(session: Session) -> dict[int, list[Counter]]:
    out: dict[int, list[Counter]] = {}
    stmt = (select(Counter).options(selectinload(Counter.officer),
                                    selectinload(Counter.current_ticket))
            .order_by(Counter.number))
    for counter in session.execute(stmt).scalars():
        out.setdefault(counter.agency_id, []).append(counter)
    return out


def average(total: int, count: int) -> int | None:
    return round(total / count) if count else None


def _agency(agency: Agency, state: hours.OpenState, waiting: dict[int, dict[str, Any]],
            legs: dict[str, int], counters: list[Counter], now: dt.datetime,
            lang: str) -> dict[str, Any]:
    services = []
    for service in agency.services:
        line = waiting.get(service.id)
        if not line:
            continue
        longest = _seconds(now, line["oldest"])
        services.append({"id": service.id, "code": service.code, "name": localized(service, lang),
                         "waiting": line["waiting"], "longest_wait_seconds": longest,
                         "target_wait_minutes": service.target_wait_minutes,
                         "over_target": line["over_target"]})
    services.sort(key=lambda s: (-s["over_target"], -s["longest_wait_seconds"], s["code"]))
    worst = max(services, key=lambda s: s["longest_wait_seconds"], default=None)
    longest = worst["longest_wait_seconds"] if worst else None
    targets = [s.target_wait_minutes for s in agency.services if s.active]
    called = legs.get("called", 0)
    over_called = legs.get("called_over_target", 0)
    working = [c for c in counters if c.state in (CounterState.OPEN, CounterState.PAUSED)]
    return {
        "id": agency.id, "code": agency.code, "name": localized(agency, lang), "zone": agency.zone,
        "active": agency.active,
        "open": {"serving": state.serving, "can_issue": state.can_issue, "reason": state.reason},
        "waiting": sum(s["waiting"] for s in services),
        "longest_wait_seconds": longest,
        "longest_wait_minutes": None if longest is None else longest // 60,
        # The target of the service whose ticket waits longest (targets are per service).
        "longest_wait_target_minutes": worst["target_wait_minutes"] if worst else None,
        "longest_wait_service": worst["name"] if worst else None,
        "target_wait_minutes": min(targets) if targets else None,
        "waiting_over_target": sum(s["over_target"] for s in services),
        "issued": legs.get("issued", 0),
        "served": legs.get("served", 0),
        "no_show": legs.get("no_show", 0),
        "called": called,
        "average_wait_seconds": average(legs.get("wait_sum", 0), called),
        "called_over_target": over_called,
        "within_target_percent": round(100 * (called - over_called) / called) if called else None,
        "counters": {
            "total": len(counters),
            "open": sum(1 for c in counters if c.state == CounterState.OPEN),
            "paused": sum(1 for c in counters if c.state == CounterState.PAUSED),
            "working": [_counter_entry(c) for c in working],
        },
        "services": services,
    }


def devices_status(session: Session, now: dt.datetime) -> list[dict[str, Any]]:
    """Every device with its presence; kiosks with their printer (and whether
    one is set up at all), print agents with the kiosks they drive."""
    open_jobs = printing.open_jobs_by_kiosk(session)
    out = []
    for device in session.execute(select(Device).order_by(Device.kind, Device.code)).scalars():
        entry = device_entry(device, open_jobs.get(device.id, 0))
        entry["online"] = is_online(device.last_seen_at, now)
        entry["seen_seconds_ago"] = (None if device.last_seen_at is None
                                     else _seconds(now, device.last_seen_at))
        if device.kind == DeviceKind.KIOSK:
            entry["printer"]["enabled"] = printing.printer_setup(device).enabled
        out.append(entry)
    return out


def alerts(agencies: list[dict[str, Any]], devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What needs a manager now, most urgent first: agencies with tickets
    waiting past their target, devices offline, printers out of paper or down."""
    out: list[dict[str, Any]] = []
    for a in agencies:
        late = [s for s in a["services"] if s["over_target"]]
        if not late:
            continue
        # The late service whose ticket waits longest (it may not be the agency's
        # longest wait: a short target can be passed sooner than a long one).
        worst = max(late, key=lambda s: s["longest_wait_seconds"])
        out.append({"kind": "wait", "level": "danger",
                    "agency": {"id": a["id"], "code": a["code"], "name": a["name"]},
                    "waiting_over_target": a["waiting_over_target"],
                    "service": worst["name"],
                    "longest_wait_minutes": worst["longest_wait_seconds"] // 60,
                    "target_wait_minutes": worst["target_wait_minutes"]})
    for d in devices:
        if not d["active"]:
            continue
        brief = {"id": d["id"], "code": d["code"], "name": d["name"], "kind": d["kind"]}
        if not d["online"]:
            out.append({"kind": "device_offline", "level": "danger", "device": brief,
                        "last_seen_at": d["last_seen_at"]})
        printer = d.get("printer")
        if printer and printer["enabled"] and printer["state"] in (*PRINTER_DOWN,
                                                                   PrinterState.PAPER_LOW):
            level = "warning" if printer["state"] == PrinterState.PAPER_LOW else "danger"
            out.append({"kind": "printer", "level": level, "device": brief,
                        "state": printer["state"], "error": printer["error"]})
    rank = {"danger": 0, "warning": 1}
    return sorted(out, key=lambda x: rank[x["level"]])  # stable: agencies, then devices


def _totals(agencies: list[dict[str, Any]], devices: list[dict[str, Any]],
            wait_sum: int) -> dict[str, Any]:
    """Whole-building figures; the average wait is over every called leg, not
    an average of the agencies' averages."""
    called = sum(a["called"] for a in agencies)
    active = [d for d in devices if d["active"]]
    return {
        "waiting": sum(a["waiting"] for a in agencies),
        "waiting_over_target": sum(a["waiting_over_target"] for a in agencies),
        "issued": sum(a["issued"] for a in agencies),
        "served": sum(a["served"] for a in agencies),
        "no_show": sum(a["no_show"] for a in agencies),
        "called": called,
        "average_wait_seconds": average(wait_sum, called),
        "called_over_target": sum(a["called_over_target"] for a in agencies),
        "counters_open": sum(a["counters"]["open"] for a in agencies),
        "counters_paused": sum(a["counters"]["paused"] for a in agencies),
        "counters_total": sum(a["counters"]["total"] for a in agencies),
        "devices_online": sum(1 for d in active if d["online"]),
        "devices_total": len(active),
    }


def snapshot(session: Session, clock: Clock, lang: str = "id") -> dict[str, Any]:
    """The whole dashboard: per agency figures (problems first), devices, alerts, totals."""
    site = get_site(session)
    now = clock.now()
    local = now.astimezone(ZoneInfo(site.timezone))
    day = local.date()
    closed = set(site.closed_dates or [])
    agencies = list(session.execute(
        select(Agency).options(selectinload(Agency.services)).order_by(Agency.code)).scalars())
    waiting = waiting_by_service(session, day, now,
                                 (s.target_wait_minutes for a in agencies for s in a.services))
    legs = legs_by_agency(session, day)
    counters = counters_by_agency(session)
    rows = []
    for agency in agencies:
        if not agency.active and agency.id not in legs:
            continue
        state = hours.evaluate(agency.hours, local, closed)
        if not agency.active:
            state = hours.OpenState(False, False, hours.OpenReason.INACTIVE)
        rows.append(_agency(agency, state, waiting, legs.get(agency.id, {}),
                            counters.get(agency.id, []), now, lang))
    rows.sort(key=lambda a: (-a["waiting_over_target"], -(a["longest_wait_seconds"] or 0),
                             -a["waiting"], a["code"]))
    devices = devices_status(session, now)
    wait_sum = sum(legs.get(a["id"], {}).get("wait_sum", 0) for a in rows)
    totals = _totals(rows, devices, wait_sum)
    return {
        "generated_at": iso(now),
        "service_day": day.isoformat(),
        "site": site.name,
        "online_seconds": ONLINE_SECONDS,
        "totals": totals,
        "alerts": alerts(rows, devices),
        "agencies": rows,
        "devices": devices,
    }
