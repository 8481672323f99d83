"""Pages for staff accounts and devices, with device keys shown once."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..domain.admin import accounts
from ..extensions import db
from ..models import Agency, Device, DeviceKind, User
from . import bp
from .common import attempt, editor, page
from .fields import codes, words
from .forms import KIND_LABELS, ROLE_LABELS, ActionForm, DeviceForm, UserForm


@bp.get("/users")
def users():  # type: ignore[no-untyped-def]
    rows = db.session.execute(select(User).order_by(User.role, User.username)).scalars().all()
    return page("admin/users.html", users=rows, roles=ROLE_LABELS)


def _user_form(user: User | None) -> UserForm:
    form = UserForm()
    agencies = db.session.execute(select(Agency).order_by(Agency.code)).scalars().all()
    form.agency_id.choices = [("", "-")] + [(str(a.id), f"{a.code} · {a.name}") for a in agencies]
    if user is not None:
        del form.username
        if not form.is_submitted():
            form.process(obj=user, agency_id=str(user.agency_id or ""))
    return form


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():  # type: ignore[no-untyped-def]
    form = _user_form(None)
    if form.validate_on_submit():
        saved = attempt(form, lambda: accounts.save_user(
            db.session, editor(), None, form.values(), form.password.data or ""))
        if saved is not None:
            flash(_("User %(username)s created.", username=saved.username), "ok")
            return redirect(url_for("admin.users"))
    return page("admin/user_form.html", form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):  # type: ignore[no-untyped-def]
    row = db.session.get(User, user_id) or abort(404)
    form = _user_form(row)
    if form.validate_on_submit() and attempt(form, lambda: accounts.save_user(
            db.session, editor(), row, form.values(), form.password.data or "")) is not None:
        flash(_("User %(username)s saved.", username=row.username), "ok")
        return redirect(url_for("admin.users"))
    return page("admin/user_form.html", form, user=row)


@bp.get("/devices")
def devices():  # type: ignore[no-untyped-def]
    rows = db.session.execute(select(Device).order_by(Device.kind, Device.code)).scalars().all()
    return page("admin/devices.html", devices=rows, kinds=KIND_LABELS)


def _fill(form: DeviceForm, device: Device) -> None:
    """The device's settings into the form's fields."""
    s = device.settings or {}
    kiosks = s.get("kiosks") or ([s["kiosk"]] if s.get("kiosk") else [])
    form.process(obj=device, zones=", ".join(s.get("zones") or []),
                 agencies=", ".join(s.get("agencies") or []), printer=s.get("printer", ""),
                 paper_width=str(s.get("paper_width", 80)), ticket_logo=s.get("ticket_logo", ""),
                 idle_seconds=s.get("idle_seconds"), result_seconds=s.get("result_seconds"),
                 running_text=s.get("running_text", ""),
                 announce_english=bool(s.get("announce_english")),
                 voice=s.get("voice", "auto"), kiosks=", ".join(kiosks))


def _settings(form: DeviceForm, kind: str) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "zones": words(form.zones.data), "agencies": codes(form.agencies.data),
        "printer": form.printer.data or "", "paper_width": int(form.paper_width.data or 80),
        "ticket_logo": form.ticket_logo.data or "", "idle_seconds": form.idle_seconds.data,
        "result_seconds": form.result_seconds.data, "running_text": form.running_text.data or "",
        "announce_english": bool(form.announce_english.data),
        "voice": "" if form.voice.data == "auto" else form.voice.data,
        "kiosks": codes(form.kiosks.data)}
    if kind == DeviceKind.KIOSK and raw["paper_width"] == 80 and not raw["printer"]:
        raw["paper_width"] = None  # no printer: no paper width either
    return accounts.build_settings(db.session, kind, raw)


def _show_key(device: Device, key: str, created: bool):  # type: ignore[no-untyped-def]
    """The only time the key is seen: not stored, not cached, not in a cookie."""
    response = make_response(render_template("admin/device_key.html", device=device, key=key,
                                              created=created, kinds=KIND_LABELS))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/devices/new", methods=["GET", "POST"])
def device_new():  # type: ignore[no-untyped-def]
    form = DeviceForm()
    if form.validate_on_submit():
        def change() -> tuple[Device, str]:
            kind = form.kind.data or DeviceKind.KIOSK
            return accounts.create_device(db.session, editor(), {
                "code": form.code.data, "kind": kind, "name": form.name.data,
                "active": bool(form.active.data), "settings": _settings(form, kind)})

        made = attempt(form, change)
        if made is not None:
            return _show_key(*made, created=True)
    return page("admin/device_form.html", form, device=None, kinds=KIND_LABELS)


@bp.route("/devices/<int:device_id>", methods=["GET", "POST"])
def device(device_id: int):  # type: ignore[no-untyped-def]
    row = db.session.get(Device, device_id) or abort(404)
    form = DeviceForm()
    del form.code, form.kind
    if not form.is_submitted():
        _fill(form, row)
    if form.validate_on_submit() and attempt(form, lambda: accounts.save_device(
            db.session, editor(), row, {"name": form.name.data, "active": bool(form.active.data),
                                        "settings": _settings(form, row.kind)})) is not None:
        flash(_("Device %(code)s saved.", code=row.code), "ok")
        return redirect(url_for("admin.devices"))
    return page("admin/device_form.html", form, device=row, kinds=KIND_LABELS,
                rotate=ActionForm(formdata=None))


@bp.post("/devices/<int:device_id>/rotate-key")
def device_rotate(device_id: int):  # type: ignore[no-untyped-def]
    row = db.session.get(Device, device_id) or abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    key = attempt(form, lambda: accounts.rotate_key(db.session, editor(), row))
    if key is None:
        abort(409)
    return _show_key(row, key, created=False)
