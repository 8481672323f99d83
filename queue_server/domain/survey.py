"""The visitor's satisfaction survey: one response per finished visit, and
the IKM of any set of responses aggregated in SQL (sums and counts per
element), never by loading responses into Python."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..database import begin_write
from ..models import SurveyResponse, Ticket, TicketStatus
from . import ikm
from .clock import Clock
from .errors import Conflict, InvalidInput, NotFound

SUGGESTION_MAX = 2000


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


def index(session: Session, start: dt.date, end: dt.date,
          agency_ids: Collection[int] | None = None) -> ikm.IkmResult:
    """IKM of the responses of service days start..end (inclusive)."""
    columns = [getattr(SurveyResponse, code.lower()) for code in ikm.CODES]
    stmt = select(func.count(), *[func.sum(c) for c in columns], *[func.count(c) for c in columns]).where(
        SurveyResponse.service_day >= start, SurveyResponse.service_day <= end)
    if agency_ids is not None:
        stmt = stmt.where(SurveyResponse.agency_id.in_(list(agency_ids)))
    row = session.execute(stmt).one()
    n = len(columns)
    sums = dict(zip(ikm.CODES, (int(v or 0) for v in row[1:1 + n]), strict=True))
    counts = dict(zip(ikm.CODES, (int(v) for v in row[1 + n:]), strict=True))
    return ikm.from_totals(int(row[0]), sums, counts)
