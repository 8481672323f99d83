"""The survey tablet of a counter (/counter/survey): a tablet facing the
visitor, logged in as an officer of the agency, offers the satisfaction
survey of the ticket just finished at its counter, then thanks the visitor
and waits for the next one.

The officer picks the counter once (remembered in the tablet's browser and
in the address, ``#counter=<id>``). The page learns of finishes over
Socket.IO (``subscribe_counter``, then ``ticket.updated``) and asks
``GET /api/v1/counters/<id>/survey`` which ticket to rate (also every few
seconds, in case an event was missed); answers go to
``POST /api/v1/counters/<id>/survey`` with the session and its CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from queue_server.domain.site import get_site
from queue_server.extensions import db
from queue_server.models import Counter, Role
from queue_server.visitor import survey_form

from .pages import bp

THANKS_SECONDS = 8  # the thank-you stays this long before the idle screen
POLL_SECONDS = 15  # safety net next to the Socket.IO events


def tablet_texts() -> dict[str, str]:
    """The texts the tablet script writes itself, in the page's language."""
    return {
        **survey_form.texts(),
        "ticket": str(_l("Ticket %(number)s")),
        "notYours": str(_l("This counter cannot be used here. Choose another one.")),
        "offline": str(_l("Not connected")),
    }


@bp.get("/survey")
@login_required
def survey_tablet():  # type: ignore[no-untyped-def]
    if current_user.role not in (Role.OFFICER, Role.ADMIN):
        abort(403)
    stmt = select(Counter).order_by(Counter.number)
    if current_user.role == Role.OFFICER:
        stmt = stmt.where(Counter.agency_id == current_user.agency_id)
    counters = db.session.execute(stmt).scalars().all()
    lang = str(get_locale() or "id")
    lang = lang if lang in ("id", "en") else "id"
    config: dict[str, Any] = {
        "lang": lang,
        "counters": [{"id": c.id, "code": c.code, "number": c.number, "name": c.name, "zone": c.zone}
                     for c in counters],
        "csrf_token": generate_csrf(),
        "api": "/api/v1",
        "thanks_seconds": THANKS_SECONDS,
        "poll_seconds": POLL_SECONDS,
        "texts": tablet_texts(),
    }
    site_name = get_site(db.session).name
    db.session.rollback()
    return render_template("counter/survey.html", config=config, site_name=site_name,
                           questions=survey_form.questions(lang),
                           max_length=survey_form.SUGGESTION_MAX_LENGTH, logout_url=url_for("auth.logout"))
