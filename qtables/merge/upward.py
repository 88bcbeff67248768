"""Hierarchy: a city collects from its counties, then reports upward with the province's template.

In a city's workspace (``qtables init DIR --unit 410100``) the counties are the
reporting units.  ``qtables merge --into TEMPLATE`` fills the template the
province issued to the city with the counties' accepted figures — 附表5/7 one
row per county, 附表6 summed by category, 附表1–4 concatenated — so the city
submits it upward like any unit's workbook; its identity and signature are the
province's and stay untouched.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl

from qtables.check.checker import read_identity
from qtables.errors import UsageError
from qtables.fsutil import atomic_path
from qtables.template.layout import TableLayout
from qtables.period import Period, from_excel_serial
from qtables.read.workbook import ReadProblem, read_workbook
from qtables.spec import Spec
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import Workspace


def fill_upward(ws: Workspace, spec: Spec, period: Period, template: str | Path, out: str | Path) -> Path:
    template = Path(template)
    try:
        book = read_workbook(template)
    except ReadProblem as problem:
        raise UsageError(f"上级下发的模板 {template} 无法读取（{problem.code}）", code="U011") from None
    from_sheet, from_props = read_identity(book)
    identity = from_sheet or from_props
    city = ws.registry.root
    if identity is None:
        raise UsageError(f"{template} 不是上级下发的 qtables 模板", code="U011")
    if identity.unit_code != city.code:
        raise UsageError(f"模板属于 {identity.unit_name}（{identity.unit_code}），本工作区汇总单位是 {city.name}（{city.code}）", code="U012")
    if identity.period != period.code:
        raise UsageError(f"模板的报告期是 {identity.period}，不是 {period.code}", code="U012")
    wb = openpyxl.load_workbook(io.BytesIO(template.read_bytes()))
    ledger = ws.open_ledger()
    try:
        county_data = {u.code: ledger.accepted_values(u.code, period.code) or {} for u in ws.registry.units}
    finally:
        ledger.close()
    for tid in identity.tables:
        table = spec.table(tid)
        layout = TableLayout.for_unit(table, city)
        sheet = wb[layout.sheet]
        if table.kind == "keyed":
            for i, row in enumerate(layout.rows):
                values = _county_row(county_data.get(row.key, {}).get(tid, {}))
                _put_row(sheet, layout, i, values)
        elif table.kind == "categories":
            for i, row in enumerate(layout.rows):
                summed: dict[str, Any] = {}
                for data in county_data.values():
                    for cid, v in data.get(tid, {}).get(row.key, {}).items():
                        if isinstance(v, (int, float)) and table.has_column(cid) and table.column(cid).is_input:
                            summed[cid] = round(summed.get(cid, 0) + v, 6)
                _put_row(sheet, layout, i, summed)
        elif table.kind == "records":
            records = [r for code in sorted(county_data) for key, r in sorted(county_data[code].get(tid, {}).items(),
                                                                              key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)]
            if len(records) > len(layout.rows):
                raise UsageError(f"{table.name} 共 {len(records)} 行，超过模板容量 {len(layout.rows)} 行", code="U013")
            for i, r in enumerate(records):
                _put_row(sheet, layout, i, r)
    out = Path(out)
    with atomic_path(out) as tmp:
        wb.save(tmp)
    return out


def _county_row(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A county's single row of 附表5/7 (its own workbook has exactly one data row)."""
    data_rows = [v for k, v in rows.items() if k != "_total"]
    return data_rows[0] if len(data_rows) == 1 else rows.get("_total", {})


def _put_row(sheet, layout: TableLayout, index: int, values: dict[str, Any]) -> None:
    r = layout.first_data + index + 1
    for col in layout.table.input_columns:
        if col.id not in values:
            continue
        value = values[col.id]
        cell = sheet.cell(row=r, column=layout.col(col.id) + 1)
        if col.type == "date" and isinstance(value, (int, float)):
            cell.value = from_excel_serial(value)
            cell.number_format = "yyyy-mm-dd"
        elif isinstance(value, str):
            cell.value = value
            cell.data_type = "s"  # never a formula
        else:
            cell.value = value
