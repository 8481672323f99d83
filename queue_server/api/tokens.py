"""POST /auth/token: a bearer token for scripts and the counter CLI."""

from __future__ import annotations

from flask import current_app, jsonify

from ..auth import check_credentials
from ..auth.principal import issue_api_token
from ..extensions import db
from ..presenters import iso
from ..ratelimit import rate_limited
from . import bp
from .errors import ApiError
from .guards import clock, json_body, str_field


@bp.post("/auth/token")
@rate_limited("login")
def create_token():  # type: ignore[no-untyped-def]
    body = json_body()
    username = str_field(body, "username", 60)
    password = str_field(body, "password", 200)
    user = check_credentials(username, password) if username and password else None
    if user is None:
        raise ApiError(401, "bad_credentials", "wrong username or password")
    secret, token = issue_api_token(
        db.session, user, clock().now(), current_app.config["API_TOKEN_HOURS"]
    )
    db.session.commit()
    return jsonify(
        token=secret,
        token_type="Bearer",
        expires_at=iso(token.expires_at),
        user={"id": user.id, "username": user.username, "name": user.name, "role": user.role,
              "agency_id": user.agency_id},
    ), 201
