"""The API's one error shape: {"error": {"code", "message"}} with a 4xx status."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from ..domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Refused
from .messages import translate

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Refused: 422,
}


class ApiError(Exception):
    """Raised by the thin API layer itself (auth, malformed bodies)."""

    def __init__(self, status: int, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.params = status, code, message, params


def error_response(status: int, code: str, message: str, /, **extra: Any) -> tuple[Response, int]:
    # Positional-only: a domain error's params may themselves be named "status"
    # (illegal_transition carries the ticket's status) and must land in details.
    body: dict[str, Any] = {"code": code, "message": message}
    if extra:
        body["details"] = extra
    return jsonify(error=body), status


def from_domain(exc: DomainError) -> tuple[Response, int]:
    status = STATUS_BY_ERROR.get(type(exc), 400)
    return error_response(status, exc.code, translate(exc.code, exc.message, exc.params),
                          **_public(exc.params))


def from_api(exc: ApiError) -> tuple[Response, int]:
    return error_response(exc.status, exc.code, translate(exc.code, exc.message, exc.params),
                          **_public(exc.params))


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def from_http(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    code = HTTP_CODES.get(status, "http_error")
    if getattr(exc, "description", "") and "CSRF" in str(exc.description):
        code = "csrf_failed"
    return error_response(status, code, translate(code, exc.description or exc.name, {}))


def _public(params: dict[str, Any]) -> dict[str, Any]:
    """Details safe to show: plain scalars only."""
    return {k: v for k, v in params.items() if isinstance(v, str | int | float | bool)}
