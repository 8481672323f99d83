"""Check a whole configuration (parsed TOML) before importing it.

Unlike the importer, which stops at the first problem, this lists every
problem with where it is, so an administrator can fix a file in one go. Each
problem has a stable code and parameters for a translated message; ``english``
is the plain text for logs and the command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config_import import CODE, PREFIX
from .domain.errors import InvalidInput
from .domain.hours import WEEKDAYS, parse_intervals
from .domain.printing import validate_printer_settings
from .models import DeviceKind, Role
from .security import MIN_KEY_LENGTH

USERNAME = re.compile(r"^[a-z0-9._-]{2,60}$")
CODE_LENGTH = {"agency": 20, "service": 20, "counter": 30, "device": 40}
ENGLISH = {
    "not_table": "must be a table",
    "not_list": "must be a list of tables",
    "bad_code": "code {value!r} must be 1-{max} of A-Z, 0-9 and '-'",
    "bad_prefix": "prefix {value!r} must be 1-3 letters A-Z",
    "duplicate": "{value} appears more than once",
    "prefix_clash": "prefix {value} is already used by {other}",
    "bad_number": "{field} must be a whole number of at least {min}",
    "bad_decimal": "{field} must be a number greater than 0",
    "bad_text": "{field} must be a text of at most {max} characters",
    "bad_flag": "{field} must be true or false",
    "bad_hours": "{field}: {detail}",
    "unknown_schedule": "unknown schedule {value!r}",
    "unknown_services": "unknown services {value}",
    "unknown_agency": "officer needs a known agency, got {value!r}",
    "bad_role": "role must be officer, manager or admin",
    "bad_kind": "kind must be kiosk, display or print_agent",
    "bad_username": "username {value!r} must be 2-60 of a-z, 0-9, '.', '_', '-'",
    "bad_key": "key must be at least {min} characters",
    "bad_printer": "{detail}",
    "bad_timezone": "unknown timezone {value!r}",
    "bad_priority_mode": "priority_mode must be 'strict' or 'ratio'",
    # Found while importing (see config_upload).
    "not_utf8": "the file is not UTF-8 text",
    "toml_syntax": "not valid TOML: {detail}",
    "prefix_shared": "used by several agencies: {agencies}",
    "import_refused": "{detail}",
    "conflict": "clashes with an existing row: {detail}",
}


@dataclass(frozen=True)
class Problem:
    where: str  # e.g. "agency DUKCAPIL, service KK"
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """What is wrong, in English (without where)."""
        return ENGLISH[self.code].format(**self.params)

    @property
    def english(self) -> str:
        return f"{self.where}: {self.text}"


class _Checker:
    def __init__(self, known_agencies: set[str]) -> None:
        self.problems: list[Problem] = []
        self.known_agencies = set(known_agencies)

    def add(self, where: str, code: str, **params: Any) -> None:
        self.problems.append(Problem(where, code, params))

    def tables(self, raw: Any, where: str) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
            self.add(where, "not_list")
            return []
        return raw

    def code(self, raw: dict[str, Any], kind: str, where: str) -> str | None:
        value = raw.get("code")
        size = CODE_LENGTH[kind]
        if not isinstance(value, str) or not CODE.match(value) or len(value) > size:
            self.add(where, "bad_code", value=value, max=size)
            return None
        return value

    def text(self, raw: dict[str, Any], name: str, size: int, where: str) -> None:
        if name in raw and (not isinstance(raw[name], str) or len(raw[name]) > size):
            self.add(where, "bad_text", field=name, max=size)

    def whole(self, raw: dict[str, Any], name: str, least: int, where: str) -> None:
        value = raw.get(name)
        if name in raw and (isinstance(value, bool) or not isinstance(value, int)
                            or not least <= value < 2**31):
            self.add(where, "bad_number", field=name, min=least)

    def flag(self, raw: dict[str, Any], name: str, where: str) -> None:
        if name in raw and not isinstance(raw[name], bool):
            self.add(where, "bad_flag", field=name)

    def hours(self, raw: Any, where: str) -> None:
        if not isinstance(raw, dict):
            self.add(where, "not_table")
            return
        for day in WEEKDAYS:
            try:
                parse_intervals(str(raw.get(day, "")))
            except InvalidInput as exc:
                self.add(where, "bad_hours", field=day, detail=exc.message)
        for name in ("cutoff_minutes", "issue_before_open_minutes"):
            self.whole(raw, name, 0, where)
        self.flag(raw, "issue_during_breaks", where)


def _site(c: _Checker, config: dict[str, Any]) -> None:
    site, calling = config.get("site", {}), config.get("calling", {})
    for name, table in (("site", site), ("calling", calling)):
        if not isinstance(table, dict):
            c.add(name, "not_table")
            return
    c.text(site, "name", 200, "site")
    tz = site.get("timezone", "Asia/Jakarta")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        c.add("site", "bad_timezone", value=tz)
    if calling.get("priority_mode", "ratio") not in ("strict", "ratio"):
        c.add("calling", "bad_priority_mode")
    c.whole(calling, "priority_ratio", 1, "calling")
    c.whole(calling, "no_show_grace_seconds", 0, "calling")


def _services(c: _Checker, agency: dict[str, Any], where: str) -> set[str]:
    codes: set[str] = set()
    for item in c.tables(agency.get("services"), f"{where}, services"):
        code = c.code(item, "service", f"{where}, services")
        here = f"{where}, service {code}"
        if code in codes:
            c.add(where, "duplicate", value=code)
        if code:
            codes.add(code)
        prefix = item.get("prefix")
        if prefix is not None and (not isinstance(prefix, str) or not PREFIX.match(prefix)):
            c.add(here, "bad_prefix", value=prefix)
        c.text(item, "name", 300, here)
        c.text(item, "name_en", 300, here)
        c.text(item, "documents", 10000, here)
        c.whole(item, "daily_quota", 0, here)
        c.whole(item, "target_wait_minutes", 0, here)
        minutes = item.get("avg_service_minutes", 10)
        if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not minutes > 0:
            c.add(here, "bad_decimal", field="avg_service_minutes")
        c.flag(item, "active", here)
        c.flag(item, "note_required", here)
    return codes


def _agencies(c: _Checker, config: dict[str, Any]) -> None:
    schedules = config.get("schedules") or {}
    if not isinstance(schedules, dict):
        c.add("schedules", "not_table")
        schedules = {}
    for name, table in schedules.items():
        c.hours(table, f"schedule {name}")
    codes: set[str] = set()
    prefixes: dict[str, str] = {}
    counter_codes: set[str] = set()
    numbers: set[int] = set()
    for agency in c.tables(config.get("agencies"), "agencies"):
        code = c.code(agency, "agency", "agencies")
        where = f"agency {code}"
        if code in codes:
            c.add("agencies", "duplicate", value=code)
        if code:
            codes.add(code)
            c.known_agencies.add(code)
        c.text(agency, "name", 200, where)
        c.text(agency, "name_en", 200, where)
        c.text(agency, "zone", 60, where)
        c.flag(agency, "active", where)
        if "schedule" in agency and agency["schedule"] not in schedules:
            c.add(where, "unknown_schedule", value=agency["schedule"])
        if "hours" in agency:
            c.hours(agency["hours"], f"{where}, hours")
        services = c.tables(agency.get("services"), f"{where}, services")
        own = {agency.get("prefix")} | {s.get("prefix") for s in services if s.get("prefix")}
        for prefix in sorted(own, key=str):
            if not isinstance(prefix, str) or not PREFIX.match(prefix):
                if prefix == agency.get("prefix"):
                    c.add(where, "bad_prefix", value=prefix)
                continue
            if prefixes.setdefault(prefix, str(code)) != str(code):
                c.add(where, "prefix_clash", value=prefix, other=prefixes[prefix])
        service_codes = _services(c, agency, where)
        for item in c.tables(agency.get("counters"), f"{where}, counters"):
            counter = c.code(item, "counter", f"{where}, counters")
            here = f"{where}, counter {counter}"
            if counter in counter_codes:
                c.add(f"{where}, counters", "duplicate", value=counter)
            if counter:
                counter_codes.add(counter)
            number = item.get("number")
            if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 2**31:
                c.add(here, "bad_number", field="number", min=1)
            elif number in numbers:
                c.add(here, "duplicate", value=f"number {number}")
            else:
                numbers.add(number)
            c.text(item, "name", 60, here)
            c.text(item, "zone", 60, here)
            names = item.get("services", [])
            if not isinstance(names, list):
                c.add(here, "unknown_services", value=str(names))
            else:
                unknown = [str(n) for n in names if n not in service_codes]
                if unknown:
                    c.add(here, "unknown_services", value=", ".join(unknown))


def _users(c: _Checker, config: dict[str, Any]) -> None:
    seen: set[str] = set()
    for user in c.tables(config.get("users"), "users"):
        name = user.get("username")
        if not isinstance(name, str) or not USERNAME.match(name):
            c.add("users", "bad_username", value=name)
            continue
        where = f"user {name}"
        if name in seen:
            c.add("users", "duplicate", value=name)
        seen.add(name)
        if user.get("role") not in {r.value for r in Role}:
            c.add(where, "bad_role")
        agency = user.get("agency")
        if (user.get("role") == Role.OFFICER or agency is not None) \
                and agency not in c.known_agencies:
            c.add(where, "unknown_agency", value=agency)
        c.text(user, "name", 120, where)
        c.text(user, "password", 200, where)
        c.flag(user, "active", where)


def _devices(c: _Checker, config: dict[str, Any]) -> None:
    seen: set[str] = set()
    for device in c.tables(config.get("devices"), "devices"):
        code = c.code(device, "device", "devices")
        where = f"device {code}"
        if code in seen:
            c.add("devices", "duplicate", value=code)
        if code:
            seen.add(code)
        if device.get("kind") not in {k.value for k in DeviceKind}:
            c.add(where, "bad_kind")
        c.text(device, "name", 120, where)
        c.flag(device, "active", where)
        key = device.get("key")
        if key is not None and (not isinstance(key, str) or len(key) < MIN_KEY_LENGTH):
            c.add(where, "bad_key", min=MIN_KEY_LENGTH)
        try:
            validate_printer_settings(device)
        except (InvalidInput, TypeError, ValueError) as exc:
            c.add(where, "bad_printer", detail=getattr(exc, "message", str(exc)))


def check_config(config: dict[str, Any], known_agencies: set[str] | None = None) -> list[Problem]:
    """Every problem of the configuration; [] when it can be imported.
    ``known_agencies``: agency codes already in the database (users may name them)."""
    c = _Checker(known_agencies or set())
    _site(c, config)
    _agencies(c, config)
    _users(c, config)
    _devices(c, config)
    return c.problems
