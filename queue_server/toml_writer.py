"""A small TOML writer for the configuration export (tomllib only reads).

It writes what the export needs: tables, arrays of tables, and values that are
strings, booleans, numbers, dates, arrays and inline tables. Strings are
always basic strings with every control character escaped, so any name or
document list round-trips through ``tomllib`` unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def key(name: str) -> str:
    return name if BARE_KEY.match(name) else string(name)


def string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def value(v: Any) -> str:
    """One TOML value (booleans before ints: True is an int in Python)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(item) for item in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{key(str(k))} = {value(item)}" for k, item in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def pairs(values: dict[str, Any], indent: str = "") -> list[str]:
    """``key = value`` lines; None values are left out."""
    return [f"{indent}{key(k)} = {value(v)}" for k, v in values.items() if v is not None]
