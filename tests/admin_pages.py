"""Helpers for the admin page tests: log in, and post a form with its CSRF token
taken from the page, as a browser would."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import select

from queue_server.extensions import db
from queue_server.models import AuditEntry

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_of(page: str) -> str:
    match = CSRF.search(page)
    assert match, "no csrf_token in the page"
    return match.group(1)


def log_in(client, username: str = "admin", password: str = "admin-demo") -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/auth/login").get_data(as_text=True))
    res = client.post("/auth/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    assert res.status_code == 302, res.get_data(as_text=True)[:300]


def submit(client, url: str, data: dict[str, Any], page: str | None = None):  # type: ignore[no-untyped-def]
    """GET ``page`` (default ``url``) for its token, then POST ``data`` to ``url``."""
    token = csrf_of(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def field_errors(page: str, field: str) -> list[str]:
    found = re.findall(rf'<p class="field-error" role="alert" data-field="{field}">([^<]*)</p>', page)
    return [html.unescape(text) for text in found]


def audit_entries(app, kind: str | None = None) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with app.app_context():
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if kind:
            stmt = stmt.where(AuditEntry.entity_kind == kind)
        entries = db.session.execute(stmt).scalars().all()
        db.session.expunge_all()
        return list(entries)
