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
        {"title": _("Ticket kiosk"), "url": url_for("kiosk.page"),
         "note": _("touchscreen; open it once as /kiosk/?key=<kiosk device key>")},
        {"title": _("Hall display"), "url": None,
         "note": _("TV; open it once as /display/<code>?key=<display device key>")},
        {"title": _("Counter (officers)"), "url": url_for("counter_client.page"),
         "note": _("call, serve and transfer visitors at a counter")},
        {"title": _("Log in (officers, managers, administrators)"), "url": url_for("auth.login"),
         "note": ""},
        {"title": _("Ticket printers"), "url": url_for("main.printers"),
         "note": _("staff: printer state per kiosk, reprint a ticket")},
        {"title": _("Manager dashboard"), "url": url_for("manager.dashboard"),
         "note": _("managers: queues, counters and devices live, with alerts")},
        {"title": _("Reports"), "url": url_for("manager.reports_page"),
         "note": _("managers: waits, service times, targets, usage trends; CSV and XLSX")},
        {"title": _("Satisfaction index (IKM)"), "url": url_for("manager.ikm_page"),
         "note": _("managers: survey results per agency and period")},
        {"title": _("Administration"), "url": url_for("admin.index"),
         "note": _("administrators: agencies, services, counters, users, devices")},
        {"title": _("Visitor status page"), "url": None,
         "note": _("/t/<code>: opened from the QR code on each ticket")},
    ]
    return render_template("main/index.html", site_name=site_name, pages=pages)


from . import printers  # noqa: E402,F401  (registers its routes on bp)
