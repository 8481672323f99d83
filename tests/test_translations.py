"""The Indonesian catalogue is complete and safe to format.

Indonesian is the default UI language, so an untranslated text shows English
to visitors, and a translation whose %(name)s placeholders differ from the
English text raises at runtime (a 500 where a clear message was meant).
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).parent.parent / "queue_server/translations/id/LC_MESSAGES/messages.po"
TEMPLATE = CATALOGUE.parent.parent.parent / "messages.pot"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _entries():  # type: ignore[no-untyped-def]
    with CATALOGUE.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def _texts(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def test_every_text_is_translated_and_none_is_a_fuzzy_guess() -> None:
    missing = [m.id for m in _entries() if m.fuzzy or not all(_texts(m.string))]
    assert missing == []


def test_translations_keep_the_placeholders() -> None:
    wrong = [
        (m.id, m.string) for m in _entries()
        if sorted(PLACEHOLDER.findall(_texts(m.id)[0])) != sorted(PLACEHOLDER.findall(_texts(m.string)[0]))
    ]
    assert wrong == []


def test_catalogue_holds_every_text_of_the_template() -> None:
    with TEMPLATE.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    assert wanted - {m.id for m in _entries()} == set()
