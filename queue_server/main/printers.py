"""Staff page for ticket printers: each kiosk's printer state, and reprinting
a ticket by its number (paper jammed, a visitor lost the ticket)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Regexp

from ..api.guards import commit_and_publish
from ..api.messages import translate
from ..database import begin_write
from ..domain import printing, queries
from ..domain.errors import DomainError
from ..domain.issuing import latest_leg
from ..domain.site import get_site, today
from ..extensions import db
from ..links import status_url
from ..models import Device, DeviceKind, Role, Ticket, TicketStatus
from . import bp

NUMBER = r"^\s*[A-Za-z]{1,3}\s*-?\s*\d{1,4}\s*$"


class ReprintForm(FlaskForm):
    number = StringField(_l("Ticket number"), validators=[
        DataRequired(), Length(max=12), Regexp(NUMBER, message=_l("Write a number such as A012."))])
    kiosk = SelectField(_l("Kiosk"), choices=[], validate_choice=True)
    submit = SubmitField(_l("Reprint"))


def _clock():  # type: ignore[no-untyped-def]
    from flask import current_app

    return current_app.extensions["antrian_clock"]


def _kiosks() -> list[Device]:
    return list(db.session.execute(
        select(Device).where(Device.kind == DeviceKind.KIOSK).order_by(Device.code)).scalars())


def _normalise(number: str) -> str:
    """"a-12" and "A 012" both mean A012 (prefix + three digits, as printed)."""
    letters = "".join(c for c in number if c.isalpha()).upper()
    digits = "".join(c for c in number if c.isdigit())
    return f"{letters}{int(digits):03d}"


def _find_today(number: str) -> Ticket | None:
    first = db.session.execute(
        select(Ticket).where(Ticket.number == number,
                             Ticket.service_day == today(db.session, _clock()), Ticket.leg == 1)
    ).scalar_one_or_none()
    return latest_leg(db.session, first.token) if first else None


def _reprint(form: ReprintForm) -> None:
    number = _normalise(form.number.data or "")
    begin_write(db.session)
    ticket = _find_today(number)
    if ticket is None:
        flash(_("There is no ticket %(number)s today.", number=number), "error")
        return
    if current_user.role == Role.OFFICER and ticket.agency_id != current_user.agency_id:
        flash(translate("not_your_ticket", "", {"number": number}), "error")
        return
    kiosk = db.session.execute(select(Device).where(Device.code == form.kiosk.data)).scalar_one_or_none()
    ahead = estimate = 0
    if ticket.status == TicketStatus.WAITING:
        ahead, estimate = queries.position_and_wait(db.session, ticket, get_site(db.session).priority_mode,
                                                    _clock().now())
    try:
        printing.reprint(db.session, _clock(), ticket, kiosk, current_user, status_url(ticket.token),
                         ahead, estimate)
    except DomainError as exc:
        db.session.rollback()
        flash(translate(exc.code, exc.message, exc.params), "error")
        return
    commit_and_publish()
    flash(_("Ticket %(number)s is being printed again.", number=number), "ok")


@bp.route("/printers", methods=["GET", "POST"])
@login_required
def printers():  # type: ignore[no-untyped-def]
    if current_user.role not in (Role.OFFICER, Role.MANAGER, Role.ADMIN):
        abort(403)
    kiosks = _kiosks()
    form = ReprintForm()
    form.kiosk.choices = [("", _("The kiosk that issued it"))] + [(k.code, k.name) for k in kiosks
                                                                   if printing.printer_setup(k).enabled]
    if form.validate_on_submit():
        _reprint(form)
        return redirect(url_for("main.printers"))
    open_jobs = printing.open_jobs_by_kiosk(db.session)
    rows = [(k, printing.printer_setup(k), open_jobs.get(k.id, 0)) for k in kiosks]
    return render_template("main/printers.html", form=form, rows=rows), 400 if form.errors else 200
