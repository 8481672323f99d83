"""Report figures as JSON (the same figures as /manager/reports and its exports)."""

from __future__ import annotations

from flask import jsonify, request

from .. import report_args
from ..domain import reports
from ..domain.site import get_site, today
from ..extensions import db
from ..models import Role
from . import bp
from .guards import clock, require_user


@bp.get("/reports/summary")
@require_user(Role.MANAGER, Role.ADMIN)
def report_summary():  # type: ignore[no-untyped-def]
    """Totals, wait/service distribution, breakdown, trends and heatmap for a filter."""
    day = today(db.session, clock())
    chosen = report_args.report_filter(request.args, day)
    report = reports.build(db.session, chosen, get_site(db.session).timezone,
                           report_args.breakdown(request.args), today=day, now=clock().now())
    return jsonify(report.as_dict())
