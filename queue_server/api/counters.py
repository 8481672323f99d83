"""Counter actions for officers: open/pause/close, call, recall, start,
finish, no-show, transfer, and the counter's queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..domain import calling, counters, queries
from ..domain.errors import NotFound
from ..domain.site import today
from ..extensions import db
from ..models import Counter, Role, User
from ..presenters import counter_state, ticket_staff
from . import bp
from .agencies import lang
from .guards import (
    clock,
    commit_and_publish,
    int_field,
    optional_body,
    principal,
    require_user,
    str_field,
)

STAFF = (Role.OFFICER, Role.MANAGER, Role.ADMIN)
OPERATORS = (Role.OFFICER, Role.ADMIN)


def _user() -> User:
    return principal().user


def _visible_counter(counter_id: int) -> Counter:
    """Officers see their own agency's counters; managers and admins see all."""
    counter = db.session.get(Counter, counter_id)
    user = _user()
    if counter is None or (user.role == Role.OFFICER and counter.agency_id != user.agency_id):
        raise NotFound("counter_not_found", f"no counter with id {counter_id}", id=counter_id)
    return counter


def _body(counter_id: int, ticket: Any = None) -> dict[str, Any]:
    """The counter's new state, plus the ticket the action touched (built before
    the commit, from the rows the transaction holds)."""
    body = counter_state(db.session.get(Counter, counter_id), lang())
    body["ticket"] = ticket_staff(ticket, lang()) if ticket is not None else body["current_ticket"]
    return body


@bp.get("/counters")
@require_user(*STAFF)
def list_counters():  # type: ignore[no-untyped-def]
    user = _user()
    stmt = select(Counter).options(selectinload(Counter.services)).order_by(Counter.number)
    if user.role == Role.OFFICER:
        stmt = stmt.where(Counter.agency_id == user.agency_id)
    return jsonify(counters=[counter_state(c, lang()) for c in db.session.execute(stmt).scalars()])


@bp.get("/counters/<int:counter_id>")
@require_user(*STAFF)
def show_counter(counter_id: int):  # type: ignore[no-untyped-def]
    return jsonify(counter_state(_visible_counter(counter_id), lang()))


@bp.get("/counters/<int:counter_id>/queue")
@require_user(*STAFF)
def counter_queue(counter_id: int):  # type: ignore[no-untyped-def]
    counter = _visible_counter(counter_id)
    tickets = calling.queue_order(db.session, clock(), counter)
    return jsonify(counter_id=counter.id, count=len(tickets),
                   tickets=[ticket_staff(t, lang()) for t in tickets])


def _action(counter_id: int, operation: Callable[..., Any], *args: Any) -> Any:
    optional_body()  # reject a malformed body even where none is needed
    result = operation(db.session, clock(), counter_id, _user(), *args)
    body = _body(counter_id, result if not isinstance(result, Counter) else None)
    commit_and_publish()
    return jsonify(body)


@bp.post("/counters/<int:counter_id>/open")
@require_user(*OPERATORS)
def open_(counter_id: int):  # type: ignore[no-untyped-def]
    return _action(counter_id, counters.open_counter)


@bp.post("/counters/<int:counter_id>/pause")
@require_user(*OPERATORS)
def pause(counter_id: int):  # type: ignore[no-untyped-def]
    return _action(counter_id, counters.pause_counter)


@bp.post("/counters/<int:counter_id>/close")
@require_user(*OPERATORS)
def close(counter_id: int):  # type: ignore[no-untyped-def]
    return _action(counter_id, counters.close_counter)


@bp.post("/counters/<int:counter_id>/call-next")
@require_user(*OPERATORS)
def call_next(counter_id: int):  # type: ignore[no-untyped-def]
    optional_body()
    ticket = calling.call_next(db.session, clock(), counter_id, _user())
    body = _body(counter_id, ticket)
    body["queue_empty"] = ticket is None
    commit_and_publish()
    return jsonify(body)


@bp.post("/counters/<int:counter_id>/call")
@require_user(*OPERATORS)
def call_specific(counter_id: int):  # type: ignore[no-untyped-def]
    ticket_id = int_field(optional_body(), "ticket_id")
    return _action(counter_id, calling.call_ticket, ticket_id)


@bp.post("/counters/<int:counter_id>/recall")
@require_user(*OPERATORS)
def recall(counter_id: int):  # type: ignore[no-untyped-def]
    return _action(counter_id, calling.recall)


@bp.post("/counters/<int:counter_id>/start")
@require_user(*OPERATORS)
def start(counter_id: int):  # type: ignore[no-untyped-def]
    return _action(counter_id, calling.start)


@bp.post("/counters/<int:counter_id>/finish")
@require_user(*OPERATORS)
def finish(counter_id: int):  # type: ignore[no-untyped-def]
    note = str_field(optional_body(), "note")
    return _action(counter_id, calling.finish, note)


@bp.post("/counters/<int:counter_id>/no-show")
@require_user(*OPERATORS)
def no_show(counter_id: int):  # type: ignore[no-untyped-def]
    return _action(counter_id, calling.no_show)


@bp.post("/counters/<int:counter_id>/transfer")
@require_user(*OPERATORS)
def transfer(counter_id: int):  # type: ignore[no-untyped-def]
    body = optional_body()
    service_id = int_field(body, "service_id")
    note = str_field(body, "note")
    return _action(counter_id, calling.transfer, service_id, note)


@bp.get("/me/today")
@require_user(*OPERATORS)
def my_day():  # type: ignore[no-untyped-def]
    """The caller's own figures today (the counter page shows them)."""
    user = _user()
    day = today(db.session, clock())
    return jsonify(day=day.isoformat(), **queries.officer_day(db.session, user.id, day))
