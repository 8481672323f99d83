"""The satisfaction survey on a counter's tablet (/counter/survey).

A tablet facing the visitor, logged in as an officer of the agency, asks
which ticket was just finished at its counter and sends the visitor's answers
for it. The tablet names the ticket by id and never learns the visitor's
token; the server accepts answers only for a ticket finished at that counter
within :data:`~queue_server.domain.survey.TABLET_WINDOW`.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from ..domain import survey
from ..domain.counters import check_can_operate
from ..domain.errors import InvalidInput, NotFound
from ..extensions import db
from ..models import Counter, Role, Ticket
from ..presenters import iso, localized
from . import bp
from .agencies import lang
from .guards import clock, commit_and_publish, int_field, json_body, principal, require_user, str_field

OPERATORS = (Role.OFFICER, Role.ADMIN)


def _counter(counter_id: int) -> Counter:
    """A counter the caller may operate (officers: their own agency's)."""
    counter = db.session.get(Counter, counter_id)
    if counter is None:
        raise NotFound("counter_not_found", f"no counter with id {counter_id}", id=counter_id)
    check_can_operate(counter, principal().user)
    return counter


def _pending(ticket: Ticket) -> dict[str, Any]:
    """What the tablet shows: the number and service, no token, no officer."""
    return {"id": ticket.id, "number": ticket.number, "finished_at": iso(ticket.finished_at),
            "service": {"id": ticket.service_id, "name": localized(ticket.service, lang())},
            "agency": {"id": ticket.agency_id, "name": localized(ticket.agency, lang())}}


@bp.get("/counters/<int:counter_id>/survey")
@require_user(*OPERATORS)
def pending_survey(counter_id: int):  # type: ignore[no-untyped-def]
    """``{"counter_id", "ticket": {...} | null}``: the ticket to rate on the tablet now."""
    counter = _counter(counter_id)
    ticket = survey.pending_at_counter(db.session, clock(), counter.id)
    body = jsonify(counter_id=counter.id, ticket=_pending(ticket) if ticket is not None else None,
                   window_seconds=int(survey.TABLET_WINDOW.total_seconds()))
    db.session.rollback()  # end the read transaction
    return body


@bp.post("/counters/<int:counter_id>/survey")
@require_user(*OPERATORS)
def submit_survey_at_counter(counter_id: int):  # type: ignore[no-untyped-def]
    """``{"ticket_id": 12, "scores": {"U1": 4, ...}, "suggestion": "..."}``, once per visit."""
    body = json_body()
    ticket_id = int_field(body, "ticket_id")
    scores = body.get("scores")
    if not isinstance(scores, dict):
        raise InvalidInput("invalid_survey", "scores must be an object of element codes")
    suggestion = str_field(body, "suggestion", survey.SUGGESTION_MAX)
    counter = _counter(counter_id)
    response = survey.submit_at_counter(db.session, clock(), counter.id, int(ticket_id or 0),
                                        scores, suggestion)
    commit_and_publish()
    return jsonify(id=response.id, submitted_at=iso(response.submitted_at)), 201
