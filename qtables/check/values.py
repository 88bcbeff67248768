"""Reading a table's figures through normalization, and checking the derived cells against them."""

from __future__ import annotations

from typing import Any

from qtables.check import normalize
from qtables.check.findings import make
from qtables.template.layout import TableLayout, a1
from qtables.check.read import Sheet
from qtables.template.rules import WorkbookData
from qtables.spec.model import Spec
from qtables.check.context import Report


def read_table(sheet: Sheet, layout: TableLayout, spec: Spec, report: Report):
    table = layout.table
    rows: list[dict[str, Any]] = []
    raw_rows: list[dict[str, Any]] = []
    derived_rows: list[dict[str, Any]] = []
    lo, hi = layout.input_span
    empty_values = {c.id: normalize.cell(None, c).value for c in table.input_columns}
    for i, row_spec in enumerate(layout.rows):
        r = layout.first_data + i
        line = sheet.rows[r] if r < len(sheet.rows) else []
        if table.kind == "records" and all(v == "" or v is None for v in line[lo:hi + 1]):
            # Most detail rows are empty: no need to look at each cell.
            rows.append(dict(empty_values))
            raw_rows.append(dict(empty_values))
            derived_rows.append({c.id: (line[layout.col(c.id)] if layout.col(c.id) < len(line) else None) or None
                                 for c in table.columns if c.is_derived})
            continue
        values: dict[str, Any] = {}
        raw_values: dict[str, Any] = {}
        derived: dict[str, Any] = {}
        for col in table.columns:
            c = layout.col(col.id)
            raw = sheet.get(r, c)
            if col.role == "label":
                values[col.id] = raw_values[col.id] = row_spec.label
            elif col.type == "key":
                continue
            elif col.is_derived:
                derived[col.id] = raw
            else:
                choices = spec.choices[col.choices].values if col.choices else ()
                v = normalize.cell(raw, col, choices)
                values[col.id] = v.value if v.problem is None else v.original
                raw_values[col.id] = v.value if v.note is None and v.problem is None else raw
                if v.problem:
                    report.findings.append(make(v.problem, table=table.name, sheet=layout.sheet, cell=a1(r, c, abs_row=False, abs_col=False),
                                                found=v.original))
                elif v.note:
                    report.findings.append(make(v.note, table=table.name, sheet=layout.sheet, cell=a1(r, c, abs_row=False, abs_col=False),
                                                found=v.original, expected=v.value))
        rows.append(values)
        raw_rows.append(raw_values)
        derived_rows.append(derived)
    total: dict[str, Any] = {}
    if layout.total_row is not None:
        for col in table.columns:
            if col.type != "key":
                total[col.id] = sheet.get(layout.total_row, layout.col(col.id))
    return rows, raw_rows, derived_rows, total


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


def differs(cached: Any, computed: Any, *, blank_reads_as_zero: bool = False) -> bool:
    """Does a cached formula value disagree with the recomputed one? (No cached value: no.)"""
    if cached is None or cached == "":
        return False
    if blank_reads_as_zero and computed is None and cached == 0:
        return False
    c, v = _num(cached), _num(computed)
    if c is None:
        # An error value (#VALUE! …) where the formula cannot compute is consistent.
        return not (v is None and isinstance(cached, str) and cached.startswith("#"))
    if v is None:
        return True  # a number where the formula gives blank
    return abs(c - v) > 1e-6 * max(1.0, abs(v)) + 1e-9


def check_derived(data: WorkbookData, cached: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]], report: Report) -> None:
    # In .xls files an empty-text formula result reads back as 0.
    lenient = report.format == "xls"
    for tid, (derived_rows, total) in cached.items():
        td = data.tables[tid]
        layout = td.layout
        for i, (row, found) in enumerate(zip(td.rows, derived_rows)):
            for cid, value in found.items():
                if cid == "subtotal" and row.get(cid) is None:
                    continue  # merged 小计 cells hold the value in their first row only
                if differs(value, row.get(cid), blank_reads_as_zero=lenient):
                    r, c = layout.first_data + i, layout.col(cid)
                    report.findings.append(make("D01", table=layout.table.name, sheet=layout.sheet, cell=a1(r, c, abs_row=False, abs_col=False),
                                                expected=row.get(cid), found=value))
        for cid, value in total.items():
            if differs(value, td.total.get(cid), blank_reads_as_zero=lenient):
                c = layout.col(cid)
                report.findings.append(make("D01", table=layout.table.name, sheet=layout.sheet,
                                            cell=a1(layout.total_row, c, abs_row=False, abs_col=False), expected=td.total.get(cid), found=value))
