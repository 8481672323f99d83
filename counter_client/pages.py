"""The counter officer's page (/counter): call, serve, transfer, with the live queue.

Plain HTML/CSS/JS over the JSON API (the officer's login session, CSRF token
in a header) and Socket.IO (``subscribe_counter`` for the counter's queue and
state). ``antrian-counter`` (counter_client/cli.py) does the same from a shell.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from queue_server.domain.site import get_site
from queue_server.extensions import db
from queue_server.models import Counter, Role

bp = Blueprint("counter_client", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")


def counter_config() -> dict[str, Any]:
    """What the page script needs, rendered into the page as JSON."""
    user = current_user
    stmt = select(Counter).order_by(Counter.number)
    if user.role == Role.OFFICER:
        stmt = stmt.where(Counter.agency_id == user.agency_id)
    counters = db.session.execute(stmt).scalars().all()
    site = get_site(db.session)
    lang = str(get_locale() or "id")
    return {
        "user": {"id": user.id, "name": user.name, "username": user.username, "role": str(user.role),
                 "agency_id": user.agency_id},
        "site": {"name": site.name, "timezone": site.timezone,
                 # The no-show button explains the wait; the server enforces it.
                 "no_show_grace_seconds": int(site.no_show_grace_seconds or 0)},
        "lang": lang if lang in ("id", "en") else "id",
        "counters": [{"id": c.id, "code": c.code, "number": c.number, "name": c.name,
                      "zone": c.zone, "agency_id": c.agency_id} for c in counters],
        "csrf_token": generate_csrf(),
        "api": "/api/v1",
        "logout_url": url_for("auth.logout"),
        "home_url": url_for("main.index"),
    }


@bp.get("/")
@login_required
def page():  # type: ignore[no-untyped-def]
    if current_user.role not in (Role.OFFICER, Role.ADMIN):
        abort(403)
    return render_template("counter/counter.html", config=counter_config())


from . import survey  # noqa: E402,F401  (the survey tablet, /counter/survey: routes on bp)
