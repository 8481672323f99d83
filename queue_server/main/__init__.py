"""The landing page: what this server offers and where each page lives."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _

from ..domain.errors import NotFound
from ..domain.site import get_site
from ..extensions import db

bp = Blueprint("main", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    try:
        site_name = get_site(db.session).name
    except NotFound:
        site_name = None
    pages = [
        {"title": _("Log in (officers, managers, administrators)"), "url": url_for("auth.login"),
         "note": ""},
    ]
    return render_template("main/index.html", site_name=site_name, pages=pages)
