"""Texts for the domain's refusals on admin forms, by error code."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Field
from wtforms.form import BaseForm

from ..domain.errors import DomainError

MESSAGES: dict[str, Any] = {
    "code_taken": _l("The code %(value)s is already used by %(other)s."),
    "prefix_taken": _l("The prefix %(value)s is already used by agency %(other)s."),
    "number_taken": _l("Counter number %(value)s is already used by %(other)s."),
    "username_taken": _l("The username %(value)s is already taken."),
    "invalid_hours": _l("Write times as 08:00-12:00, 13:00-15:30 (24-hour clock, in order)."),
    "invalid_minutes": _l("Enter a whole number from 0 to 600."),
    "foreign_service": _l("A counter can only serve services of its own agency."),
    "officer_needs_agency": _l("An officer must belong to an agency."),
    "own_admin": _l("You cannot remove your own administrator access."),
    "password_short": _l("A password needs at least 8 characters."),
    "unknown_agencies": _l("Unknown agency codes: %(codes)s."),
    "unknown_kiosks": _l("Unknown kiosk codes: %(codes)s."),
    "invalid_voice": _l("Choose one of the voices."),
    "invalid_seconds": _l("Enter a whole number from 5 to 3600."),
    "invalid_printer": _l("This printer address is not valid: %(reason)s"),
    "counter_in_use": _l("%(counter)s is open. Close it first."),
    "counter_has_history": _l("%(counter)s has served tickets and cannot be deleted. Remove its "
                              "services instead so it no longer calls anyone."),
}


def message(exc: DomainError) -> str:
    text = MESSAGES.get(exc.code)
    if text is None:
        return exc.message
    return str(text) % exc.params


def add_error(form: BaseForm, exc: DomainError) -> None:
    """Show a refusal next to the field it is about, else above the form."""
    name = exc.params.get("field")
    field: Field | None = form._fields.get(name) if isinstance(name, str) else None
    if field is not None:
        field.errors = [*field.errors, message(exc)]
    else:
        form.form_errors.append(message(exc))


def clash() -> str:
    return _("This clashes with another entry (a code, number, prefix or username already in use).")
