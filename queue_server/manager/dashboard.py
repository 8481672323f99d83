"""The managers' live dashboard: ``GET /manager/`` (the page) and
``GET /manager/dashboard.json`` (the snapshot it refetches on every relevant
Socket.IO event). The figures come from :mod:`queue_server.dashboard`;
docs/dashboard.md says what each one means."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from ..dashboard import snapshot
from ..domain.presence import ONLINE_SECONDS
from ..domain.site import get_site
from ..extensions import db
from . import bp

REFRESH_SECONDS = 30  # waits grow and devices time out even when nothing happens
THROTTLE_MS = 1000  # at most one refetch a second, however busy the building


def _lang() -> str:
    lang = str(get_locale() or "id")
    return lang if lang in ("id", "en") else "id"


def _link(fallback: str, *endpoints: str) -> str:
    """Sibling manager pages (reports, IKM): their route if registered, else their path."""
    for endpoint in endpoints:
        try:
            return url_for(endpoint)
        except BuildError:
            continue
    return fallback


def texts() -> dict[str, str]:
    """Every text the script shows, translated here so the catalogue has them."""
    return {
        "updated": _("Updated {time}"),
        "offline": _("Not connected: the figures may be out of date."),
        "loadFailed": _("The dashboard could not be loaded. Log in again if your session ended."),
        "noAlerts": _("No alerts: every queue is within its target and every device is online."),
        "alertWait": _("{agency}: {count} waiting past the target; the longest has waited "
                       "{minutes} min ({service}, target {target} min)."),
        "alertOffline": _("{device} is offline; last seen {time}."),
        "alertNever": _("{device} is offline; it has never connected."),
        "alertPrinter": _("Printer of {device}: {state}."),
        "min": _("{n} min"),
        "targetMin": _("target {n} min"),
        "ofOpen": _("{open} of {total} open"),
        "noCounter": _("No counter open"),
        "serving": _("serving {number}"),
        "paused": _("paused"),
        "online": _("online"),
        "offlineState": _("offline"),
        "never": _("never"),
        "noPrinter": _("none"),
        "kind.kiosk": _("Kiosk"),
        "kind.display": _("Display"),
        "kind.print_agent": _("Print agent"),
        "printer.unknown": _("unknown"),
        "printer.ok": _("ready"),
        "printer.paper_low": _("paper running low"),
        "printer.paper_out": _("out of paper"),
        "printer.offline": _("offline"),
        "printer.error": _("error"),
        "open.open": _("Open"),
        "open.break": _("Break"),
        "open.before_open": _("Not open yet"),
        "open.after_cutoff": _("No new tickets"),
        "open.closed": _("Closed"),
        "open.holiday": _("Holiday"),
        "open.inactive": _("Inactive"),
        "overTarget": _("{n} past target"),
        "withinTarget": _("{n}% within target"),
    }


def page_config() -> dict[str, Any]:
    site = get_site(db.session)
    return {
        "lang": _lang(),
        "timezone": site.timezone,
        "site": site.name,
        "snapshot_url": url_for("manager.dashboard_json"),
        "refresh_seconds": int(current_app.config.get("DASHBOARD_REFRESH_SECONDS", REFRESH_SECONDS)),
        "throttle_ms": THROTTLE_MS,
        "online_seconds": ONLINE_SECONDS,
        "texts": texts(),
    }


@bp.get("/")
def dashboard():  # type: ignore[no-untyped-def]
    config = page_config()
    db.session.rollback()
    return render_template("manager/dashboard.html", config=config,
                           reports_url=_link("/manager/reports", "manager.reports_page"),
                           ikm_url=_link("/manager/ikm", "manager.ikm_page", "manager.ikm"))


@bp.get("/dashboard.json")
def dashboard_json():  # type: ignore[no-untyped-def]
    body = snapshot(db.session, current_app.extensions["antrian_clock"], _lang())
    db.session.rollback()  # a read: never hold a SQLite snapshot open
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
