"""Import a site configuration (TOML) into the database, idempotently by code.

Existing rows are matched by their code (agencies, counters, devices), by
(agency, code) for services and by username for users, and updated in place;
secrets (passwords, device keys) are only set when the row is created, so a
second import changes nothing and never resets a password changed since.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from .database import begin_write
from .domain.errors import InvalidInput
from .domain.hours import parse_schedule
from .domain.printing import validate_printer_settings
from .models import Agency, Counter, Device, DeviceKind, Role, Service, Site, User
from .security import MIN_KEY_LENGTH, hash_key, hash_password, new_key

CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")
PREFIX = re.compile(r"^[A-Z]{1,3}$")
# Not a hash of anything: no password matches it until an administrator sets one.
NO_PASSWORD = "!unset"


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    # Credentials that came in plain text from the file (shown once by `antrian init`).
    demo_logins: list[tuple[str, str, str]] = field(default_factory=list)
    demo_keys: list[tuple[str, str, str]] = field(default_factory=list)
    # With new_secrets: keys generated for new devices (shown once), and new
    # users created without a usable password (an administrator sets one).
    generated_keys: list[tuple[str, str, str]] = field(default_factory=list)
    without_password: list[str] = field(default_factory=list)
    new_secrets: bool = False

    def count(self, kind: str, created: bool) -> None:
        target = self.created if created else self.updated
        target[kind] = target.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def load_toml(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput("invalid_config", f"{path}: {exc}") from exc


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_config", f"{where}: {message}")


def _code(value: Any, where: str) -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise _fail(where, f"code {value!r} must be 1-40 of A-Z, 0-9 and '-'")
    return value


def _apply(obj: Any, values: dict[str, Any]) -> bool:
    """Set attributes that differ; True when anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _upsert(report: ImportReport, kind: str, obj: Any, values: dict[str, Any]) -> None:
    if _apply(obj, values):
        report.count(kind, created=False)


def _validate(config: dict[str, Any]) -> None:
    agencies = config.get("agencies", [])
    if not isinstance(agencies, list):
        raise _fail("agencies", "must be an array of tables")
    prefixes: dict[str, str] = {}
    for a in agencies:
        code = _code(a.get("code"), "agencies")
        own = {a.get("prefix")} | {s.get("prefix") for s in a.get("services", []) if s.get("prefix")}
        for p in own:
            if not isinstance(p, str) or not PREFIX.match(p):
                raise _fail(f"agency {code}", f"prefix {p!r} must be 1-3 letters A-Z")
            if prefixes.setdefault(p, code) != code:
                raise _fail(f"agency {code}", f"prefix {p} is already used by {prefixes[p]}")


def import_config(session: Session, config: dict[str, Any], *,
                  new_secrets: bool = False) -> ImportReport:
    """Create or update everything the config names; the caller commits.

    ``new_secrets`` lets an exported file (no passwords, no keys) create rows:
    a new device gets a generated key, a new user an unusable password.
    """
    begin_write(session)
    _validate(config)
    report = ImportReport(new_secrets=new_secrets)
    _import_site(session, config, report)
    schedules = {
        name: parse_schedule(raw) for name, raw in (config.get("schedules") or {}).items()
    }
    agencies = {a.code: a for a in session.execute(select(Agency)).scalars()}
    for raw in config.get("agencies", []):
        agency = _import_agency(session, raw, schedules, agencies, report)
        services = _import_services(session, agency, raw, report)
        _import_counters(session, agency, raw, services, report)
    session.flush()
    agencies = {a.code: a for a in session.execute(select(Agency)).scalars()}
    for raw in config.get("users", []):
        _import_user(session, raw, agencies, report)
    for raw in config.get("devices", []):
        _import_device(session, raw, report)
    session.flush()
    return report


def _import_site(session: Session, config: dict[str, Any], report: ImportReport) -> None:
    raw = config.get("site", {})
    calling = config.get("calling", {})
    tz = raw.get("timezone", "Asia/Jakarta")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail("site", f"unknown timezone {tz!r}") from None
    mode = calling.get("priority_mode", "ratio")
    if mode not in ("strict", "ratio"):
        raise _fail("calling", "priority_mode must be 'strict' or 'ratio'")
    ratio = calling.get("priority_ratio", 2)
    if not isinstance(ratio, int) or ratio < 1:
        raise _fail("calling", "priority_ratio must be a whole number >= 1")
    values = {
        "name": str(raw.get("name", "Mal Pelayanan Publik")),
        "timezone": tz,
        "default_language": raw.get("default_language", "id"),
        "priority_mode": mode,
        "priority_ratio": ratio,
        "no_show_grace_seconds": int(calling.get("no_show_grace_seconds", 120)),
        "closed_dates": sorted(str(d) for d in raw.get("closed_dates", [])),
    }
    site = session.execute(select(Site).limit(1)).scalar_one_or_none()
    if site is None:
        session.add(Site(**values))
        report.count("site", created=True)
    else:
        _upsert(report, "site", site, values)


def _import_agency(
    session: Session,
    raw: dict[str, Any],
    schedules: dict[str, Any],
    existing: dict[str, Agency],
    report: ImportReport,
) -> Agency:
    code = raw["code"]
    schedule_name = raw.get("schedule")
    if schedule_name and schedule_name not in schedules:
        raise _fail(f"agency {code}", f"unknown schedule {schedule_name!r}")
    hours = schedules[schedule_name] if schedule_name else parse_schedule(raw.get("hours", {}))
    if not schedule_name and not raw.get("hours"):
        hours = {}
    values = {
        "name": str(raw.get("name", code)),
        "name_en": str(raw.get("name_en", "")),
        "prefix": raw["prefix"],
        "zone": str(raw.get("zone", "")),
        "active": bool(raw.get("active", True)),
        "hours": hours,
    }
    agency = existing.get(code)
    if agency is None:
        agency = Agency(code=code, **values)
        session.add(agency)
        session.flush()
        existing[code] = agency
        report.count("agencies", created=True)
    else:
        _upsert(report, "agencies", agency, values)
    return agency


def _import_services(
    session: Session, agency: Agency, raw: dict[str, Any], report: ImportReport
) -> dict[str, Service]:
    existing = {s.code: s for s in agency.services}
    for item in raw.get("services", []):
        code = _code(item.get("code"), f"agency {agency.code} services")
        quota = item.get("daily_quota", 0)
        if not isinstance(quota, int) or quota < 0:
            raise _fail(f"service {agency.code}/{code}", "daily_quota must be a whole number >= 0")
        values = {
            "name": str(item.get("name", code)),
            "name_en": str(item.get("name_en", "")),
            "prefix": item.get("prefix") or agency.prefix,
            "daily_quota": quota,
            "target_wait_minutes": int(item.get("target_wait_minutes", 30)),
            "avg_service_minutes": float(item.get("avg_service_minutes", 10)),
            "documents": str(item.get("documents", "")),
            "active": bool(item.get("active", True)),
            "note_required": bool(item.get("note_required", False)),
        }
        service = existing.get(code)
        if service is None:
            service = Service(agency=agency, code=code, **values)
            session.add(service)
            existing[code] = service
            report.count("services", created=True)
        else:
            _upsert(report, "services", service, values)
    session.flush()
    return existing


def _import_counters(
    session: Session,
    agency: Agency,
    raw: dict[str, Any],
    services: dict[str, Service],
    report: ImportReport,
) -> None:
    for item in raw.get("counters", []):
        code = _code(item.get("code"), f"agency {agency.code} counters")
        number = item.get("number")
        if not isinstance(number, int) or number < 1:
            raise _fail(f"counter {code}", "number must be a whole number >= 1")
        names = item.get("services", list(services))
        unknown = [n for n in names if n not in services]
        if unknown:
            raise _fail(f"counter {code}", f"unknown services {', '.join(unknown)}")
        counter = session.execute(select(Counter).where(Counter.code == code)).scalar_one_or_none()
        values = {
            "number": number,
            "name": str(item.get("name", f"Loket {number}")),
            "agency_id": agency.id,
            "zone": str(item.get("zone", agency.zone)),
        }
        wanted = sorted(services[n].id for n in names)
        if counter is None:
            counter = Counter(code=code, **values)
            counter.services = [services[n] for n in names]
            session.add(counter)
            report.count("counters", created=True)
            continue
        changed = _apply(counter, values)
        if sorted(s.id for s in counter.services) != wanted:
            counter.services = [services[n] for n in names]
            changed = True
        if changed:
            report.count("counters", created=False)


def _import_user(
    session: Session, raw: dict[str, Any], agencies: dict[str, Agency], report: ImportReport
) -> None:
    username = raw.get("username")
    if not isinstance(username, str) or not re.match(r"^[a-z0-9._-]{2,60}$", username):
        raise _fail("users", f"username {username!r} must be 2-60 of a-z, 0-9, '.', '_', '-'")
    role = raw.get("role")
    if role not in {r.value for r in Role}:
        raise _fail(f"user {username}", "role must be officer, manager or admin")
    agency_code = raw.get("agency")
    if role == Role.OFFICER and agency_code not in agencies:
        raise _fail(f"user {username}", f"officer needs a known agency, got {agency_code!r}")
    values = {
        "name": str(raw.get("name", username)),
        "role": role,
        "agency_id": agencies[agency_code].id if agency_code in agencies else None,
    }
    if "active" in raw:  # absent: keep an account an administrator switched off
        values["active"] = bool(raw["active"])
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    password = raw.get("password")
    if user is None and password is None and report.new_secrets:
        session.add(User(username=username, password_hash=NO_PASSWORD, **values))
        report.without_password.append(username)
        report.count("users", created=True)
        return
    if user is None:
        if not isinstance(password, str) or len(password) < 8:
            raise _fail(f"user {username}", "a new user needs a password of 8+ characters")
        session.add(
            User(username=username, password_hash=hash_password(password), demo_credential=True,
                 **values)
        )
        report.count("users", created=True)
    else:
        _upsert(report, "users", user, values)
    if isinstance(password, str):
        report.demo_logins.append((username, password, role))


# zones/agencies: what a kiosk offers or a display shows; printer, paper_width:
# a kiosk's ticket printer (ticket_logo: an image file on the server printed at
# the top); kiosk/kiosks: whose printer a print agent drives; running_text,
# announce_english, voice ("auto", "clips", "speech"): a display's ticker and voice.
DEVICE_SETTINGS = ("zones", "agencies", "printer", "paper_width", "ticket_logo", "kiosk", "kiosks",
                   "idle_seconds", "result_seconds", "running_text", "announce_english", "voice")


def _import_device(session: Session, raw: dict[str, Any], report: ImportReport) -> None:
    code = _code(raw.get("code"), "devices")
    kind = raw.get("kind")
    if kind not in {k.value for k in DeviceKind}:
        raise _fail(f"device {code}", "kind must be kiosk, display or print_agent")
    settings = {k: raw[k] for k in DEVICE_SETTINGS if k in raw}
    try:
        validate_printer_settings(settings)
    except InvalidInput as exc:
        raise _fail(f"device {code}", exc.message) from None
    values = {"kind": kind, "name": str(raw.get("name", code)), "settings": settings}
    if "active" in raw:
        values["active"] = bool(raw["active"])
    device = session.execute(select(Device).where(Device.code == code)).scalar_one_or_none()
    key = raw.get("key")
    if key is not None and (not isinstance(key, str) or len(key) < MIN_KEY_LENGTH):
        raise _fail(f"device {code}", f"key must be at least {MIN_KEY_LENGTH} characters")
    if device is None and key is None and report.new_secrets:
        generated = new_key()
        session.add(Device(code=code, key_hash=hash_key(generated), **values))
        report.generated_keys.append((code, generated, kind))
        report.count("devices", created=True)
        return
    if device is None:
        if key is None:
            raise _fail(f"device {code}", "a new device needs a key (or create it with "
                        "'antrian device-add' to get a generated one)")
        session.add(Device(code=code, key_hash=hash_key(key), demo_credential=True, **values))
        report.count("devices", created=True)
    else:
        _upsert(report, "devices", device, values)
    if key is not None:
        report.demo_keys.append((code, key, kind))
