"""The admin forms (Flask-WTF: every one carries a CSRF token).

Forms check each field's format; rules that need the database (unique codes,
prefixes, a counter's services) are the domain's and come back as field
errors. Codes are typed on creation only: they are fixed afterwards.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import Length, Optional, Regexp

from ..domain.admin.schedule import WeekHours
from ..domain.errors import InvalidInput
from ..domain.hours import WEEKDAYS, parse_intervals
from ..models import DeviceKind, Role
from .fields import (
    CheckboxesField,
    NumberField,
    WholeNumberField,
    at_most,
    between,
    code_rules,
    prefix_rule,
    required,
    stripped,
    upper,
)

DAY_LABELS = {"mon": _l("Monday"), "tue": _l("Tuesday"), "wed": _l("Wednesday"),
              "thu": _l("Thursday"), "fri": _l("Friday"), "sat": _l("Saturday"),
              "sun": _l("Sunday")}


def _intervals(_form: Any, field: Any) -> None:
    try:
        parse_intervals(field.data or "")
    except InvalidInput:
        raise ValidationError(str(_l("Write times as 08:00-12:00, 13:00-15:30 "
                                     "(24-hour clock, in order)."))) from None


def _day_field(day: str) -> StringField:
    return StringField(DAY_LABELS[day], validators=[at_most(200), _intervals], filters=[stripped])


class ActionForm(FlaskForm):
    """A button that changes something (rotate a key, delete a counter): CSRF only."""

    submit = SubmitField(_l("Confirm"))


class AgencyForm(FlaskForm):
    code = StringField(_l("Code"), validators=code_rules(20), filters=[upper])
    name = StringField(_l("Name"), validators=[required(), at_most(200)], filters=[stripped])
    name_en = StringField(_l("Name in English"), validators=[at_most(200)], filters=[stripped])
    prefix = StringField(_l("Ticket prefix"), validators=[required(), prefix_rule()],
                         filters=[upper])
    zone = StringField(_l("Zone or floor"), validators=[at_most(60)], filters=[stripped])
    active = BooleanField(_l("Active (offered at the kiosks)"), default=True)
    always_open = BooleanField(_l("No opening hours (tickets at any time)"))
    mon = _day_field("mon")
    tue = _day_field("tue")
    wed = _day_field("wed")
    thu = _day_field("thu")
    fri = _day_field("fri")
    sat = _day_field("sat")
    sun = _day_field("sun")
    cutoff_minutes = WholeNumberField(_l("Stop issuing this many minutes before closing"),
                                      default=0, validators=[between(0, 600)])
    issue_before_open_minutes = WholeNumberField(_l("Issue this many minutes before opening"),
                                                 default=0, validators=[between(0, 600)])
    issue_during_breaks = BooleanField(_l("Issue tickets during breaks"), default=True)
    submit = SubmitField(_l("Save"))

    def fill_week(self, week: WeekHours) -> None:
        self.always_open.data = week.always_open
        for day in WEEKDAYS:
            self[day].data = week.days.get(day, "")
        self.cutoff_minutes.data = week.cutoff_minutes
        self.issue_before_open_minutes.data = week.issue_before_open_minutes
        self.issue_during_breaks.data = week.issue_during_breaks

    def week(self) -> WeekHours:
        return WeekHours(
            always_open=bool(self.always_open.data),
            days={day: self[day].data or "" for day in WEEKDAYS},
            cutoff_minutes=int(self.cutoff_minutes.data or 0),
            issue_before_open_minutes=int(self.issue_before_open_minutes.data or 0),
            issue_during_breaks=bool(self.issue_during_breaks.data))

    def values(self) -> dict[str, Any]:
        out = {"name": self.name.data, "name_en": self.name_en.data or "",
               "prefix": self.prefix.data, "zone": self.zone.data or "",
               "active": bool(self.active.data)}
        if "code" in self:
            out["code"] = self.code.data
        return out


class ServiceForm(FlaskForm):
    code = StringField(_l("Code"), validators=code_rules(20), filters=[upper])
    name = StringField(_l("Name"), validators=[required(), at_most(300)], filters=[stripped])
    name_en = StringField(_l("Name in English"), validators=[at_most(300)], filters=[stripped])
    prefix = StringField(_l("Own ticket prefix (empty: the agency's)"),
                         validators=[Optional(), prefix_rule()], filters=[upper])
    daily_quota = WholeNumberField(_l("Daily quota (0 = unlimited)"), default=0,
                                   validators=[between(0, 100000)])
    target_wait_minutes = WholeNumberField(_l("Target wait (minutes)"), default=30,
                                           validators=[between(1, 1440)])
    avg_service_minutes = NumberField(_l("Average service time (minutes)"), default=10.0,
                                      validators=[between(0.5, 480)])
    documents = TextAreaField(_l("Required documents (separated by ;)"),
                              validators=[at_most(10000)], filters=[stripped])
    active = BooleanField(_l("Active (offered at the kiosks)"), default=True)
    note_required = BooleanField(_l("The officer writes a note when finishing"))
    submit = SubmitField(_l("Save"))

    def values(self) -> dict[str, Any]:
        out = {"name": self.name.data, "name_en": self.name_en.data or "",
               "prefix": self.prefix.data or "", "daily_quota": self.daily_quota.data,
               "target_wait_minutes": self.target_wait_minutes.data,
               "avg_service_minutes": float(self.avg_service_minutes.data or 0),
               "documents": self.documents.data or "", "active": bool(self.active.data),
               "note_required": bool(self.note_required.data)}
        if "code" in self:
            out["code"] = self.code.data
        return out


class CounterForm(FlaskForm):
    code = StringField(_l("Code"), validators=code_rules(30), filters=[upper])
    number = WholeNumberField(_l("Counter number (announced)"), validators=[between(1, 9999)])
    name = StringField(_l("Name"), validators=[required(), at_most(60)], filters=[stripped])
    zone = StringField(_l("Zone or floor"), validators=[at_most(60)], filters=[stripped])
    services = CheckboxesField(_l("Services it calls"), coerce=int, choices=[])
    submit = SubmitField(_l("Save"))

    def values(self) -> dict[str, Any]:
        out = {"number": self.number.data, "name": self.name.data, "zone": self.zone.data or ""}
        if "code" in self:
            out["code"] = self.code.data
        return out


ROLE_LABELS = {Role.OFFICER: _l("Officer"), Role.MANAGER: _l("Manager"),
               Role.ADMIN: _l("Administrator")}


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        required(), Regexp(r"^[a-z0-9._-]{2,60}$", message=_l(
            "2 to 60 small letters, digits, '.', '_' or '-'."))],
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v])
    name = StringField(_l("Full name"), validators=[required(), at_most(120)], filters=[stripped])
    role = SelectField(_l("Role"), choices=[(r.value, label) for r, label in ROLE_LABELS.items()])
    agency_id = SelectField(_l("Agency"), choices=[], coerce=str)
    active = BooleanField(_l("Active (may log in)"), default=True)
    password = PasswordField(_l("New password"), validators=[
        Optional(), Length(min=8, max=200, message=_l("A password needs 8 to 200 characters."))])
    submit = SubmitField(_l("Save"))

    def values(self) -> dict[str, Any]:
        out = {"name": self.name.data, "role": self.role.data,
               "agency_id": int(self.agency_id.data) if self.agency_id.data else None,
               "active": bool(self.active.data)}
        if "username" in self:
            out["username"] = self.username.data
        return out


KIND_LABELS = {DeviceKind.KIOSK: _l("Kiosk"), DeviceKind.DISPLAY: _l("Display"),
               DeviceKind.PRINT_AGENT: _l("Print agent")}
VOICE_LABELS = {"auto": _l("Automatic"), "clips": _l("Recorded words"),
                "speech": _l("Browser voice")}


class DeviceForm(FlaskForm):
    code = StringField(_l("Code"), validators=code_rules(40), filters=[upper])
    kind = SelectField(_l("Kind"), choices=[(k.value, label) for k, label in KIND_LABELS.items()])
    name = StringField(_l("Name"), validators=[required(), at_most(120)], filters=[stripped])
    active = BooleanField(_l("Active (its key works)"), default=True)
    zones = StringField(_l("Zones shown (comma-separated; empty = all)"),
                        validators=[at_most(500)], filters=[stripped])
    agencies = StringField(_l("Agency codes (comma-separated; empty = all)"),
                           validators=[at_most(2000)], filters=[stripped])
    printer = StringField(_l("Ticket printer"), validators=[at_most(200)], filters=[stripped])
    paper_width = SelectField(_l("Paper width"), choices=[("80", "80 mm"), ("58", "58 mm")])
    ticket_logo = StringField(_l("Logo image file on the server (optional)"),
                              validators=[at_most(200)], filters=[stripped])
    idle_seconds = WholeNumberField(_l("Back to the start after idle seconds"),
                                    validators=[Optional(), between(5, 3600)])
    result_seconds = WholeNumberField(_l("Seconds the ticket stays on screen"),
                                      validators=[Optional(), between(5, 3600)])
    running_text = TextAreaField(_l("Running text (empty: the default welcome)"),
                                 validators=[at_most(1000)], filters=[stripped])
    announce_english = BooleanField(_l("Repeat calls in English"))
    voice = SelectField(_l("Voice"), choices=[(k, label) for k, label in VOICE_LABELS.items()])
    kiosks = StringField(_l("Kiosk codes whose printer it drives (comma-separated)"),
                         validators=[at_most(500)], filters=[stripped])
    submit = SubmitField(_l("Save"))


class ImportForm(FlaskForm):
    file = FileField(_l("Configuration file (.toml)"),
                     validators=[FileRequired(message=_l("Choose a file."))])
    submit = SubmitField(_l("Import"))
