"""The visitor's status page (/t/<token>), opened from the QR code on a ticket.

``GET /t/<token>`` renders the ticket's current state on the server (so the
page is useful before any script runs); ``visitor.js`` then follows it over
Socket.IO. ``GET /t/<token>/qr.svg`` is the QR code of the page's absolute
address, and :func:`status_url` builds that address for the API and printing.

The page shows the visitor's own ticket only: no other number, no names.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import get_locale

from .. import links
from ..domain import issuing
from ..domain.errors import NotFound
from ..domain.site import get_site
from ..extensions import db
from ..models import Ticket
from ..overview import ticket_status
from ..ratelimit import rate_limited
from . import survey_form

bp = Blueprint("visitor", __name__, template_folder="templates", static_folder="static",
               static_url_path="/t-static")

# Tokens are 22 URL-safe base64 characters today; accept 1-32 before touching the database.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
QR_MAX_AGE = 24 * 3600  # a token never changes; PUBLIC_URL might, so not "forever"


def qr_svg(url: str) -> bytes:
    """The QR code of ``url`` as an SVG document (one path, scales to any size)."""
    import qrcode
    import qrcode.image.svg

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="utf-8")


def _lang() -> str:
    return str(get_locale() or "id")


def _ticket(token: str) -> Ticket | None:
    if not TOKEN_RE.fullmatch(token):
        return None
    return issuing.latest_leg(db.session, token)


def _site_name() -> str:
    try:
        return get_site(db.session).name
    except NotFound:
        return ""


def _private(response: Response) -> Response:
    # The address is the credential: keep it out of referrers, shared caches and search engines.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _not_found() -> Response:
    response = Response(render_template("visitor/not_found.html", site_name=_site_name()), 404)
    response.headers["Cache-Control"] = "no-store"
    return _private(response)


@bp.get("/t/<token>")
@rate_limited("status")
def status_page(token: str) -> Response:
    ticket = _ticket(token)
    if ticket is None:
        return _not_found()
    lang = _lang()
    data: dict[str, Any] = ticket_status(db.session, current_app.extensions["antrian_clock"],
                                         ticket, lang)
    site_name = _site_name()
    db.session.rollback()  # end the read transaction
    response = Response(render_template(
        "visitor/status.html", t=data, token=token, lang=lang, site_name=site_name,
        survey_questions=survey_form.questions(lang), survey_texts=survey_form.texts(),
        survey_max=survey_form.SUGGESTION_MAX_LENGTH))
    response.headers["Cache-Control"] = "no-store"
    return _private(response)


@bp.get("/t/<token>/qr.svg")
@rate_limited("status")
def qr_code(token: str) -> Response:
    ticket = _ticket(token)
    db.session.rollback()
    if ticket is None:
        return _not_found()
    response = Response(qr_svg(links.status_url(token)), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = f"private, max-age={QR_MAX_AGE}"
    response.add_etag()
    response.make_conditional(request)
    return _private(response)
