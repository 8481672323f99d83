"""The visitor's satisfaction survey: one response per finished visit, and
the IKM of any set of responses aggregated in SQL (sums and counts per
element), never by loading responses into Python."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..database import begin_write
from ..models import Service, SurveyResponse, Ticket, TicketStatus
from . import ikm
from .clock import Clock
from .errors import Conflict, InvalidInput, NotFound

SUGGESTION_MAX = 2000
# How long after the finish a counter's tablet still offers the survey: long
# enough to walk to it, short enough that the next visitor is not asked.
TABLET_WINDOW = dt.timedelta(minutes=10)


def submit(session: Session, clock: Clock, token: str, scores: dict[str, object],
           suggestion: str = "") -> SurveyResponse:
    """Record the survey of the visitor holding ``token``; the caller commits."""
    try:
        answers = ikm.validate(scores)
    except ValueError as exc:
        raise InvalidInput("invalid_survey", str(exc)) from None
    begin_write(session)
    ticket = session.execute(
        select(Ticket).where(Ticket.token == token).order_by(Ticket.leg.desc()).limit(1)
    ).scalar_one_or_none()
    if ticket is None:
        raise NotFound("ticket_not_found", "no ticket with that token")
    if ticket.status != TicketStatus.DONE:
        raise Conflict("survey_not_yet", f"ticket {ticket.number} is not finished",
                       number=ticket.number)
    if session.execute(select(SurveyResponse.id).where(SurveyResponse.token == token)).first():
        raise Conflict("survey_exists", f"ticket {ticket.number} was already rated", number=ticket.number)
    response = SurveyResponse(
        token=token, ticket_id=ticket.id, agency_id=ticket.agency_id, service_id=ticket.service_id,
        counter_id=ticket.counter_id, officer_id=ticket.officer_id, service_day=ticket.service_day,
        submitted_at=clock.now(), suggestion=suggestion.strip()[:SUGGESTION_MAX],
        **{code.lower(): value for code, value in answers.items()},
    )
    session.add(response)
    try:
        session.flush()
    except IntegrityError:  # a double tap raced past the check: the first one counts
        session.rollback()
        raise Conflict("survey_exists", f"ticket {ticket.number} was already rated",
                       number=ticket.number) from None
    return response


def answered(session: Session, token: str) -> bool:
    """Has the visitor holding ``token`` already answered (the status page hides the form)?"""
    return session.execute(select(SurveyResponse.id).where(SurveyResponse.token == token)).first() is not None


def pending_at_counter(session: Session, clock: Clock, counter_id: int,
                       window: dt.timedelta = TABLET_WINDOW) -> Ticket | None:
    """The ticket most recently finished at the counter, for its tablet: only if
    it was finished within ``window`` and is not rated yet (else None, so an
    older visit is never offered to the next visitor)."""
    ticket = session.execute(
        select(Ticket).where(Ticket.counter_id == counter_id, Ticket.status == TicketStatus.DONE,
                             Ticket.finished_at >= clock.now() - window)
        .order_by(Ticket.finished_at.desc(), Ticket.id.desc()).limit(1)
    ).scalar_one_or_none()
    if ticket is None or answered(session, ticket.token):
        return None
    return ticket


def submit_at_counter(session: Session, clock: Clock, counter_id: int, ticket_id: int,
                      scores: dict[str, object], suggestion: str = "",
                      window: dt.timedelta = TABLET_WINDOW) -> SurveyResponse:
    """The survey given on a counter's tablet for a ticket finished there.

    The tablet names the ticket by id (it never sees the visitor's token); it
    must have been finished at this counter within ``window``. A newer finish
    does not close it: the visitor may still be answering."""
    begin_write(session)
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.counter_id != counter_id or ticket.status != TicketStatus.DONE:
        raise NotFound("ticket_not_found", f"no finished ticket {ticket_id} at counter {counter_id}",
                       id=ticket_id)
    if ticket.finished_at is None or ticket.finished_at < clock.now() - window:
        raise Conflict("survey_closed", f"ticket {ticket.number} was finished too long ago",
                       number=ticket.number)
    return submit(session, clock, ticket.token, scores, suggestion)


def _totals(row: Any) -> tuple[int, dict[str, int], dict[str, int]]:
    """(respondents, sums, counts) from a row of count(*), sum(u1..u9), count(u1..u9)."""
    n = len(ikm.CODES)
    sums = dict(zip(ikm.CODES, (int(v or 0) for v in row[1:1 + n]), strict=True))
    counts = dict(zip(ikm.CODES, (int(v or 0) for v in row[1 + n:1 + 2 * n]), strict=True))
    return int(row[0]), sums, counts


def _aggregates() -> list[Any]:
    columns = [getattr(SurveyResponse, code.lower()) for code in ikm.CODES]
    return [func.count(), *[func.sum(c) for c in columns], *[func.count(c) for c in columns]]


def _period(stmt: Any, start: dt.date, end: dt.date, agency_ids: Collection[int] | None) -> Any:
    stmt = stmt.where(SurveyResponse.service_day >= start, SurveyResponse.service_day <= end)
    if agency_ids is not None:
        stmt = stmt.where(SurveyResponse.agency_id.in_(list(agency_ids)))
    return stmt


def index(session: Session, start: dt.date, end: dt.date,
          agency_ids: Collection[int] | None = None) -> ikm.IkmResult:
    """IKM of the responses of service days start..end (inclusive)."""
    row = session.execute(_period(select(*_aggregates()), start, end, agency_ids)).one()
    return ikm.from_totals(*_totals(row))


def index_by_agency(session: Session, start: dt.date, end: dt.date,
                    agency_ids: Collection[int] | None = None) -> dict[int, ikm.IkmResult]:
    """IKM per agency of service days start..end, in one grouped query; agencies
    without responses are absent."""
    stmt = _period(select(SurveyResponse.agency_id, *_aggregates()), start, end, agency_ids)
    rows = session.execute(stmt.group_by(SurveyResponse.agency_id)).all()
    return {int(row[0]): ikm.from_totals(*_totals(row[1:])) for row in rows}


@dataclass(frozen=True)
class Suggestion:
    submitted_at: dt.datetime
    service_day: dt.date
    agency_id: int
    service_name: str
    text: str


def latest_suggestions(session: Session, start: dt.date, end: dt.date,
                       agency_ids: Collection[int] | None = None, limit: int = 20) -> list[Suggestion]:
    """The newest non-empty suggestions of the period, newest first."""
    stmt = _period(select(SurveyResponse.submitted_at, SurveyResponse.service_day, SurveyResponse.agency_id,
                          Service.name, SurveyResponse.suggestion)
                   .join(Service, Service.id == SurveyResponse.service_id)
                   .where(SurveyResponse.suggestion != ""), start, end, agency_ids)
    stmt = stmt.order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc()).limit(limit)
    return [Suggestion(*row) for row in session.execute(stmt).all()]
