"""JSON API under /api/v1: the public integration surface (docs/api.md).

Views are thin: parse, authorise, call one domain function, commit and publish.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, NotFound

from ..domain.errors import DomainError
from ..domain.events import discard
from ..extensions import csrf, db
from .errors import ApiError, error_response, from_api, from_domain, from_http
from .messages import translate

bp = Blueprint("api", __name__)
csrf.exempt(bp)  # bearer callers need none; session callers are checked in guards.principal


@bp.url_value_preprocessor
def _path_values_the_database_can_hold(_endpoint: str | None, values: dict | None) -> None:
    """An id beyond the integer column, or a token holding NUL (PostgreSQL refuses it), names
    nothing: 404 rather than an overflow or driver error (a 500)."""
    for value in (values or {}).values():
        if (isinstance(value, int) and not 0 < value < 2**31) or (isinstance(value, str) and "\x00" in value):
            raise NotFound()


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> tuple[Response, int]:
    _rollback()
    return from_domain(exc)


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    _rollback()
    return from_api(exc)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    _rollback()
    return from_http(exc)


@bp.errorhandler(SQLAlchemyError)
def _database_error(exc: SQLAlchemyError) -> tuple[Response, int]:
    _rollback()
    return error_response(503, "database_unavailable", translate(
        "database_unavailable", "the database is not answering; try again", {}))


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _unrouted(exc: HTTPException):  # type: ignore[no-untyped-def]
    """No route matched, so no blueprint handler ran: API paths still answer in JSON."""
    if not request.path.startswith("/api/"):
        return exc  # pages keep Flask's own error page
    response, status = from_http(exc)
    if getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response, status


def _rollback() -> None:
    db.session.rollback()
    discard(db.session)


from . import agencies, counters, health, printing, reports, survey, tickets, tokens  # noqa: E402,F401
from .counter_survey import pending_survey as _counter_survey  # noqa: E402,F401  (survey tablet)
