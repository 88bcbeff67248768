"""Fill an issued template the way another program would: openpyxl, no cached values."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from qtables.issue.tables import line_slots
from qtables.template.layout import TableLayout


def fill_with_openpyxl(template: Path, out: Path, layouts: list[TableLayout], values: dict[str, list[dict[str, Any]]],
                       line_values: dict[str, dict[str, Any]] | None = None) -> Path:
    wb = openpyxl.load_workbook(template)
    for layout in layouts:
        ws = wb[layout.sheet]
        for i, row in enumerate(values.get(layout.table.id, [])):
            r = layout.first_data + i + 1
            for cid, value in row.items():
                if not layout.table.has_column(cid) or not layout.table.column(cid).is_input:
                    continue
                cell = ws.cell(row=r, column=layout.col(cid) + 1)
                if isinstance(value, date) and not isinstance(value, datetime):
                    value = datetime(value.year, value.month, value.day)
                cell.value = value
                if isinstance(value, datetime):
                    cell.number_format = "yyyy-mm-dd"
        for label, value in (line_values or {}).get(layout.table.id, {}).items():
            items = layout.table.top_line if label in layout.table.top_line else layout.table.bottom_line
            row = 2 if label in layout.table.top_line else layout.bottom_row
            slot = line_slots(layout, items, with_period=items is layout.table.top_line)[items.index(label)]
            ws.cell(row=row + 1, column=slot[2] + 1).value = value
    wb.save(out)
    return out


def python_verdicts(spec, unit, period, set_names, table_ids, values, capacity=None) -> dict[tuple[str, str, str], int]:
    """(code, table name, message) -> number of failing rows, by the Python runtime (``capacity``: rows of the
    detail tables, as in the template)."""
    from qtables.issue.workbook import IssueRequest, _apply_values
    from qtables.template.derived import blank_data, compute_derived
    from qtables.template.rules import run_rules

    layouts = [TableLayout.for_unit(spec.table(t), unit, (capacity or {}).get(t)) for t in table_ids]
    data = blank_data(spec, period, layouts)
    _apply_values(data, IssueRequest(unit, period, table_ids, set_names, values=values))
    compute_derived(data)
    out: dict[tuple[str, str, str], int] = {}
    for res in run_rules(spec.rules_for(set_names, table_ids), data):
        if res.status == "na":
            continue
        key = (res.rule.code, spec.table(res.rule.table).name, res.rule.message)
        out[key] = out.get(key, 0) + (res.status == "fail")
    return out


def selfcheck_verdicts(path: Path) -> dict[tuple[str, str, str], tuple[str, int, str]]:
    """(code, table name, message) -> (✓/✗/—, failures, first cell) as the 自查 sheet shows them."""
    from python_calamine import CalamineWorkbook

    from qtables.template.names import SELF_CHECK_HEADER_ROW

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("自查").to_python()
    out = {}
    for row in rows[SELF_CHECK_HEADER_ROW + 1:]:
        if not row or not row[1]:
            continue
        count = row[6]
        out[(row[1], row[3], row[4])] = (row[5], int(count) if isinstance(count, (int, float)) else 0, row[7])
    return out
