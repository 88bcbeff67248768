"""Write one locked, self-checking 附表 workbook for a unit and period (xlsxwriter).

Everything a unit fills is an unlocked input cell with data validation; labels,
the unit, the period and every formula are locked under sheet protection.
Derived cells (合计, 质量备案率, 小计) are formulas whose cached values come
from the Python runtime of the same expressions, so the file reads right even
in a reader that does not recalculate.  The same builder fills input cells when
given values: that is the fixture builder the tests and benchmarks use.
"""

from __future__ import annotations

from datetime import date
from typing import IO

import xlsxwriter

from qtables.template.identity import format_rows, IDENTITY_SHEET, PROPERTY_PREFIX, Identity
from qtables.issue.selfcheck import ExcelContext
from qtables.template.names import (
    CHECK_SHEET,
    GUIDE_SHEET,
    LISTS_SHEET,
    SELF_CHECK_SHEET,
)
from qtables.template.layout import TableLayout
from qtables.period import excel_serial
from qtables.template.derived import blank_data, compute_derived
from qtables.template.rules import WorkbookData, run_rules
from qtables.spec.model import Spec
from qtables.issue.request import FIXED_TIME, PROTECT_OPTIONS, IssueRequest
from qtables.issue.formats import FormulaWorksheet, Formats
from qtables.issue.tables import conditional_formats, write_table
from qtables.issue.sheets import write_checks, write_guide, write_identity, write_lists, write_prev, write_quarters, write_selfcheck



def build_workbook(
    target: str | IO[bytes],
    *,
    spec: Spec,
    request: IssueRequest,
    key: bytes,
    password: str,
) -> Identity:
    """Write the workbook to ``target`` (a path or a binary stream); return its identity."""
    layouts = [TableLayout.for_unit(spec.table(t), request.unit, request.capacity.get(t)) for t in request.table_ids]
    by_id = {lay.table.id: lay for lay in layouts}
    data = blank_data(spec, request.period, layouts)
    _apply_values(data, request)
    data.previous = request.previous
    keyed = next((lay.table.id for lay in layouts if lay.table.kind == "keyed"), None)
    quarter_names: tuple[str, ...] = ()
    if request.quarters and keyed:
        data.quarters = {keyed: request.quarters}
        quarter_names = tuple(sorted({name for values in request.quarters.values() for name in values}))
    compute_derived(data)
    rules = spec.rules_for(request.set_names, request.table_ids)
    results = run_rules(rules, data)
    ctx = ExcelContext(by_id, request.period, has_previous=bool(request.previous), known_tables=frozenset(spec.tables),
                       quarter_names=quarter_names, keyed=keyed)
    identity = Identity.create(
        unit_code=request.unit.code,
        unit_name=request.unit.name,
        period=request.period.code,
        tables=request.table_ids,
        spec_version=spec.version,
        key=key,
        rows=format_rows({t: n for t, n in request.capacity.items() if n != spec.table(t).capacity}),
    )

    wb = xlsxwriter.Workbook(
        target,
        {
            # Submitted or configured text must never turn into a formula, link or number.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "in_memory": True,
        },
    )
    wb.worksheet_class = FormulaWorksheet
    wb.set_properties(
        {
            "title": f"{request.unit.name} {request.period.label} 建设工程质量分析报告附表",
            "subject": spec.title,
            "author": "qtables",
            "company": "河南省住房和城乡建设厅",
            "comments": "由 qtables 生成，请勿修改表格结构。",
            "created": FIXED_TIME,
        }
    )
    for name, value in identity.as_pairs():
        wb.set_custom_property(PROPERTY_PREFIX + name, value, "text")
    fmt = Formats(wb)

    guide = wb.add_worksheet(GUIDE_SHEET)
    sheets = {lay.table.id: wb.add_worksheet(lay.sheet) for lay in layouts}
    selfcheck = wb.add_worksheet(SELF_CHECK_SHEET)
    lists = wb.add_worksheet(LISTS_SHEET)
    checks = wb.add_worksheet(CHECK_SHEET)
    ident_sheet = wb.add_worksheet(IDENTITY_SHEET)

    write_lists(wb, lists, spec)
    if request.previous:
        for lay in layouts:
            if lay.table.kind == "keyed" and request.previous.get(lay.table.id):
                write_prev(wb, lay, request.previous[lay.table.id], password)
    if quarter_names:
        write_quarters(wb, by_id[keyed], request.quarters, quarter_names, password)
    for lay in layouts:
        write_table(sheets[lay.table.id], lay, data.tables[lay.table.id].rows, data.tables[lay.table.id].total, ctx, fmt, request,
                    spec.form)
    check_cols = write_checks(checks, ctx, rules, results, data)
    write_selfcheck(selfcheck, ctx, rules, results, check_cols, data, fmt, request)
    for lay in layouts:
        conditional_formats(sheets[lay.table.id], lay, check_cols, wb)
    write_guide(guide, spec, request, layouts, fmt)
    write_identity(ident_sheet, identity, fmt)

    for ws in (lists, checks, ident_sheet):
        ws.hide()
    for ws in [guide, selfcheck, lists, checks, ident_sheet, *sheets.values()]:
        ws.protect(password, PROTECT_OPTIONS)
    sheets[layouts[0].table.id].activate()
    guide.set_first_sheet()
    wb.close()
    return identity


# -- values -------------------------------------------------------------


def _apply_values(data: WorkbookData, request: IssueRequest) -> None:
    for tid, rows in request.values.items():
        td = data.tables.get(tid)
        if td is None:
            continue
        inputs = {c.id for c in td.table.input_columns}
        for i, values in enumerate(rows[: len(td.rows)]):
            for cid, v in values.items():
                if cid in inputs:
                    td.rows[i][cid] = excel_serial(v) if isinstance(v, date) else v
    if request.previous:
        # Carried-over cells are pre-filled from the previous period and locked.
        for tid, prev_rows in request.previous.items():
            td = data.tables.get(tid)
            if td is None:
                continue
            for layout_row, row in zip(td.layout.rows, td.rows):
                prev = prev_rows.get(layout_row.key, {})
                for col in td.table.columns:
                    if col.carry_from:
                        row[col.id] = prev.get(col.carry_from, 0) or 0


# -- table sheets -------------------------------------------------------


# -- helper and self-check sheets --------------------------------------


