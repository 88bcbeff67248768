"""What one issued workbook holds, and the fixed settings every sheet writer shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


from qtables.period import Period
from qtables.spec.registry import Unit


MIN_DATE, MAX_DATE = date(2000, 1, 1), date(2099, 12, 31)
FIXED_TIME = datetime(2025, 1, 1, 0, 0, 0)


PROTECT_OPTIONS = {
    "select_locked_cells": True,
    "select_unlocked_cells": True,
    "format_columns": True,
    "format_rows": True,
    "insert_rows": False,
    "delete_rows": False,
    "insert_columns": False,
    "delete_columns": False,
    "sort": False,
    "autofilter": False,
    "objects": True,
    "scenarios": True,
}




@dataclass
class IssueRequest:
    """What one workbook holds."""

    unit: Unit
    period: Period
    table_ids: list[str]
    set_names: list[str]
    values: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    line_values: dict[str, dict[str, Any]] = field(default_factory=dict)  # table id -> line label -> value
    notes: dict[str, str] = field(default_factory=dict)  # rule key -> 说明 text
    previous: dict[str, dict[str, dict[str, Any]]] | None = None
    capacity: dict[str, int] = field(default_factory=dict)  # detail tables with more rows than the spec's
    form: dict[str, str] = field(default_factory=dict)  # workspace [form]: authority, approval, valid_until, t5 = "…"
    quarters: dict[str, dict[str, Any]] | None = None  # annual: row key -> q.* values of the four quarters
    prefill_note: str = ""  # what the 填表说明 says about 接转 (pre-filled from where, or why not)
