"""The whole configuration as a TOML file: download it, or upload one."""

from __future__ import annotations

from flask import Response, current_app, make_response, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..api.guards import commit_and_publish
from ..config_check import Problem
from ..config_export import export_config
from ..config_upload import MAX_BYTES, apply_upload
from ..extensions import csrf, db
from . import bp
from .common import editor, page
from .forms import ImportForm

PROBLEMS = {
    "not_table": _l("must be a table"),
    "not_list": _l("must be a list of tables ([[...]])"),
    "bad_code": _l("the code ‘%(value)s’ must be 1 to %(max)s capital letters, digits or '-'"),
    "bad_prefix": _l("the prefix ‘%(value)s’ must be 1 to 3 capital letters"),
    "duplicate": _l("%(value)s appears more than once"),
    "prefix_clash": _l("the prefix %(value)s is already used by %(other)s"),
    "bad_number": _l("%(field)s must be a whole number of at least %(min)s"),
    "bad_decimal": _l("%(field)s must be a number greater than 0"),
    "bad_text": _l("%(field)s must be a text of at most %(max)s characters"),
    "bad_flag": _l("%(field)s must be true or false"),
    "bad_hours": _l("%(field)s: write times as 08:00-12:00, 13:00-15:30 (%(detail)s)"),
    "unknown_schedule": _l("unknown schedule ‘%(value)s’"),
    "unknown_services": _l("unknown services: %(value)s"),
    "unknown_agency": _l("an officer needs a known agency, not ‘%(value)s’"),
    "bad_role": _l("the role must be officer, manager or admin"),
    "bad_kind": _l("the kind must be kiosk, display or print_agent"),
    "bad_username": _l("the username ‘%(value)s’ must be 2 to 60 small letters, digits, '.', '_' "
                       "or '-'"),
    "bad_key": _l("a key needs at least %(min)s characters"),
    "bad_printer": _l("the printer is not valid: %(detail)s"),
    "bad_timezone": _l("unknown time zone ‘%(value)s’"),
    "bad_priority_mode": _l("priority_mode must be strict or ratio"),
    "not_utf8": _l("the file is not UTF-8 text"),
    "toml_syntax": _l("the file is not valid TOML: %(detail)s"),
    "prefix_shared": _l("the prefix is used by several agencies: %(agencies)s"),
    "conflict": _l("clashes with an existing entry: %(detail)s"),
}


def describe(problem: Problem) -> str:
    """One problem as "where: what", in the page's language."""
    text = PROBLEMS.get(problem.code)
    what = str(text) % problem.params if text is not None else problem.text
    return f"{problem.where}: {what}"


@bp.get("/config.toml")
def config_export() -> Response:
    clock = current_app.extensions["antrian_clock"]
    response = make_response(export_config(db.session, clock.now()))
    response.headers["Content-Type"] = "application/toml; charset=utf-8"
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    response.headers["Content-Disposition"] = f'attachment; filename="antrian-{stamp}.toml"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/import", methods=["GET", "POST"])
@csrf.exempt  # the form's own token is checked below, after the larger size limit is set
def config_import():  # type: ignore[no-untyped-def]
    request.max_content_length = MAX_BYTES
    form = ImportForm()
    problems: list[str] = []
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        result = apply_upload(db.session, editor(), upload.read(MAX_BYTES + 1),
                              upload.filename or "config.toml")
        if result.ok:
            commit_and_publish()
            report = result.report
        else:
            db.session.rollback()
            problems = [describe(p) for p in result.problems]
    elif form.is_submitted() and "csrf_token" in form.errors:
        problems = [_("The page expired; reload it and try again.")]
    status = 400 if form.is_submitted() and report is None else 200
    response = make_response(page("admin/import.html", form, problems=problems,
                                  report=report)[0], status)
    response.headers["Cache-Control"] = "no-store"  # generated keys are shown once
    return response
