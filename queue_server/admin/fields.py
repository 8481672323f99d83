"""Form fields and validators whose messages are in the catalogue.

WTForms has no Indonesian messages of its own, so every message an
administrator can see is written here through gettext.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import FloatField, IntegerField, SelectMultipleField, ValidationError
from wtforms.validators import DataRequired, Length, NumberRange, Regexp, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

CODE = r"^[A-Z0-9][A-Z0-9-]*$"
PREFIX = r"^[A-Z]{1,3}$"


def required() -> DataRequired:
    return DataRequired(message=_l("Fill this in."))


def at_most(size: int) -> Length:
    return Length(max=size, message=_l("At most %(max)d characters."))


def code_rules(size: int) -> list[Any]:
    return [required(), at_most(size),
            Regexp(CODE, message=_l("Use capital letters A-Z, digits and '-', such as DUK-1."))]


def prefix_rule() -> Regexp:
    return Regexp(PREFIX, message=_l("One to three capital letters A-Z."))


def between(low: float, high: float) -> NumberRange:
    return NumberRange(low, high, message=_l("Enter a number from %(min)s to %(max)s."))


def upper(value: str | None) -> str | None:
    return value.strip().upper() if isinstance(value, str) else value


def stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def codes(text: str | None) -> list[str]:
    """"DUKCAPIL, samsat" -> ["DUKCAPIL", "SAMSAT"] (device scope lists)."""
    return [c.strip().upper() for c in (text or "").split(",") if c.strip()]


def words(text: str | None) -> list[str]:
    """"Lantai 1, Lantai 2" -> ["Lantai 1", "Lantai 2"] (zone names keep their case)."""
    return [c.strip() for c in (text or "").split(",") if c.strip()]


class _StopWhenUnreadable:
    """A value that is not a number gets one message, not also "out of range"."""

    process_errors: list[Any]
    raw_data: list[Any] | None

    def pre_validate(self, form: Any) -> None:
        typed = bool(self.raw_data and str(self.raw_data[0]).strip())
        if self.process_errors and typed:
            raise StopValidation()


class WholeNumberField(_StopWhenUnreadable, IntegerField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter a whole number."))) from None


class NumberField(_StopWhenUnreadable, FloatField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter a number, such as 7.5."))) from None


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (a counter's services)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        allowed = {value for value, _label in self.choices or []}
        if any(value not in allowed for value in self.data or []):
            raise ValidationError(str(_l("Choose only from the list.")))

