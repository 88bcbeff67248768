"""Reading a table's figures through normalization, and checking the derived cells against them."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from qtables.read import normalize
from qtables.period import excel_serial
from qtables.check.findings import make
from qtables.template.layout import TableLayout, a1
from qtables.read.workbook import Sheet
from qtables.template.rules import WorkbookData
from qtables.spec.model import Spec
from qtables.check.context import Report


class TableRead(NamedTuple):
    rows: list[dict[str, Any]]  # the values the rules see (leniently normalized)
    # The values as typed, for recomputing the template's own formulas.  A row that normalization left
    # alone is the same dict in both lists: compute the as-typed formulas first, then the normalized ones.
    raw_rows: list[dict[str, Any]]
    derived_rows: list[dict[str, Any]]  # the cached values of the formula cells
    total: dict[str, Any]  # the cached 合计 row
    empty: frozenset[int]  # rows with nothing typed
    retyped: bool  # whether normalization changed any value (rows differ from raw_rows)


def read_table(sheet: Sheet, layout: TableLayout, spec: Spec, report: Report) -> TableRead:
    table = layout.table
    retyped = False
    rows: list[dict[str, Any]] = []
    raw_rows: list[dict[str, Any]] = []
    derived_rows: list[dict[str, Any]] = []
    empty: set[int] = set()  # rows with nothing in the input span: empty however they normalize
    lo, hi = layout.input_span
    empty_values, blank_when_empty, derived_at, plan = _reading_plan(layout, spec)
    records = table.kind == "records"
    lines = sheet.rows
    blank_line = [""] * (len(lines[layout.first_data]) if layout.first_data < len(lines) else 0)
    end = len(layout.rows)
    if records:
        # The usual detail table ends in a block of untouched rows (every cell blank, its formula cells too):
        # found by whole-line comparison from the end, and read in bulk below.
        end = max(0, min(end, len(lines) - layout.first_data))
        while end > 0 and lines[layout.first_data + end - 1] == blank_line:
            end -= 1
    for i in range(end):
        row_spec = layout.rows[i]
        r = layout.first_data + i
        line = lines[r] if r < len(lines) else []
        untouched = line == blank_line  # every cell blank, its formula cells too (one list comparison)
        span = line[lo:hi + 1] if records and not untouched else None
        if records and (untouched or span.count("") + span.count(None) == len(span)):
            # Most detail rows are empty: no need to look at each cell.
            if blank_when_empty:
                empty.add(i)
            row_values = dict(empty_values)
            rows.append(row_values)
            raw_rows.append(row_values)  # the same dict: see TableRead
            width = len(line)
            # Only cached values that are there (a blank one never differs: see ``differs``).
            derived_rows.append({} if untouched else {cid: line[c] for cid, c in derived_at if c < width and line[c]})
            continue
        values: dict[str, Any] = {}
        derived: dict[str, Any] = {}
        as_typed: list[tuple[str, Any]] = []  # where the value as typed differs from the normalized one
        width = len(line)
        for cid, c, what, col, choices in plan:
            raw = line[c] if c < width else None
            if raw == "":
                raw = None
            if what == "number" and type(raw) is float and raw - raw == 0:
                # The common case, as normalize.number reads it: a finite number, nothing to report.
                values[cid] = normalize.tidy(raw)
            elif what == "label":
                values[cid] = row_spec.label
            elif what == "derived":
                derived[cid] = raw
            elif raw is None and what != "choice":
                values[cid] = empty_values[cid]  # what normalize.cell gives a blank
            elif what == "text" and type(raw) is str:
                values[cid] = normalize.clean_text(raw)  # as normalize.cell: nothing to report
            elif what == "date" and type(raw) is date:
                values[cid] = excel_serial(raw)  # as normalize.date_serial
            else:
                v = normalize.cell(raw, col, choices)
                value = values[cid] = v.value if v.problem is None else v.original
                typed = v.value if v.note is None and v.problem is None else raw
                if typed is not value:
                    as_typed.append((cid, typed))
                if v.problem:
                    report.findings.append(make(v.problem, table=table.name, sheet=layout.sheet, cell=a1(r, c, abs_row=False, abs_col=False),
                                                found=v.original))
                elif v.note:
                    report.findings.append(make(v.note, table=table.name, sheet=layout.sheet, cell=a1(r, c, abs_row=False, abs_col=False),
                                                found=v.original, expected=v.value))
        rows.append(values)
        if as_typed:
            retyped = True
            raw_values = dict(values)
            raw_values.update(as_typed)
            raw_rows.append(raw_values)
        else:
            raw_rows.append(values)
        derived_rows.append(derived)
    untouched = len(layout.rows) - end
    if untouched:
        if blank_when_empty:
            empty.update(range(end, len(layout.rows)))
        block = [dict(empty_values) for _ in range(untouched)]
        rows.extend(block)
        raw_rows.extend(block)
        derived_rows.extend({} for _ in range(untouched))
    total: dict[str, Any] = {}
    if layout.total_row is not None:
        for col in table.columns:
            if col.type != "key":
                total[col.id] = sheet.get(layout.total_row, layout.col(col.id))
    return TableRead(rows, raw_rows, derived_rows, total, frozenset(empty), retyped)


_PLANS: dict[int, tuple[TableLayout, Spec, tuple]] = {}


def _reading_plan(layout: TableLayout, spec: Spec) -> tuple:
    """(the values of an empty row, whether they are all blank, the formula cells' columns, and what each
    column of a typed row is: its label, a formula cell (cached value kept), or an input), once per layout."""
    hit = _PLANS.get(id(layout))
    if hit is not None and hit[0] is layout and hit[1] is spec:
        return hit[2]
    table = layout.table
    empty_values = {c.id: normalize.cell(None, c).value for c in table.input_columns}
    plan = (empty_values, all(v is None or v == "" for v in empty_values.values()),
            [(c.id, layout.col(c.id)) for c in table.columns if c.is_derived],
            [(col.id, layout.col(col.id), _kind(col), col, spec.choices[col.choices].values if col.choices else ())
             for col in table.columns if col.role == "label" or col.type != "key"])
    _PLANS[id(layout)] = (layout, spec, plan)  # the layout is kept alive, so its id is never reused
    return plan


def _kind(col) -> str:
    if col.role == "label":
        return "label"
    if col.is_derived:
        return "derived"
    if col.is_numeric:
        return "number"
    return {"choice": "choice", "date": "date"}.get(col.type, "text")


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
