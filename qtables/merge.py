"""``qtables merge``: the provincial master workbook (汇总) from the ledger.

From the current accepted version of each unit's tables:

* 附表5 / 附表7: one row per reporting unit (its 合计) and a 全省合计 row; a
  明细 sheet with every county row grouped under its unit with 小计 rows;
* 附表6 summed by category (live SUMIF over a per-unit 明细 sheet);
* 附表1–4 concatenated with a 填报单位 column; the scoring forms when present;
* 报送情况, 审核结果, 数据来源 and 图表 sheets.

Totals and ratios are live Excel formulas compiled from the spec's own
expressions — ratios from summed numerators and denominators at every level,
用户满意率 weighted by 备案项数 — each written with its cached value from the
Python runtime, so the file reads right in any reader.  Submitted text is
written as text, never as a formula or link.  Rows are streamed from SQLite
into xlsxwriter's constant-memory mode, so memory does not grow with the
number of units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import xlsxwriter

from qtables import __version__
from qtables.errors import UsageError
from qtables.fsutil import atomic_path
from qtables.issue.workbook import tables_for
from qtables.layout import a1, quote_sheet
from qtables.period import Period
from qtables.registry import Registry, Unit
from qtables.spec import expr
from qtables.spec.expr import EvalError, Ref
from qtables.spec.model import Column, Spec, Table
from qtables.status import OK_STATUSES as OK
from qtables.status import STATUS_TEXT, period_status
from qtables.store import Ledger, decode
from qtables.workspace import Workspace

HEADER_ROW = 3  # 0-based row of the (single-line) column header on master sheets


def master_filename(period: Period, registry: Registry) -> str:
    scope = "全省" if registry.root.kind == "province" else registry.root.name
    return f"{period.code}_{scope}汇总.xlsx"


# -- the Python side of the formulas -------------------------------------


class _RowsEnv:
    """Evaluate a column expression on one row (bare names) over all rows (ranges)."""

    def __init__(self, rows: Sequence[dict[str, Any]], row: dict[str, Any] | None):
        self.rows, self.row = rows, row

    def value(self, ref: Ref) -> Any:
        if self.row is None or len(ref.parts) != 1:
            raise EvalError(ref.dotted)
        return self.row.get(ref.parts[0])

    def range(self, ref: Ref) -> Sequence[Any]:
        return [r.get(ref.parts[-1]) for r in self.rows]

    def row_values(self) -> Sequence[Any]:
        return list(self.row.values()) if self.row else []

    def row_number(self) -> int:
        return 0

    def choice_values(self, name: str) -> Sequence[str]:
        return ()


def _eval(node, rows, row) -> Any:
    try:
        value = expr.evaluate(node, _RowsEnv(rows, row))
    except EvalError:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def derive_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Fill the derived columns of one row (a county, a unit's 合计 or the 全省合计)."""
    for col in table.columns:
        if col.formula is not None:
            row[col.id] = _eval(col.formula, [row], row)
    return row


def total_row(table: Table, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Sums of additive columns, then ratios from the sums (never a sum or mean of ratios)."""
    total: dict[str, Any] = {}
    # Tables without a 合计 row in the template (附表6) sum every numeric input when merged.
    no_total_spec = not any(c.total for c in table.columns)
    for col in table.columns:
        if col.total == "sum" or (no_total_spec and col.is_input and col.is_numeric):
            total[col.id] = sum(v for r in rows if isinstance(v := r.get(col.id), (int, float)) and not isinstance(v, bool))
    for col in table.columns:
        node = col.total_formula or col.formula
        if node is not None:
            total[col.id] = _eval(node, rows, total)
    return total


# -- the Excel side ------------------------------------------------------


@dataclass
class _Sheet:
    """Column positions on a master sheet: ``offset`` leading columns before the table's own."""

    table: Table
    offset: int
    columns: list[Column]

    def col(self, column_id: str) -> int:
        for i, c in enumerate(self.columns):
            if c.id == column_id:
                return self.offset + i
        raise KeyError(column_id)

    def formula(self, node, row: int, *, first: int, last: int, mode: str) -> str:
        def resolve(ref: Ref, as_range: bool) -> str:
            c = self.col(ref.parts[-1])
            if as_range:
                return f"{a1(first, c)}:{a1(last, c)}"
            return a1(row, c)

        return "=" + expr.to_excel(node, resolve)


def _cached(value: Any) -> Any:
    return "" if value is None else value


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1}
        self.title = wb.add_format({"font_name": "黑体", "font_size": 16, "align": "center", "valign": "vcenter"})
        self.plain = wb.add_format({"font_name": "宋体", "font_size": 10})
        self.header = wb.add_format(dict(base, bold=True, align="center", text_wrap=True, bg_color="#D9E1F2"))
        self.text = wb.add_format(dict(base, text_wrap=False))
        self.int = wb.add_format(dict(base, num_format="0"))
        self.dec = wb.add_format(dict(base, num_format="0.00"))
        self.total_text = wb.add_format(dict(base, bold=True, bg_color="#E2EFDA"))
        self.total_int = wb.add_format(dict(base, bold=True, num_format="0", bg_color="#E2EFDA"))
        self.total_dec = wb.add_format(dict(base, bold=True, num_format="0.00", bg_color="#E2EFDA"))
        self.sub_text = wb.add_format(dict(base, bold=True, bg_color="#F2F2F2"))
        self.sub_int = wb.add_format(dict(base, bold=True, num_format="0", bg_color="#F2F2F2"))
        self.sub_dec = wb.add_format(dict(base, bold=True, num_format="0.00", bg_color="#F2F2F2"))
        self.date = wb.add_format(dict(base, num_format="yyyy-mm-dd"))
        self.status = {
            "accepted": wb.add_format(dict(base, bg_color="#C6EFCE")),
            "accepted_with_warnings": wb.add_format(dict(base, bg_color="#FFEB9C")),
            "rejected": wb.add_format(dict(base, bg_color="#FFC7CE")),
            "quarantined": wb.add_format(dict(base, bg_color="#FFC7CE")),
            "missing": wb.add_format(dict(base, bg_color="#D9D9D9")),
            "late": wb.add_format(dict(base, bg_color="#F8CBAD")),
        }

    def number(self, col: Column, kind: str = "") -> Any:
        integer = col.type == "integer"
        if kind == "total":
            return self.total_int if integer else self.total_dec
        if kind == "sub":
            return self.sub_int if integer else self.sub_dec
        return self.int if integer else self.dec


def _text(ws, row: int, col: int, value: Any, fmt=None) -> None:
    """Submitted or derived text: always a string cell, whatever it starts with."""
    if value is None:
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _num(ws, row: int, col: int, value: Any, fmt) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, fmt)
    elif value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _print_setup(ws, last_col: int, header_row: int = HEADER_ROW) -> None:
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")


# -- data from the ledger --------------------------------------------------


@dataclass
class UnitData:
    unit: Unit
    submission: dict[str, Any] | None  # the current accepted submission row, or None
    tables: dict[str, dict[str, dict[str, Any]]]  # table -> row key -> column -> value


def _current(ledger: Ledger, period: Period) -> dict[str, dict[str, Any]]:
    return {r["unit_code"]: dict(r) for r in ledger.current_submissions(period.code)}


def _unit_values(ledger: Ledger, submission_id: int) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for c in ledger.db.execute("SELECT table_id, row_key, column_id, value FROM cells WHERE submission_id = ?", (submission_id,)):
        out.setdefault(c["table_id"], {}).setdefault(c["row_key"], {})[c["column_id"]] = decode(c["value"])
    return out


def iter_units(ledger: Ledger, registry: Registry, period: Period) -> Iterable[UnitData]:
    """One unit at a time, so that memory does not grow with the number of units."""
    current = _current(ledger, period)
    for unit in registry.units:
        sub = current.get(unit.code)
        if sub is not None and sub["status"] in OK:
            yield UnitData(unit, sub, _unit_values(ledger, sub["id"]))
        else:
            yield UnitData(unit, sub, {})


# -- the workbook ----------------------------------------------------------


def merge(ws: Workspace, spec: Spec, period: Period, out: str | Path | None = None) -> Path:
    ledger = Ledger(ws.path)
    try:
        target = Path(out) if out else ws.path / "masters" / master_filename(period, ws.registry)
        if target.suffix.lower() != ".xlsx":
            raise UsageError("汇总表文件名应以 .xlsx 结尾", code="U009")
        with atomic_path(target) as tmp:
            _write(str(tmp), ws, spec, period, ledger)
        return target
    finally:
        ledger.close()


def _write(path: str, ws: Workspace, spec: Spec, period: Period, ledger: Ledger) -> None:
    registry = ws.registry
    set_names, table_ids = tables_for(spec, period, scoring=True)
    keyed = next(spec.table(t) for t in table_ids if spec.table(t).kind == "keyed")
    wb = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                    "strings_to_numbers": False})
    scope = "全省" if registry.root.kind == "province" else registry.root.name
    wb.set_properties({"title": f"{period.label} {scope}建设工程质量监督统计汇总", "author": "qtables", "comments": f"qtables {__version__}"})
    fmt = _Formats(wb)
    summary_name = f"{keyed.name}汇总"
    detail_name = f"{keyed.name}明细"
    # Sheets are written one after another, each streamed from the ledger.
    summary_ws, summary = _keyed_summary(wb, fmt, keyed, summary_name, ledger, registry, period, scope)
    _keyed_detail(wb, fmt, keyed, detail_name, ledger, registry, period, scope)
    if "t6" in table_ids:
        _categories(wb, fmt, spec.table("t6"), ledger, registry, period, scope)
    for tid in table_ids:
        table = spec.table(tid)
        if table.kind == "records":
            _records(wb, fmt, table, ledger, registry, period)
        elif table.kind == "scoring":
            _scoring(wb, fmt, table, ledger, registry, period)
    status = period_status(ws, spec, period)
    _status_sheet(wb, fmt, spec, status, table_ids, set_names)
    _findings_sheet(wb, fmt, ledger, registry, period)
    _sources_sheet(wb, fmt, ledger, registry, period)
    _charts(wb, fmt, keyed, summary_name, summary, ledger, registry, period)
    wb.close()


def _header(wb_ws, fmt: _Formats, title: str, subtitle: str, headers: list[str], widths: list[float]) -> None:
    last = len(headers) - 1
    wb_ws.merge_range(0, 0, 0, last, title, fmt.title)
    wb_ws.set_row(0, 30)
    wb_ws.write_string(1, 0, subtitle, fmt.plain)
    for c, (h, w) in enumerate(zip(headers, widths)):
        wb_ws.set_column(c, c, w)
    wb_ws.set_row(HEADER_ROW, 48)
    for c, h in enumerate(headers):
        wb_ws.write_string(HEADER_ROW, c, h, fmt.header)


def _value_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if c.type != "key"]


def _keyed_summary(wb, fmt, table: Table, name: str, ledger, registry, period, scope):
    """One row per reporting unit (its 合计) and the 全省合计 row."""
    ws = wb.add_worksheet(name)
    cols = _value_columns(table)
    sheet = _Sheet(table, 2, cols)
    headers = ["序号", "单位"] + [c.label for c in cols] + ["报送状态"]
    _header(ws, fmt, f"{table.title}（{scope}汇总）", f"报告期：{period.label}", headers, [5, 14] + [9] * len(cols) + [12])
    first = HEADER_ROW + 1
    n = len(registry.units)
    last = first + n - 1
    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    for i, data in enumerate(iter_units(ledger, registry, period)):
        r = first + i
        unit_rows = [v for k, v in data.tables.get(table.id, {}).items() if k != "_total"]
        row = total_row(table, unit_rows) if unit_rows else {}
        ws.write_number(r, 0, i + 1, fmt.int)
        _text(ws, r, 1, data.unit.name, fmt.text)
        for col in cols:
            c = sheet.col(col.id)
            if col.formula is not None or col.total_formula is not None:
                if unit_rows and col.formula is not None:
                    ws.write_formula(r, c, sheet.formula(col.formula, r, first=first, last=last, mode="row"), fmt.number(col),
                                     _cached(row.get(col.id)))
                elif unit_rows:  # 满意率 of a unit: its weighted total over its county rows
                    _num(ws, r, c, row.get(col.id), fmt.number(col))
                else:
                    ws.write_blank(r, c, None, fmt.number(col))
            else:
                _num(ws, r, c, row.get(col.id) if unit_rows else None, fmt.number(col))
        sub = data.submission
        state = sub["status"] if sub else "missing"
        _text(ws, r, 2 + len(cols), STATUS_TEXT.get(state, state), fmt.status.get(state, fmt.text))
        rows.append(row)
        labels.append(data.unit.name)
    t = last + 1
    totals = total_row(table, rows)
    ws.write_blank(t, 0, None, fmt.total_text)
    ws.write_string(t, 1, f"{scope}合计", fmt.total_text)
    for col in cols:
        c = sheet.col(col.id)
        if col.total == "sum":
            ws.write_formula(t, c, f"=SUM({a1(first, c)}:{a1(last, c)})", fmt.number(col, "total"), _cached(totals.get(col.id)))
        elif col.total_formula is not None or col.formula is not None:
            node = col.total_formula or col.formula
            ws.write_formula(t, c, sheet.formula(node, t, first=first, last=last, mode="total"), fmt.number(col, "total"),
                             _cached(totals.get(col.id)))
        else:
            ws.write_blank(t, c, None, fmt.number(col, "total"))
    ws.write_blank(t, 2 + len(cols), None, fmt.total_text)
    _print_setup(ws, len(headers) - 1)
    ws.freeze_panes(first, 2)
    return ws, {"rows": rows, "labels": labels, "first": first, "last": last, "total": t, "sheet": sheet, "totals": totals}


def _keyed_detail(wb, fmt, table: Table, name: str, ledger, registry, period, scope) -> None:
    """Every county row grouped under its unit, with a 小计 per unit and the 合计 from the 小计 rows."""
    ws = wb.add_worksheet(name)
    cols = _value_columns(table)
    sheet = _Sheet(table, 3, cols)
    kind_col = 3 + len(cols)
    headers = ["单位", "序号", "县（市、区）"] + [c.label for c in cols] + ["行类型"]
    _header(ws, fmt, f"{table.title}（{scope}明细）", f"报告期：{period.label}", headers, [12, 5, 14] + [9] * len(cols) + [7])
    r = HEADER_ROW + 1
    subtotals: list[dict[str, Any]] = []
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id, {})
        keys = [k for k in (rk.code for rk in data.unit.rows()) if k in rows]
        first = r
        for i, key in enumerate(keys):
            row = derive_row(table, dict(rows[key]))
            _text(ws, r, 0, data.unit.name, fmt.text)
            ws.write_number(r, 1, i + 1, fmt.int)
            _text(ws, r, 2, next((rk.label for rk in data.unit.rows() if rk.code == key), key), fmt.text)
            for col in cols:
                c = sheet.col(col.id)
                if col.formula is not None:
                    ws.write_formula(r, c, sheet.formula(col.formula, r, first=r, last=r, mode="row"), fmt.number(col), _cached(row.get(col.id)))
                else:
                    _num(ws, r, c, row.get(col.id), fmt.number(col))
            ws.write_string(r, kind_col, "明细", fmt.text)
            ws.set_row(r, None, None, {"level": 1})
            r += 1
        unit_rows = [rows[k] for k in keys]
        sub = total_row(table, unit_rows) if unit_rows else {}
        _text(ws, r, 0, data.unit.name, fmt.sub_text)
        ws.write_blank(r, 1, None, fmt.sub_text)
        ws.write_string(r, 2, "小计" if unit_rows else "小计（未报）", fmt.sub_text)
        for col in cols:
            c = sheet.col(col.id)
            if not unit_rows:
                ws.write_blank(r, c, None, fmt.number(col, "sub"))
            elif col.total == "sum":
                ws.write_formula(r, c, f"=SUM({a1(first, c)}:{a1(r - 1, c)})", fmt.number(col, "sub"), _cached(sub.get(col.id)))
            elif col.total_formula is not None or col.formula is not None:
                ws.write_formula(r, c, sheet.formula(col.total_formula or col.formula, r, first=first, last=r - 1, mode="total"),
                                 fmt.number(col, "sub"), _cached(sub.get(col.id)))
            else:
                ws.write_blank(r, c, None, fmt.number(col, "sub"))
        ws.write_string(r, kind_col, "小计", fmt.sub_text)
        if unit_rows:
            subtotals.append(sub)
        r += 1
    totals = total_row(table, subtotals)
    last_row = r - 1
    kind_range = f"{a1(HEADER_ROW + 1, kind_col)}:{a1(last_row, kind_col)}"
    ws.write_blank(r, 0, None, fmt.total_text)
    ws.write_blank(r, 1, None, fmt.total_text)
    ws.write_string(r, 2, f"{scope}合计", fmt.total_text)
    for col in cols:
        c = sheet.col(col.id)
        rng = f"{a1(HEADER_ROW + 1, c)}:{a1(last_row, c)}"
        if col.total == "sum":
            ws.write_formula(r, c, f'=SUMIF({kind_range},"小计",{rng})', fmt.number(col, "total"), _cached(totals.get(col.id)))
        elif col.id == "satisfaction_rate":
            filed = sheet.col("filed_count")
            frng = f"{a1(HEADER_ROW + 1, filed)}:{a1(last_row, filed)}"
            formula = (f'=IF(SUMIF({kind_range},"小计",{frng})=0,"",'
                       f'SUMPRODUCT(({kind_range}="小计")*1,{rng},{frng})/SUMIF({kind_range},"小计",{frng}))')
            ws.write_formula(r, c, formula, fmt.number(col, "total"), _cached(totals.get(col.id)))
        elif col.formula is not None:
            ws.write_formula(r, c, sheet.formula(col.formula, r, first=r, last=r, mode="row"), fmt.number(col, "total"), _cached(totals.get(col.id)))
        else:
            ws.write_blank(r, c, None, fmt.number(col, "total"))
    ws.write_string(r, kind_col, "合计", fmt.total_text)
    ws.outline_settings(True, False, True, False)
    _print_setup(ws, len(headers) - 1)
    ws.freeze_panes(HEADER_ROW + 1, 3)


def _categories(wb, fmt, table: Table, ledger, registry, period, scope) -> None:
    """附表6: a per-unit 明细 sheet, and the summary summing it by category with SUMIF."""
    cols = _value_columns(table)
    detail = wb.add_worksheet(f"{table.name}明细")
    dsheet = _Sheet(table, 2, cols)
    headers = ["单位", "项目"] + [c.label for c in cols]
    _header(detail, fmt, f"{table.title}（各单位）", f"报告期：{period.label}", headers, [12, 22] + [9] * len(cols))
    r = HEADER_ROW + 1
    sums: dict[str, list[dict[str, Any]]] = {row.key: [] for row in table.fixed_rows}
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id, {})
        for fixed in table.fixed_rows:
            if fixed.key not in rows:
                continue
            row = derive_row(table, dict(rows[fixed.key]))
            sums[fixed.key].append(row)
            _text(detail, r, 0, data.unit.name, fmt.text)
            _text(detail, r, 1, fixed.label.replace("\n", ""), fmt.text)
            for col in cols:
                c = dsheet.col(col.id)
                if col.formula is not None:
                    detail.write_formula(r, c, dsheet.formula(col.formula, r, first=r, last=r, mode="row"), fmt.number(col), _cached(row.get(col.id)))
                else:
                    _num(detail, r, c, row.get(col.id), fmt.number(col))
            r += 1
    last_detail = max(r - 1, HEADER_ROW + 1)
    _print_setup(detail, len(headers) - 1)
    ws = wb.add_worksheet(f"{table.name}汇总")
    sheet = _Sheet(table, 1, cols)
    _header(ws, fmt, f"{table.title}（{scope}汇总）", f"报告期：{period.label}", ["项目"] + [c.label for c in cols], [24] + [9] * len(cols))
    label_rng = f"{quote_sheet(detail.name)}!{a1(HEADER_ROW + 1, 1)}:{a1(last_detail, 1)}"
    for i, fixed in enumerate(table.fixed_rows):
        r = HEADER_ROW + 1 + i
        label = fixed.label.replace("\n", "")
        total = total_row(table, sums[fixed.key])
        _text(ws, r, 0, label, fmt.text)
        for col in cols:
            c = sheet.col(col.id)
            if col.formula is not None:
                ws.write_formula(r, c, sheet.formula(col.formula, r, first=r, last=r, mode="row"), fmt.number(col), _cached(total.get(col.id)))
            else:
                dcol = dsheet.col(col.id)
                rng = f"{quote_sheet(detail.name)}!{a1(HEADER_ROW + 1, dcol)}:{a1(last_detail, dcol)}"
                value = sum(v for row in sums[fixed.key] if isinstance(v := row.get(col.id), (int, float)))
                ws.write_formula(r, c, f"=SUMIF({label_rng},{a1(r, 0)},{rng})", fmt.number(col), value)
    _print_setup(ws, len(cols))


def _records(wb, fmt, table: Table, ledger, registry, period) -> None:
    """附表1–4: every unit's records, one after another, with a 填报单位 column."""
    ws = wb.add_worksheet(table.name)
    cols = [c for c in table.columns if c.is_input]
    headers = ["填报单位", "序号"] + [c.label for c in cols]
    _header(ws, fmt, table.title.replace("\n", ""), f"报告期：{period.label}", headers, [12, 5] + [c.width or 12 for c in cols])
    r = HEADER_ROW + 1
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id, {})
        for i, key in enumerate(sorted(rows, key=lambda k: int(k) if k.isdigit() else 0)):
            row = rows[key]
            _text(ws, r, 0, data.unit.name, fmt.text)
            ws.write_number(r, 1, i + 1, fmt.int)
            for j, col in enumerate(cols):
                value = row.get(col.id)
                if col.type == "date" and isinstance(value, (int, float)):
                    ws.write_number(r, 2 + j, value, fmt.date)
                elif col.is_numeric:
                    _num(ws, r, 2 + j, value, fmt.number(col))
                else:
                    _text(ws, r, 2 + j, value, fmt.text)
            r += 1
    if r > HEADER_ROW + 1:
        ws.autofilter(HEADER_ROW, 0, r - 1, len(headers) - 1)
    _print_setup(ws, len(headers) - 1)


def _scoring(wb, fmt, table: Table, ledger, registry, period) -> None:
    items = table.scoring_items
    ws = wb.add_worksheet(table.sheet[:31])
    headers = ["单位"] + [f"{it.label}（{it.points:g}分）" for it in items] + ["合计"]
    _header(ws, fmt, table.title, f"报告期：{period.label}", headers, [12] + [7] * len(items) + [8])
    r = HEADER_ROW + 1
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id)
        if not rows:
            continue
        _text(ws, r, 0, data.unit.name, fmt.text)
        total = 0.0
        for j, it in enumerate(items):
            value = rows.get(it.key, {}).get("score")
            total += value if isinstance(value, (int, float)) else 0
            _num(ws, r, 1 + j, value, fmt.dec)
        ws.write_formula(r, 1 + len(items), f"=SUM({a1(r, 1)}:{a1(r, len(items))})", fmt.total_dec, total)
        r += 1
    _print_setup(ws, len(headers) - 1)


def _status_sheet(wb, fmt, spec: Spec, status: dict[str, Any], table_ids: list[str], set_names) -> None:
    ws = wb.add_worksheet("报送情况")
    due = [spec.table(t).name for t in table_ids if spec.table(t).kind != "scoring"]
    headers = ["单位代码", "单位", "状态", "版本", "收到时间", "按时"] + due + ["其他材料"]
    _header(ws, fmt, f"{status['label']} 报送情况", f"截止日期 {status['deadline']}；应报 {status['expected']}，已收 {status['received']}，"
            f"通过 {status['accepted']}，逾期 {status['late']}", headers, [9, 12, 12, 5, 24, 6] + [8] * len(due) + [30])
    for i, u in enumerate(status["units"]):
        r = HEADER_ROW + 1 + i
        state = u["status"]
        cell = fmt.status.get(state, fmt.text)
        _text(ws, r, 0, u["code"], fmt.text)
        _text(ws, r, 1, u["name"], fmt.text)
        _text(ws, r, 2, STATUS_TEXT.get(state, state), cell)
        _num(ws, r, 3, u["version"], fmt.int)
        _text(ws, r, 4, u["received_at"], fmt.text)
        timing = "—" if u["on_time"] is None else ("按时" if u["on_time"] else "逾期")
        _text(ws, r, 5, timing, fmt.status["late"] if u["on_time"] is False else fmt.text)
        for j, name in enumerate(due):
            have = name in u["tables_received"]
            _text(ws, r, 6 + j, ("已报" if have else "未报") if state != "missing" else "未报",
                  cell if have else fmt.status["missing"])
        _text(ws, r, 6 + len(due), "、".join(u["attachments"]), fmt.text)
    _print_setup(ws, len(headers) - 1)


def _findings_sheet(wb, fmt, ledger: Ledger, registry: Registry, period: Period) -> None:
    ws = wb.add_worksheet("审核结果")
    headers = ["单位", "版本", "类别", "代码", "位置", "问题", "说明", "说明是否采纳"]
    _header(ws, fmt, f"{period.label} 审核结果（当前版本）", "强制性问题未改正的报表不计入汇总；核实性问题以报送单位的说明为准。", headers,
            [12, 5, 7, 7, 14, 70, 40, 8])
    names = {u.code: u.name for u in registry.units}
    r = HEADER_ROW + 1
    for sub in ledger.current_submissions(period.code):
        for f in ledger.findings_of(sub["id"]):
            if f["severity"] == "I":
                continue
            _text(ws, r, 0, names.get(sub["unit_code"], sub["unit_code"]), fmt.text)
            ws.write_number(r, 1, sub["version"], fmt.int)
            _text(ws, r, 2, {"E": "强制性", "W": "核实性", "F": "无法审核"}.get(f["severity"], f["severity"]), fmt.text)
            _text(ws, r, 3, f["code"], fmt.text)
            _text(ws, r, 4, f"{f['sheet']}!{f['cell']}" if f["cell"] else (f["sheet"] or ""), fmt.text)
            _text(ws, r, 5, f["message"], fmt.text)
            _text(ws, r, 6, f["note"], fmt.text)
            _text(ws, r, 7, ("是" if f["explained"] else "否") if f["severity"] == "W" else "", fmt.text)
            r += 1
    _print_setup(ws, len(headers) - 1)


def _sources_sheet(wb, fmt, ledger: Ledger, registry: Registry, period: Period) -> None:
    ws = wb.add_worksheet("数据来源")
    headers = ["单位代码", "单位", "文件名", "SHA-256", "发件人", "收到时间", "版本", "状态", "是否计入汇总"]
    _header(ws, fmt, f"{period.label} 数据来源", "每个单位当前版本的原始文件均按 SHA-256 原样保存在工作区 archive/ 中。", headers,
            [9, 12, 30, 66, 24, 24, 5, 12, 8])
    names = {u.code: u.name for u in registry.units}
    for i, sub in enumerate(ledger.current_submissions(period.code)):
        r = HEADER_ROW + 1 + i
        values = [sub["unit_code"], names.get(sub["unit_code"], sub["unit_code"]), sub["filename"], sub["sha256"], sub["sender"],
                  sub["received_at"]]
        for c, v in enumerate(values):
            _text(ws, r, c, v, fmt.text)
        ws.write_number(r, 6, sub["version"], fmt.int)
        _text(ws, r, 7, STATUS_TEXT.get(sub["status"], sub["status"]), fmt.status.get(sub["status"], fmt.text))
        _text(ws, r, 8, "是" if sub["status"] in OK else "否", fmt.text)
    _print_setup(ws, len(headers) - 1)


def _charts(wb, fmt, table: Table, summary_name: str, summary: dict[str, Any], ledger: Ledger, registry: Registry, period: Period) -> None:
    ws = wb.add_worksheet("图表")
    ws.write_string(0, 0, f"{period.label} 图表", fmt.title)
    sheet: _Sheet = summary["sheet"]
    first, last = summary["first"], summary["last"]
    cats = f"={quote_sheet(summary_name)}!{a1(first, 1)}:{a1(last, 1)}"
    for i, (cid, title) in enumerate((("filing_rate_count", "质量备案率（项数，%）"), ("satisfaction_rate", "用户满意率（%）"))):
        chart = wb.add_chart({"type": "column"})
        c = sheet.col(cid)
        chart.add_series({"name": title, "categories": cats, "values": f"={quote_sheet(summary_name)}!{a1(first, c)}:{a1(last, c)}",
                          "fill": {"color": "#4472C4" if i == 0 else "#ED7D31"}})
        chart.set_title({"name": f"各单位{title}"})
        chart.set_y_axis({"min": 0, "max": 100})
        chart.set_legend({"none": True})
        chart.set_size({"width": 960, "height": 320})
        ws.insert_chart(2 + i * 17, 0, chart)
    # 在建 / 竣工 over the periods the ledger holds (of the same kind as this period).
    trend = _trend(ledger, registry, table, period)
    base = 2 + 2 * 17 + 1
    ws.write_string(base, 0, "报告期", fmt.header)
    ws.write_string(base, 1, "在建工程项数", fmt.header)
    ws.write_string(base, 2, "竣工工程项数", fmt.header)
    for i, (code, ucon, done) in enumerate(trend):
        ws.write_string(base + 1 + i, 0, code, fmt.text)
        ws.write_number(base + 1 + i, 1, ucon, fmt.int)
        ws.write_number(base + 1 + i, 2, done, fmt.int)
    if trend:
        chart = wb.add_chart({"type": "line"})
        end = base + len(trend)
        for c, name in ((1, "在建工程项数"), (2, "竣工工程项数")):
            chart.add_series({"name": name, "categories": f"='图表'!{a1(base + 1, 0)}:{a1(end, 0)}",
                              "values": f"='图表'!{a1(base + 1, c)}:{a1(end, c)}", "marker": {"type": "circle"}})
        chart.set_title({"name": "在建、竣工工程项数（各报告期）"})
        chart.set_size({"width": 720, "height": 300})
        ws.insert_chart(base, 4, chart)


def _trend(ledger: Ledger, registry: Registry, table: Table, period: Period) -> list[tuple[str, float, float]]:
    codes = {u.code for u in registry.units}
    out = []
    periods = [r[0] for r in ledger.db.execute("SELECT DISTINCT period FROM submissions ORDER BY period")]
    for code in periods:
        p = Period.parse(code)
        if p.kind != period.kind or p > period:
            continue
        ucon = done = 0.0
        for row in ledger.db.execute(
            "SELECT c.column_id, c.value, s.unit_code FROM cells c JOIN submissions s ON s.id = c.submission_id"
            " WHERE s.period = ? AND s.is_current = 1 AND s.status IN ('accepted','accepted_with_warnings')"
            " AND c.table_id = ? AND c.row_key = '_total' AND c.column_id IN ('ucon_count','done_count')",
            (code, table.id),
        ):
            if row["unit_code"] in codes:
                value = decode(row["value"]) or 0
                if row["column_id"] == "ucon_count":
                    ucon += value
                else:
                    done += value
        out.append((code, ucon, done))
    return out
