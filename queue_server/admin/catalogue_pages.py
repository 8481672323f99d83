"""Pages for agencies (with their opening hours), services and counters."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..domain.admin import catalogue
from ..domain.admin.schedule import from_week, to_week
from ..extensions import db
from ..models import Agency, Counter, Service
from . import bp
from .common import attempt, editor, page
from .forms import DAY_LABELS, ActionForm, AgencyForm, CounterForm, ServiceForm


def _agency(agency_id: int) -> Agency:
    return db.session.get(Agency, agency_id) or abort(404)


@bp.get("/agencies")
def agencies():  # type: ignore[no-untyped-def]
    rows = db.session.execute(
        select(Agency).order_by(Agency.code)
        .options(selectinload(Agency.services), selectinload(Agency.counters))
    ).scalars().all()
    return page("admin/agencies.html", agencies=rows)


def _save_agency(form: AgencyForm, agency: Agency | None):  # type: ignore[no-untyped-def]
    def change() -> Agency:
        values = {**form.values(), "hours": from_week(form.week())}
        return catalogue.save_agency(db.session, editor(), agency, values)

    return attempt(form, change)


@bp.route("/agencies/new", methods=["GET", "POST"])
def agency_new():  # type: ignore[no-untyped-def]
    form = AgencyForm()
    if not form.is_submitted():
        form.always_open.data = False
    if form.validate_on_submit():
        saved = _save_agency(form, None)
        if saved is not None:
            flash(_("Agency %(code)s created.", code=saved.code), "ok")
            return redirect(url_for("admin.agency", agency_id=saved.id))
    return page("admin/agency_form.html", form, agency=None, days=DAY_LABELS)


@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
def agency(agency_id: int):  # type: ignore[no-untyped-def]
    row = _agency(agency_id)
    form = AgencyForm(obj=row)
    del form.code
    if not form.is_submitted():
        form.fill_week(to_week(row.hours))
    if form.validate_on_submit() and _save_agency(form, row) is not None:
        flash(_("Agency %(code)s saved.", code=row.code), "ok")
        return redirect(url_for("admin.agency", agency_id=row.id))
    return page("admin/agency_form.html", form, agency=row, days=DAY_LABELS)


@bp.route("/agencies/<int:agency_id>/services/new", methods=["GET", "POST"])
def service_new(agency_id: int):  # type: ignore[no-untyped-def]
    owner = _agency(agency_id)
    form = ServiceForm()
    if form.validate_on_submit():
        saved = attempt(form, lambda: catalogue.save_service(
            db.session, editor(), owner, None, form.values()))
        if saved is not None:
            flash(_("Service %(code)s created.", code=saved.code), "ok")
            return redirect(url_for("admin.agency", agency_id=owner.id))
    return page("admin/service_form.html", form, agency=owner, service=None)


@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
def service(service_id: int):  # type: ignore[no-untyped-def]
    row = db.session.get(Service, service_id) or abort(404)
    owner = row.agency
    form = ServiceForm(obj=row)
    del form.code
    if not form.is_submitted() and row.prefix == owner.prefix:
        form.prefix.data = ""  # shares the agency's queue
    if form.validate_on_submit() and attempt(form, lambda: catalogue.save_service(
            db.session, editor(), owner, row, form.values())) is not None:
        flash(_("Service %(code)s saved.", code=row.code), "ok")
        return redirect(url_for("admin.agency", agency_id=owner.id))
    return page("admin/service_form.html", form, agency=owner, service=row)


@bp.get("/counters")
def counters():  # type: ignore[no-untyped-def]
    rows = db.session.execute(
        select(Counter).order_by(Counter.number)
        .options(selectinload(Counter.services), selectinload(Counter.agency))
    ).scalars().all()
    return page("admin/counters.html", counters=rows)


def _counter_form(owner: Agency, counter: Counter | None) -> CounterForm:
    form = CounterForm()
    form.services.choices = [(s.id, f"{s.code} · {s.name}") for s in owner.services]
    if not form.is_submitted():
        if counter is not None:
            form.process(obj=counter, services=[s.id for s in counter.services])
        else:
            form.zone.data = owner.zone
    if counter is not None:
        del form.code
    return form


@bp.route("/agencies/<int:agency_id>/counters/new", methods=["GET", "POST"])
def counter_new(agency_id: int):  # type: ignore[no-untyped-def]
    owner = _agency(agency_id)
    form = _counter_form(owner, None)
    if form.validate_on_submit():
        saved = attempt(form, lambda: catalogue.save_counter(
            db.session, editor(), owner, None, form.values(), form.services.data or []))
        if saved is not None:
            flash(_("Counter %(code)s created.", code=saved.code), "ok")
            return redirect(url_for("admin.agency", agency_id=owner.id))
    return page("admin/counter_form.html", form, agency=owner, counter=None, delete=None)


@bp.route("/counters/<int:counter_id>", methods=["GET", "POST"])
def counter(counter_id: int):  # type: ignore[no-untyped-def]
    row = db.session.get(Counter, counter_id) or abort(404)
    owner = row.agency
    form = _counter_form(owner, row)
    if form.validate_on_submit() and attempt(form, lambda: catalogue.save_counter(
            db.session, editor(), owner, row, form.values(),
            form.services.data or [])) is not None:
        flash(_("Counter %(code)s saved.", code=row.code), "ok")
        return redirect(url_for("admin.agency", agency_id=owner.id))
    return page("admin/counter_form.html", form, agency=owner, counter=row,
                delete=ActionForm(formdata=None))


@bp.post("/counters/<int:counter_id>/delete")
def counter_delete(counter_id: int):  # type: ignore[no-untyped-def]
    row = db.session.get(Counter, counter_id) or abort(404)
    owner, code = row.agency, row.code
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if attempt(form, lambda: catalogue.delete_counter(db.session, editor(), row) or True):
        flash(_("Counter %(code)s deleted.", code=code), "ok")
        return redirect(url_for("admin.agency", agency_id=owner.id))
    for error in form.form_errors:
        flash(error, "error")
    edit = _counter_form(owner, row)
    return render_template("admin/counter_form.html", form=edit, agency=owner, counter=row,
                           delete=form), 409
