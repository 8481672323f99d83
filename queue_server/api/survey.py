"""The visitor's satisfaction survey and the IKM report (SKM, PermenPANRB 14/2017)."""

from __future__ import annotations

from flask import jsonify, request

from ..domain import survey
from ..domain.errors import InvalidInput
from ..domain.ikm import ELEMENTS
from ..domain.site import today
from ..extensions import db
from ..models import Role
from ..report_args import date_arg
from . import bp
from .guards import clock, commit_and_publish, json_body, require_user, str_field


@bp.post("/tickets/<token>/survey")
def submit_survey(token: str):  # type: ignore[no-untyped-def]
    """``{"scores": {"U1": 4, ..., "U9": 3}, "suggestion": "..."}``, once per visit."""
    if len(token) > 32:
        raise InvalidInput("ticket_not_found", "no ticket with that token")
    body = json_body()
    scores = body.get("scores")
    if not isinstance(scores, dict):
        raise InvalidInput("invalid_survey", "scores must be an object of element codes")
    response = survey.submit(db.session, clock(), token, scores, str_field(body, "suggestion"))
    commit_and_publish()
    return jsonify(id=response.id, submitted_at=response.submitted_at.isoformat()), 201


@bp.get("/reports/ikm")
@require_user(Role.MANAGER, Role.ADMIN)
def ikm_report():  # type: ignore[no-untyped-def]
    """IKM for ``from``..``to`` (default: today), optionally ``agency`` ids (repeatable)."""
    day = today(db.session, clock())
    start, end = date_arg(request.args, "from", day), date_arg(request.args, "to", day)
    try:
        agencies = [int(a) for a in request.args.getlist("agency")] or None
        if agencies and not all(0 < a < 2**31 for a in agencies):  # beyond the id column: overflow
            raise ValueError("agency id out of range")
    except ValueError:
        raise InvalidInput("invalid_field", "agency must be an id", field="agency", reason="id") from None
    result = survey.index(db.session, start, end, agencies)
    elements = [{"code": code, "name_id": name_id, "name_en": name_en} for code, name_id, name_en in ELEMENTS]
    return jsonify(start=start.isoformat(), end=end.isoformat(), agencies=agencies, elements=elements,
                   **result.as_dict())
