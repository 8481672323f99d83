"""Staff accounts and devices: create, edit, passwords and device keys.

Passwords are stored hashed and device keys as SHA-256; a new key is returned
once to be shown to the administrator and is never stored or logged in clear.
Rotating a key replaces the hash, so the old key stops working with the next
request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...database import begin_write
from ...models import ApiToken, Device, DeviceKind, PrintJob, PrintStatus, Role, User
from ...security import hash_key, hash_password, new_key
from ..errors import InvalidInput
from ..events import DomainEvent, record
from ..printing import printer_setup, validate_printer_settings
from .changes import Editor, apply, audited, snapshot

USER_FIELDS = ("username", "name", "role", "agency_id", "active", "password_hash",
               "demo_credential")
DEVICE_FIELDS = ("code", "kind", "name", "active", "settings", "key_hash", "demo_credential")
MIN_PASSWORD = 8

# The settings each kind of device reads (see config_import.DEVICE_SETTINGS).
KIND_SETTINGS: dict[str, tuple[str, ...]] = {
    DeviceKind.KIOSK: ("zones", "agencies", "printer", "paper_width", "ticket_logo",
                       "idle_seconds", "result_seconds"),
    DeviceKind.DISPLAY: ("zones", "agencies", "running_text", "announce_english", "voice"),
    DeviceKind.PRINT_AGENT: ("kiosks",),
}
VOICES = ("auto", "clips", "speech")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password_short", "a password needs at least 8 characters",
                           field="password", min=MIN_PASSWORD)


def save_user(session: Session, editor: Editor, user: User | None, values: dict[str, Any],
              password: str = "") -> User:
    """Create or edit a person. A new password (required for a new user)
    clears the demo mark and revokes the person's API tokens."""
    begin_write(session)
    values = dict(values)
    username = values.pop("username") if user is None else user.username
    if values["role"] == Role.OFFICER and values.get("agency_id") is None:
        raise InvalidInput("officer_needs_agency", "an officer belongs to an agency",
                           field="agency_id")
    if user is not None and user.id == editor.user_id and (
            values["role"] != Role.ADMIN or not values["active"]):
        raise InvalidInput("own_admin", "you cannot remove your own admin access", field="role")
    if password or user is None:
        _check_password(password)
    if user is None:
        other = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if other is not None:
            raise InvalidInput("username_taken", f"{username} exists", field="username",
                               value=username)
        user = User(username=username, password_hash=hash_password(password),
                    demo_credential=False, **values)
        session.add(user)
        session.flush()
        audited(session, editor, "create", "user", user, username, {},
                snapshot(user, USER_FIELDS))
        return user
    before = snapshot(user, USER_FIELDS)
    apply(user, values)
    if password:
        user.password_hash = hash_password(password)
        user.demo_credential = False
        session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    audited(session, editor, "update", "user", user, username, before, snapshot(user, USER_FIELDS))
    return user


def _codes(session: Session, column: Any, codes: list[str], field: str, *where: Any) -> None:
    known = set(session.execute(select(column).where(column.in_(codes), *where)).scalars())
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise InvalidInput(f"unknown_{field}", f"unknown: {', '.join(unknown)}", field=field,
                           codes=", ".join(unknown))


def build_settings(session: Session, kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The settings JSON for a device of ``kind``, validated; empty values left out
    so the reader's defaults apply."""
    from ...models import Agency

    wanted = KIND_SETTINGS[kind]
    settings = {k: raw[k] for k in wanted if raw.get(k) not in (None, "", [], False)}
    if settings.get("agencies"):
        _codes(session, Agency.code, settings["agencies"], "agencies")
    if settings.get("kiosks"):
        _codes(session, Device.code, settings["kiosks"], "kiosks", Device.kind == DeviceKind.KIOSK)
    if "voice" in settings and settings["voice"] not in VOICES:
        raise InvalidInput("invalid_voice", "voice must be auto, clips or speech", field="voice")
    for name in ("idle_seconds", "result_seconds"):
        if name in settings and not 5 <= int(settings[name]) <= 3600:
            raise InvalidInput("invalid_seconds", f"{name} must be 5-3600", field=name)
    if kind == DeviceKind.KIOSK:
        if settings.get("printer"):
            settings["printer"] = str(settings["printer"]).strip()
        try:
            validate_printer_settings(settings)
        except InvalidInput as exc:
            field = "paper_width" if "paper_width" in exc.message else "printer"
            raise InvalidInput("invalid_printer", exc.message, field=field,
                               reason=exc.message) from None
    return settings


def _follow_printer(session: Session, editor: Editor, device: Device,
                    old: tuple[str, int]) -> None:
    """Tickets still waiting for paper go to the kiosk's new printer; a job
    rendered for another paper width, or with no printer left, is given up
    (staff can reprint). The printer state starts over as unknown."""
    new = printer_setup(device)
    if (new.target, new.paper_width) == old:
        return
    jobs = session.execute(
        select(PrintJob).where(PrintJob.device_id == device.id,
                               PrintJob.status == PrintStatus.PENDING)
    ).scalars().all()
    for job in jobs:
        if new.enabled and new.paper_width == old[1]:
            job.target = new.target
            job.next_attempt_at = editor.at
        else:
            job.status = PrintStatus.FAILED
            job.last_error = "printer changed"
        record(session, DomainEvent("print.updated", job.ticket_id, data={"job_id": job.id}))
    device.printer_state, device.printer_error = "unknown", ""
    device.printer_checked_at = None
    record(session, DomainEvent("printer.updated", data={"device_id": device.id}))
    if jobs and new.enabled:
        record(session, DomainEvent("print.queued"))


def create_device(session: Session, editor: Editor, values: dict[str, Any]) -> tuple[Device, str]:
    """A new device with a fresh key; the key is returned once, only its hash kept."""
    begin_write(session)
    code = values["code"]
    other = session.execute(select(Device).where(Device.code == code)).scalar_one_or_none()
    if other is not None:
        raise InvalidInput("code_taken", f"{code} exists", field="code", value=code,
                           other=other.name or other.code)
    key = new_key()
    device = Device(key_hash=hash_key(key), demo_credential=False, **values)
    session.add(device)
    session.flush()
    audited(session, editor, "create", "device", device, code, {}, snapshot(device, DEVICE_FIELDS))
    return device, key


def save_device(session: Session, editor: Editor, device: Device, values: dict[str, Any]) -> Device:
    """Edit a device's name, settings or active flag (code and kind are fixed)."""
    begin_write(session)
    before = snapshot(device, DEVICE_FIELDS)
    old_printer = printer_setup(device)
    apply(device, values)
    if device.kind == DeviceKind.KIOSK:
        _follow_printer(session, editor, device, (old_printer.target, old_printer.paper_width))
    audited(session, editor, "update", "device", device, device.code, before,
            snapshot(device, DEVICE_FIELDS))
    return device


def rotate_key(session: Session, editor: Editor, device: Device) -> str:
    """Replace the device's key; the old one is refused from the next request on."""
    begin_write(session)
    before = snapshot(device, DEVICE_FIELDS)
    key = new_key()
    device.key_hash = hash_key(key)
    device.demo_credential = False
    audited(session, editor, "rotate_key", "device", device, device.code, before,
            snapshot(device, DEVICE_FIELDS))
    return key
