"""All clean-up of submitted cell values lives here.

Statisticians type numbers as text, in full-width digits, with thousands
separators, with 万/亿 or a unit, as percent strings, or write — / 无 for
"nothing".  Each value is turned into what the column means (a number in the
column's unit, an Excel date serial, a cleaned text, a choice) or into a
problem that quotes the original text.  The spec says per column whether blank
means zero or missing.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from qtables.period import excel_serial
from qtables.spec.model import Column

# Ways of writing "nothing" in a cell.
PLACEHOLDERS = {"—", "——", "-", "--", "－", "/", "／", "\\", "无", "空", "没有", "n/a", "na", "null", "none", "×", "…"}
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u3000\ufeff]+")
_NUMBER = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(.*)$")
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_MIN_SERIAL, _MAX_SERIAL = 36526.0, 73051.0  # 2000-01-01 .. 2099-12-31

# suffix -> (factor, dimension); dimension None means a bare multiplier.
_SUFFIX: dict[str, tuple[float, str | None]] = {
    "": (1.0, None),
    "万": (1e4, None),
    "亿": (1e8, None),
    "千": (1e3, None),
    "%": (1.0, "%"),
    "元": (1.0, "元"),
    "万元": (1e4, "元"),
    "亿元": (1e8, "元"),
    "㎡": (1.0, "㎡"),
    "m2": (1.0, "㎡"),
    "平方米": (1.0, "㎡"),
    "平米": (1.0, "㎡"),
    "万㎡": (1e4, "㎡"),
    "万m2": (1e4, "㎡"),
    "万平方米": (1e4, "㎡"),
    "万平米": (1e4, "㎡"),
    "项": (1.0, "项"),
    "个": (1.0, "项"),
    "人": (1.0, "人"),
}
_COLUMN_UNIT: dict[str | None, tuple[float, str | None]] = {
    None: (1.0, None),
    "万元": (1e4, "元"),
    "元": (1.0, "元"),
    "㎡": (1.0, "㎡"),
    "万㎡": (1e4, "㎡"),
    "项": (1.0, "项"),
    "人": (1.0, "人"),
    "%": (1.0, "%"),
}


@dataclass(frozen=True)
class Value:
    """A normalized cell: ``value`` for the rules, and what (if anything) to report."""

    value: Any
    problem: str | None = None  # a finding code: N01 or N02
    note: str | None = None  # N03: read leniently
    original: Any = None


def clean_text(raw: Any) -> str | None:
    """Text with every kind of space folded and trimmed; None when nothing is left."""
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw)
    if not (text.isprintable() and "  " not in text):
        # Only then is there anything to fold: every other space character is not printable.
        text = _SPACES.sub(" ", text)
    return text.strip() or None


def _is_placeholder(text: str) -> bool:
    return text.casefold() in PLACEHOLDERS


def _blank(column: Column) -> Value:
    return Value(0 if column.blank == "zero" and column.is_numeric else None)


def tidy(x: float) -> float | int:
    x = round(x, 9)  # floating-point residue such as 0.30000000000000004
    if x == 0:
        return 0
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def number(raw: Any, column: Column) -> Value:
    if raw is None or (isinstance(raw, str) and clean_text(raw) is None):
        return _blank(column)
    if isinstance(raw, bool):
        return Value(None, "N01", original=raw)
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw):
            return Value(None, "N01", original=raw)
        return Value(tidy(float(raw)), original=raw)
    if isinstance(raw, (date, datetime)):
        return Value(None, "N01", original=raw.isoformat())  # e.g. 3-5 turned into a date by Excel
    text = clean_text(raw) or ""
    if _is_placeholder(text):
        return _blank(column)
    folded = unicodedata.normalize("NFKC", text).replace("\u2212", "-").replace(" ", "").replace("，", ",")
    folded = folded.replace("m²", "m2").replace("M2", "m2")
    match = _NUMBER.match(folded)
    if not match:
        return Value(None, "N01", original=text)
    sign, whole, frac, suffix = match.groups()
    suffix = suffix.strip()
    if suffix not in _SUFFIX:
        return Value(None, "N01", original=text)
    value = float(whole.replace(",", "") + ("." + frac if frac else ""))
    if sign == "-":
        value = -value
    factor, dim = _SUFFIX[suffix]
    col_factor, col_dim = _COLUMN_UNIT.get(column.unit, (1.0, None))
    if dim is None:
        result = value * factor / (col_factor if suffix else 1.0)
    elif dim == "%" and column.type != "percent":
        return Value(None, "N01", original=text)
    elif col_dim is not None and dim != col_dim and dim != "%":
        return Value(None, "N01", original=text)
    else:
        result = value * factor / col_factor
    return Value(tidy(result), note="N03", original=text)


def date_serial(raw: Any) -> Value:
    if raw is None or (isinstance(raw, str) and clean_text(raw) is None):
        return Value(None)
    if isinstance(raw, datetime):
        return Value(excel_serial(raw.date()), original=raw)
    if isinstance(raw, date):
        return Value(excel_serial(raw), original=raw)
    if isinstance(raw, bool):
        return Value(None, "N02", original=raw)
    if isinstance(raw, (int, float)):
        if _MIN_SERIAL <= raw < _MAX_SERIAL:
            return Value(float(int(raw)), original=raw)
        return Value(None, "N02", original=raw)
    text = re.sub(r"\s*([-/.年月日:])\s*", r"\1", unicodedata.normalize("NFKC", clean_text(raw) or ""))
    if _is_placeholder(text):
        return Value(None)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
            serial = excel_serial(d)
            if _MIN_SERIAL <= serial < _MAX_SERIAL:
                return Value(serial, note="N03", original=clean_text(raw))
            break
    return Value(None, "N02", original=clean_text(raw))


def choice(raw: Any, values: tuple[str, ...], *, strict: bool) -> Value:
    text = clean_text(raw)
    if text is None or _is_placeholder(text):
        return Value(None)
    folded = unicodedata.normalize("NFKC", text)
    bare = folded.replace(" ", "")
    for v, v_folded, v_bare in _folded_choices(values):
        if folded == v_folded or bare == v_bare:
            return Value(v, original=text)
    # Not in the list: kept as typed; the V06 rule reports it with its cell.
    return Value(text, original=text)


@lru_cache(maxsize=256)
def _folded_choices(values: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    return tuple((v, unicodedata.normalize("NFKC", v), v.replace(" ", "")) for v in values)


def cell(raw: Any, column: Column, choices: tuple[str, ...] = ()) -> Value:
    """Normalize one submitted cell according to its column."""
    if column.is_numeric:
        return number(raw, column)
    if column.type == "date":
        return date_serial(raw)
    if column.type == "choice":
        return choice(raw, choices, strict=column.strict)
    return Value(clean_text(raw), original=raw)
