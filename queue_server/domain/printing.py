"""Print jobs: a kiosk ticket's paper, kept apart from the ticket itself.

A ticket is valid the moment it is committed; printing is a separate job
created in the same transaction, so a failed printer can never lose a ticket
or make one twice ("ghost numbers"). Jobs are retried until printed or until
they are too old to matter (the visitor has left with the number on screen;
staff can reprint). Each attempt is claimed with a lease so several server
processes, or a server restarted mid-print, never print a job twice at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from printer.layout import TicketContent, render_ticket
from printer.targets import parse_target

from ..database import begin_write
from ..models import Device, DeviceKind, PrinterState, PrintJob, PrintStatus, Ticket, User
from .clock import Clock
from .errors import Conflict, InvalidInput
from .events import DomainEvent, record
from .site import get_site

RETRY_DELAYS = (2, 5, 10, 20, 30)  # seconds before attempt 2, 3, ...; then every 30 s
# Paper appearing after the visitor walked away (told "note your number")
# would be taken by the next visitor: a ghost. Staff reprint instead.
GIVE_UP_AFTER = dt.timedelta(minutes=2)
CLAIM_LEASE = dt.timedelta(seconds=45)  # an attempt not reported within this is retried
AGENT = "agent"

PRIORITY_LABELS = {
    "elderly": "Prioritas: Lansia",
    "disabled": "Prioritas: Penyandang Disabilitas",
    "pregnant": "Prioritas: Ibu Hamil / Membawa Bayi",
}
STATE_OF_ERROR = {"offline": PrinterState.OFFLINE, "paper_out": PrinterState.PAPER_OUT}


@dataclass(frozen=True)
class PrinterSetup:
    """A kiosk's printer as configured: target URL and paper width."""

    target: str
    paper_width: int

    @property
    def enabled(self) -> bool:
        return self.target != "none"


def printer_setup(device: Device) -> PrinterSetup:
    settings = device.settings or {}
    raw = str(settings.get("printer") or "none").strip()
    kind = parse_target(raw).scheme  # validated on import; "none" for ""
    return PrinterSetup(target=raw if kind != "none" else "none",
                        paper_width=int(settings.get("paper_width", 80)))


def validate_printer_settings(settings: dict[str, object]) -> None:
    """Refuse a bad printer URL or paper width when the configuration is loaded."""
    try:
        parse_target(str(settings.get("printer") or "none"))
    except ValueError as exc:
        raise InvalidInput("invalid_printer", str(exc)) from None
    if int(settings.get("paper_width", 80)) not in (58, 80):  # type: ignore[call-overload]
        raise InvalidInput("invalid_printer", "paper_width must be 58 or 80")


def ticket_content(session: Session, ticket: Ticket, ahead: int, estimate: int, status_url: str,
                   reprint: bool, logo: str = "") -> TicketContent:
    site = get_site(session)
    from zoneinfo import ZoneInfo

    return TicketContent(
        site_name=site.name,
        agency_name=ticket.agency.name,
        service_name=ticket.service.name,
        number=ticket.number,
        issued_at=ticket.issued_at.astimezone(ZoneInfo(site.timezone)),
        ahead=ahead,
        estimated_wait_minutes=estimate,
        status_url=status_url,
        priority_label=PRIORITY_LABELS.get(str(ticket.priority), ""),
        reprint=reprint,
        logo_path=logo or None,
    )


def request_print(session: Session, clock: Clock, ticket: Ticket, kiosk: Device, status_url: str,
                  ahead: int, estimate: int, *, reprint: bool = False,
                  user: User | None = None) -> PrintJob | None:
    """Queue the ticket for the kiosk's printer; None when the kiosk has none."""
    setup = printer_setup(kiosk)
    if not setup.enabled:
        return None
    now = clock.now()
    content = ticket_content(session, ticket, ahead, estimate, status_url, reprint,
                             str((kiosk.settings or {}).get("ticket_logo") or ""))
    job = PrintJob(
        ticket_id=ticket.id, device_id=kiosk.id, target=setup.target,
        payload=render_ticket(content, setup.paper_width), status=PrintStatus.PENDING,
        reprint=reprint, requested_by_id=user.id if user else None,
        created_at=now, next_attempt_at=now,
    )
    session.add(job)
    session.flush()
    record(session, DomainEvent("print.queued", ticket.id, data={"job_id": job.id}))
    return job


def _due(now: dt.datetime):  # type: ignore[no-untyped-def]
    """Pending and due, or claimed but the lease ran out (a crashed attempt)."""
    return or_(
        and_(PrintJob.status == PrintStatus.PENDING, PrintJob.next_attempt_at <= now),
        and_(PrintJob.status == PrintStatus.PRINTING, PrintJob.claimed_until < now),
    )


def _claim(session: Session, job: PrintJob, now: dt.datetime) -> bool:
    """Take the job for one attempt; False when another process was faster."""
    claimed = session.execute(
        update(PrintJob)
        .where(PrintJob.id == job.id, PrintJob.status == job.status,
               PrintJob.attempts == job.attempts)
        .values(status=PrintStatus.PRINTING, claimed_until=now + CLAIM_LEASE,
                attempts=PrintJob.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        session.refresh(job)
    return bool(claimed)


def _give_up_if_stale(session: Session, job: PrintJob, now: dt.datetime) -> bool:
    if now - job.created_at < GIVE_UP_AFTER:
        return False
    job.status = PrintStatus.FAILED
    job.claimed_until = None
    job.last_error = job.last_error or "gave up"
    record(session, DomainEvent("print.updated", job.ticket_id, data={"job_id": job.id}))
    return True


def claim_due(session: Session, clock: Clock, *, agent: bool, kiosks: list[int] | None = None,
              limit: int = 20) -> list[PrintJob]:
    """Claim due jobs for one attempt: the server's own printers (agent False)
    or those printed by agents (optionally only these kiosks'). The caller commits."""
    begin_write(session)
    now = clock.now()
    stmt = select(PrintJob).where(_due(now)).order_by(PrintJob.id).limit(limit)
    stmt = stmt.where(PrintJob.target == AGENT if agent else PrintJob.target != AGENT)
    if kiosks is not None:
        stmt = stmt.where(PrintJob.device_id.in_(kiosks))
    claimed = []
    for job in session.execute(stmt).scalars().all():
        if _give_up_if_stale(session, job, now):
            continue
        if _claim(session, job, now):
            claimed.append(job)
    return claimed


def open_agent_jobs(session: Session, clock: Clock, kiosks: list[int]) -> list[PrintJob]:
    """Every unfinished job of these kiosks, (re)claimed for an agent that just
    connected: it should not wait for a lease that a lost connection holds."""
    begin_write(session)
    now = clock.now()
    jobs = session.execute(
        select(PrintJob).where(
            PrintJob.target == AGENT, PrintJob.device_id.in_(kiosks),
            PrintJob.status.in_((PrintStatus.PENDING, PrintStatus.PRINTING)),
        ).order_by(PrintJob.id)
    ).scalars().all()
    return [job for job in jobs if not _give_up_if_stale(session, job, now) and _claim(session, job, now)]


def agents_of(session: Session, kiosk_id: int) -> list[int]:
    """The print agents that drive this kiosk's printer."""
    agents = session.execute(
        select(Device).where(Device.kind == DeviceKind.PRINT_AGENT, Device.active.is_(True))
    ).scalars()
    return [a.id for a in agents if kiosk_id in agent_kiosks(session, a)]


def record_result(session: Session, clock: Clock, job_id: int, ok: bool, error_code: str = "",
                  message: str = "", printer_state: str = "") -> PrintJob | None:
    """An attempt's outcome. Idempotent: a repeated report of a printed job
    changes nothing (an agent may re-send its acknowledgement)."""
    begin_write(session)
    job = session.get(PrintJob, job_id)
    if job is None:
        return None
    if job.status in (PrintStatus.PRINTED, PrintStatus.FAILED):
        return job
    now = clock.now()
    if ok:
        job.status, job.printed_at, job.last_error = PrintStatus.PRINTED, now, ""
        state = printer_state or PrinterState.OK
    else:
        job.last_error = (f"{error_code}: {message}" if message else error_code)[:200]
        delay = RETRY_DELAYS[min(job.attempts, len(RETRY_DELAYS)) - 1] if job.attempts else 0
        job.status = PrintStatus.PENDING
        job.next_attempt_at = now + dt.timedelta(seconds=delay)
        _give_up_if_stale(session, job, now)
        state = printer_state or STATE_OF_ERROR.get(error_code, PrinterState.ERROR)
    job.claimed_until = None
    record(session, DomainEvent("print.updated", job.ticket_id, data={"job_id": job.id}))
    set_printer_state(session, clock, job.device, state, "" if ok else job.last_error)
    return job


def set_printer_state(session: Session, clock: Clock, kiosk: Device, state: str,
                      error: str = "") -> None:
    """Remember what the kiosk's printer last said; managers hear of changes."""
    begin_write(session)
    changed = (kiosk.printer_state, kiosk.printer_error) != (state, error[:200])
    kiosk.printer_state, kiosk.printer_error = state, error[:200]
    kiosk.printer_checked_at = clock.now()
    if changed:
        record(session, DomainEvent("printer.updated", data={"device_id": kiosk.id}))


def agent_kiosks(session: Session, agent: Device) -> list[int]:
    """The kiosks whose printer this print agent drives (settings "kiosks"/"kiosk")."""
    settings = agent.settings or {}
    codes = settings.get("kiosks") or ([settings["kiosk"]] if settings.get("kiosk") else [])
    if not codes:
        return []
    return list(session.execute(
        select(Device.id).where(Device.code.in_(list(codes)), Device.kind == DeviceKind.KIOSK)
    ).scalars())


def reprint(session: Session, clock: Clock, ticket: Ticket, kiosk: Device | None, user: User,
            status_url: str, ahead: int, estimate: int) -> PrintJob:
    """Staff print a ticket again (jammed paper, a visitor who lost it)."""
    if kiosk is None:
        issuing_kiosk = session.execute(
            select(Ticket.device_id).where(Ticket.token == ticket.token, Ticket.leg == 1)
        ).scalar_one_or_none()
        kiosk = session.get(Device, issuing_kiosk) if issuing_kiosk else None
    if kiosk is None or kiosk.kind != DeviceKind.KIOSK:
        raise InvalidInput("no_kiosk", "the ticket was not issued at a kiosk; choose a kiosk")
    job = request_print(session, clock, ticket, kiosk, status_url, ahead, estimate,
                        reprint=True, user=user)
    if job is None:
        raise Conflict("no_printer", f"{kiosk.name} has no printer", kiosk=kiosk.name)
    return job


def latest_job(session: Session, token: str) -> PrintJob | None:
    """The newest print job of a visitor's ticket (any leg)."""
    return session.execute(
        select(PrintJob).join(Ticket, Ticket.id == PrintJob.ticket_id).where(Ticket.token == token)
        .order_by(PrintJob.id.desc()).limit(1)
    ).scalar_one_or_none()


def open_jobs_by_kiosk(session: Session) -> dict[int, int]:
    """Jobs not yet printed (nor given up) per kiosk, for the managers' view."""
    rows = session.execute(
        select(PrintJob.device_id, func.count())
        .where(PrintJob.status.in_((PrintStatus.PENDING, PrintStatus.PRINTING)))
        .group_by(PrintJob.device_id)
    )
    return {device_id: n for device_id, n in rows}
