"""Write one locked, self-checking 附表 workbook for a unit and period (xlsxwriter).

Everything a unit fills is an unlocked input cell with data validation; labels,
the unit, the period and every formula are locked under sheet protection.
Derived cells (合计, 质量备案率, 小计) are formulas whose cached values come
from the Python runtime of the same expressions, so the file reads right even
in a reader that does not recalculate.  The same builder fills input cells when
given values: that is the fixture builder the tests and benchmarks use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter

from qtables import __version__
from qtables.identity import IDENTITY_SHEET, PROPERTY_PREFIX, Identity
from qtables.issue.selfcheck import (
    CHECK_SHEET,
    NOTE_COL,
    RESULT_COL,
    SELF_CHECK_COLUMNS,
    SELF_CHECK_HEADER_ROW,
    SELF_CHECK_SHEET,
    CheckColumn,
    ExcelContext,
    prev_sheet,
    rule_key,
    summarize,
)
from qtables.layout import HEADER_TOP, TITLE_ROW, TOP_LINE_ROW, TableLayout, a1, quote_sheet
from qtables.period import Period, excel_serial
from qtables.registry import Unit
from qtables.rules import WorkbookData, blank_data, compute_derived, run_rules
from qtables.spec.expr import list_name
from qtables.spec.model import Column, Rule, Spec

GUIDE_SHEET = "填表说明"
LISTS_SHEET = "_lists"
FIXED_TIME = datetime(2025, 1, 1, 0, 0, 0)
MIN_DATE, MAX_DATE = date(2000, 1, 1), date(2099, 12, 31)

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

DEFAULT_WIDTH = {"integer": 7, "decimal": 10, "percent": 8, "text": 14, "date": 11, "choice": 12, "key": 10}


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


def tables_for(spec: Spec, period: Period, *, scoring: bool = False) -> tuple[list[str], list[str]]:
    """The sets and tables due for a period (a quarter: 附表1–6; a year: 附表6–7)."""
    sets = [period.kind] + (["scoring"] if scoring else [])
    return sets, [t.id for t in spec.tables_in(sets)]


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
        cell = dict(base, border=1, text_wrap=True)
        self.title = wb.add_format(dict(base, font_name="黑体", font_size=16, align="center", text_wrap=True))
        self.plain = wb.add_format(dict(base))
        self.small = wb.add_format(dict(base, font_size=9))
        self.wrap = wb.add_format(dict(base, text_wrap=True, valign="top"))
        self.header = wb.add_format(dict(cell, bold=True, align="center", bg_color="#D9E1F2"))
        self.label = wb.add_format(dict(cell, align="center", bg_color="#F2F2F2"))
        self.label_left = wb.add_format(dict(cell, align="left", bg_color="#F2F2F2"))
        self.line_label = wb.add_format(dict(base, align="right"))
        self.line_value = wb.add_format(dict(base, bottom=1))
        self.line_input = wb.add_format(dict(base, bottom=1, locked=False, bg_color="#FFF9E6"))
        self.line_date = wb.add_format(dict(base, bottom=1, locked=False, bg_color="#FFF9E6", num_format="yyyy-mm-dd"))
        self.ok_big = wb.add_format(dict(base, bold=True, font_size=12))
        self._cell = cell
        self._wb = wb
        self._cache: dict[tuple, Any] = {}

    def number(self, kind: str, decimals: int | None, *, locked: bool, total: bool = False) -> Any:
        key = (kind, decimals, locked, total)
        if key not in self._cache:
            if kind == "date":
                num = "yyyy-mm-dd"
            elif kind == "integer":
                num = "0"
            elif kind in ("decimal", "percent"):
                d = 2 if decimals is None else decimals
                num = "0." + "0" * d if d else "0"
            else:
                num = "@"
            props = dict(self._cell, num_format=num, align="right" if num != "@" else "left")
            if locked:
                props["bg_color"] = "#EDEDED" if not total else "#E2EFDA"
            else:
                props["locked"] = False
                props["bg_color"] = "#FFF9E6"
            if total:
                props["bold"] = True
            self._cache[key] = self._wb.add_format(props)
        return self._cache[key]

    def column(self, col: Column, *, total: bool = False) -> Any:
        locked = not col.is_input or total
        return self.number(col.type, col.decimals, locked=locked, total=total)


def build_workbook(
    target: str | IO[bytes],
    *,
    spec: Spec,
    request: IssueRequest,
    key: bytes,
    password: str,
) -> Identity:
    """Write the workbook to ``target`` (a path or a binary stream); return its identity."""
    layouts = [TableLayout.for_unit(spec.table(t), request.unit) for t in request.table_ids]
    by_id = {lay.table.id: lay for lay in layouts}
    data = blank_data(spec, request.period, layouts)
    _apply_values(data, request)
    data.previous = request.previous
    compute_derived(data)
    rules = spec.rules_for(request.set_names, request.table_ids)
    results = run_rules(rules, data)
    ctx = ExcelContext(by_id, request.period, has_previous=bool(request.previous), known_tables=frozenset(spec.tables))
    identity = Identity.create(
        unit_code=request.unit.code,
        unit_name=request.unit.name,
        period=request.period.code,
        tables=request.table_ids,
        spec_version=spec.version,
        key=key,
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
    fmt = _Formats(wb)

    guide = wb.add_worksheet(GUIDE_SHEET)
    sheets = {lay.table.id: wb.add_worksheet(lay.sheet) for lay in layouts}
    selfcheck = wb.add_worksheet(SELF_CHECK_SHEET)
    lists = wb.add_worksheet(LISTS_SHEET)
    checks = wb.add_worksheet(CHECK_SHEET)
    ident_sheet = wb.add_worksheet(IDENTITY_SHEET)

    _write_lists(wb, lists, spec)
    if request.previous:
        for lay in layouts:
            if lay.table.kind == "keyed" and request.previous.get(lay.table.id):
                _write_prev(wb, lay, request.previous[lay.table.id], password)
    for lay in layouts:
        _write_table(sheets[lay.table.id], lay, data.tables[lay.table.id].rows, data.tables[lay.table.id].total, ctx, fmt, request)
    check_cols = _write_checks(checks, ctx, rules, results, data)
    _write_selfcheck(selfcheck, ctx, rules, results, check_cols, data, fmt, request)
    for lay in layouts:
        _conditional_formats(sheets[lay.table.id], lay, check_cols, wb)
    _write_guide(guide, spec, request, layouts, fmt)
    _write_identity(ident_sheet, identity, fmt)

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


def _is_prefilled(col: Column, request: IssueRequest, table_id: str) -> bool:
    return bool(col.carry_from and request.previous and request.previous.get(table_id))


def _cached(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value


def _write_value(ws, row: int, col: int, value: Any, cell_format: Any, column: Column) -> None:
    if value is None or value == "":
        ws.write_blank(row, col, None, cell_format)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, cell_format)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, cell_format)
    else:
        ws.write_string(row, col, str(value), cell_format)


# -- table sheets -------------------------------------------------------


def _width(col: Column) -> float:
    return col.width or DEFAULT_WIDTH.get(col.type, 10)


def _lines_needed(text: str, width_chars: float) -> int:
    per_line = max(1.0, width_chars / 2.0)  # CJK characters are two width units
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


def line_slots(layout: TableLayout, items: tuple[str, ...], with_period: bool) -> list[tuple[int, int, int, int]]:
    """(label first col, label last col, value first col, value last col) per item of a top/bottom line.

    The line is cut into equal segments; each label spans as many columns as
    its text needs, so a long label such as 填表单位（盖章） is never clipped.
    """
    n = len(items) + (1 if with_period else 0)
    if n == 0:
        return []
    widths = [_width(c) for c in layout.table.columns]
    labels = list(items) + (["报告期"] if with_period else [])
    seg = max(2, layout.ncols // n)
    slots = []
    for i, label in enumerate(labels):
        start = i * seg
        last = layout.ncols - 1 if i == n - 1 else start + seg - 1
        need, span, label_last = 2 * (len(label) + 1) + 1, 0.0, start
        while label_last < last - 1:
            span += widths[label_last]
            if span >= need:
                break
            label_last += 1
        slots.append((start, label_last, label_last + 1, max(label_last + 1, last)))
    return slots


def _write_line(ws, row: int, layout: TableLayout, items: tuple[str, ...], request: IssueRequest, fmt: _Formats, *, top: bool) -> None:
    slots = line_slots(layout, items, with_period=top)
    values = request.line_values.get(layout.table.id, {})
    for i, (label_first, label_last, first, last) in enumerate(slots):
        if top and i == len(items):
            label, value, cell_format = "报告期", request.period.label, fmt.line_value
        else:
            label = items[i]
            if top and i == 0:
                value, cell_format = request.unit.name, fmt.line_value
            else:
                value = values.get(label, "")
                cell_format = fmt.line_date if "日期" in label else fmt.line_input
        if label_last > label_first:
            ws.merge_range(row, label_first, row, label_last, f"{label}：", fmt.line_label)
        else:
            ws.write_string(row, label_first, f"{label}：", fmt.line_label)
        if isinstance(value, date):
            value = excel_serial(value)
        if last > first:
            ws.merge_range(row, first, row, last, "", cell_format)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(row, first, value, cell_format)
        else:
            ws.write_string(row, first, str(value), cell_format)


def _write_table(ws, layout: TableLayout, rows, total, ctx: ExcelContext, fmt: _Formats, request: IssueRequest) -> None:
    table = layout.table
    widths = [_width(c) for c in table.columns]
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    last_col = layout.ncols - 1
    ws.write_string(0, 0, table.name, fmt.plain)
    ws.merge_range(TITLE_ROW, 0, TITLE_ROW, last_col, table.title, fmt.title)
    ws.set_row(TITLE_ROW, 24 * (table.title.count("\n") + 1) + 6)
    if table.top_line:
        _write_line(ws, TOP_LINE_ROW, layout, table.top_line, request, fmt, top=True)
    for r0, c0, r1, c1, text in layout.header_cells():
        if (r0, c0) == (r1, c1):
            ws.write_string(r0, c0, text, fmt.header)
        else:
            ws.merge_range(r0, c0, r1, c1, text, fmt.header)
    for level in range(layout.depth):
        lines = max((t.count("\n") + 1 for r0, _, r1, _, t in layout.header_cells() if r0 == HEADER_TOP + level), default=1)
        ws.set_row(HEADER_TOP + level, 14 * (lines if layout.depth == 1 else max(2, lines)) + 4)

    if table.kind == "scoring":
        _write_scoring_rows(ws, layout, rows, total, ctx, fmt)
    else:
        for i, values in enumerate(rows):
            r = layout.first_data + i
            for c, col in enumerate(table.columns):
                value = values.get(col.id)
                if col.type == "key":
                    ws.write(r, c, value, fmt.label if col.role == "seq" else fmt.label_left)
                elif col.formula is not None:
                    formula = "=" + ctx.compile(col.formula, table.id, r, "row", home=layout.sheet)
                    ws.write_formula(r, c, formula, fmt.column(col), _cached(value))
                elif _is_prefilled(col, request, table.id):
                    _write_value(ws, r, c, value, fmt.number(col.type, col.decimals, locked=True), col)
                else:
                    _write_value(ws, r, c, value, fmt.column(col), col)
            if table.kind != "records":
                ws.set_row(r, 16 * (layout.rows[i].label.count("\n") + 1) + 2)
        if layout.total_row is not None:
            _write_total_row(ws, layout, total, ctx, fmt)
        _validations(ws, layout, request)

    notes_row = layout.notes_row
    if table.notes:
        ws.merge_range(notes_row, 0, notes_row, last_col, table.notes, fmt.wrap)
        ws.set_row(notes_row, 14 * _lines_needed(table.notes, sum(widths)) + 4)
    if table.bottom_line:
        _write_line(ws, layout.bottom_row, layout, table.bottom_line, request, fmt, top=False)

    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_TOP, layout.first_data - 1)
    ws.print_area(0, 0, layout.bottom_row, last_col)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.freeze_panes(layout.first_data, 0)


def _write_total_row(ws, layout: TableLayout, total, ctx: ExcelContext, fmt: _Formats) -> None:
    table = layout.table
    r = layout.total_row
    for c, col in enumerate(table.columns):
        value = total.get(col.id)
        cell_format = fmt.column(col, total=True)
        if col.role == "label":
            ws.write_string(r, c, table.total_label or "合计", fmt.header)
        elif col.type == "key":
            ws.write_blank(r, c, None, fmt.header)
        elif col.total == "sum":
            ws.write_formula(r, c, f"=SUM({layout.column_range(col.id, sheet=False)})", cell_format, _cached(value))
        elif col.total_formula is not None or col.formula is not None:
            node = col.total_formula or col.formula
            formula = "=" + ctx.compile(node, table.id, r, "total", home=layout.sheet)
            ws.write_formula(r, c, formula, cell_format, _cached(value))
        else:
            ws.write_blank(r, c, None, cell_format)


def _write_scoring_rows(ws, layout: TableLayout, rows, total, ctx: ExcelContext, fmt: _Formats) -> None:
    table = layout.table
    cols = layout.col_index
    score_col, sub_col = cols["score"], cols["subtotal"]
    standard_width = table.column("standard").width or 60
    for group in table.groups:
        first = layout.row_of(group.items[0].key)
        last = layout.row_of(group.items[-1].key)
        for c, text in ((cols["seq"], str(group.no)), (cols["target"], group.label)):
            if last > first:
                ws.merge_range(first, c, last, c, text, fmt.label)
            else:
                ws.write_string(first, c, text, fmt.label)
        score_range = f"{a1(first, score_col)}:{a1(last, score_col)}"
        sub_value = rows[first - layout.first_data].get("subtotal")
        sub_format = fmt.number("decimal", 1, locked=True, total=True)
        if last > first:
            ws.merge_range(first, sub_col, last, sub_col, "", sub_format)
        ws.write_formula(first, sub_col, f"=SUM({score_range})", sub_format, _cached(sub_value))
        for item in group.items:
            r = layout.row_of(item.key)
            values = rows[r - layout.first_data]
            ws.write_string(r, cols["item"], item.label, fmt.label_left)
            ws.write_string(r, cols["standard"], item.standard, fmt.label_left)
            ws.write_number(r, cols["points"], item.points, fmt.number("decimal", 1, locked=True))
            _write_value(ws, r, score_col, values.get("score"), fmt.number("decimal", 1, locked=False), table.column("score"))
            ws.data_validation(
                r, score_col, r, score_col,
                {
                    "validate": "decimal", "criteria": "between", "minimum": 0, "maximum": item.points,
                    "input_title": "得分", "input_message": f"填写0至{item.points:g}之间的分数（不倒扣分）。",
                    "error_title": "得分超出范围", "error_message": f"本项分值为{item.points:g}分，得分应在0至{item.points:g}之间。",
                },
            )
            ws.set_row(r, 14 * _lines_needed(item.standard, standard_width) + 4)
    r = layout.total_row
    ws.merge_range(r, 0, r, cols["standard"], table.total_label or "合计", fmt.header)
    total_fmt = fmt.number("decimal", 1, locked=True, total=True)
    for cid in ("points", "score", "subtotal"):
        c = cols[cid]
        rng = f"{a1(layout.first_data, c)}:{a1(layout.last_data, c)}"
        ws.write_formula(r, c, f"=SUM({rng})", total_fmt, _cached(total.get(cid)))


def _validations(ws, layout: TableLayout, request: IssueRequest) -> None:
    first, last = layout.first_data, layout.last_data
    for col in layout.table.input_columns:
        if _is_prefilled(col, request, layout.table.id):
            continue
        c = layout.col(col.id)
        unit = f"（单位：{col.unit}）" if col.unit else ""
        name = col.label[:28]
        if col.type == "integer":
            v = {"validate": "integer", "criteria": ">=", "value": 0,
                 "input_message": f"填写不小于0的整数{unit}。没有的填0。", "error_message": "这里只能填写不小于0的整数。"}
        elif col.type in ("decimal", "percent"):
            lo = col.min if col.min is not None else 0
            if col.max is not None:
                v = {"validate": "decimal", "criteria": "between", "minimum": lo, "maximum": col.max,
                     "input_message": f"填写{lo:g}～{col.max:g}之间的数值{unit}，不带%号。", "error_message": f"这里只能填写{lo:g}～{col.max:g}之间的数值。"}
            else:
                v = {"validate": "decimal", "criteria": ">=", "value": lo,
                     "input_message": f"填写不小于{lo:g}的数值{unit}。", "error_message": f"这里只能填写不小于{lo:g}的数值。"}
        elif col.type == "date":
            v = {"validate": "date", "criteria": "between", "minimum": MIN_DATE, "maximum": MAX_DATE,
                 "input_message": "填写日期，如 2025-09-30。", "error_message": "这里只能填写2000年至2099年之间的日期，如 2025-09-30。"}
        elif col.type == "choice":
            v = {"validate": "list", "source": f"={list_name(col.choices)}",
                 "input_message": "请从下拉列表中选择。", "error_message": "请从下拉列表中选择一项。"}
            if not col.strict:
                v["error_type"] = "warning"
                v["input_message"] = "请从下拉列表中选择；确有其他情况可直接填写。"
                v["error_message"] = "所填内容不在下拉列表中，确认要这样填写吗？"
        else:
            v = {"validate": "length", "criteria": "<=", "value": 500,
                 "input_message": "填写文字，最多500字。" + ("本项必填。" if col.required else ""), "error_message": "内容过长（最多500字）。"}
        v["input_title"] = name
        v["error_title"] = "填写有误"
        v["ignore_blank"] = True
        ws.data_validation(first, c, last, c, v)


def _conditional_formats(ws, layout: TableLayout, check_cols: list[CheckColumn], wb) -> None:
    red = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
    yellow = wb.add_format({"bg_color": "#FFEB9C", "font_color": "#9C5700"})
    for cc in check_cols:
        rule = cc.rule
        if rule.table != layout.table.id:
            continue
        cell_format = red if rule.severity == "E" else yellow
        if rule.scope == "row":
            c = layout.col(rule.target)
            helper = f"{quote_sheet(CHECK_SHEET)}!{a1(cc.first_row, cc.col, abs_row=False)}"
            ws.conditional_format(layout.first_data, c, layout.last_data, c,
                                  {"type": "formula", "criteria": f"={helper}=0", "format": cell_format})
        else:
            r, c = layout.target_cell(rule.target)
            helper = f"{quote_sheet(CHECK_SHEET)}!{a1(cc.first_row, cc.col)}"
            ws.conditional_format(r, c, r, c, {"type": "formula", "criteria": f"={helper}=0", "format": cell_format})


# -- helper and self-check sheets --------------------------------------


def _write_checks(ws, ctx: ExcelContext, rules: list[Rule], results, data: WorkbookData) -> list[CheckColumn]:
    outcome: dict[tuple[str, int | None], bool] = {}
    for res in results:
        outcome[(rule_key(res.rule), res.row)] = res.status != "fail"
    out: list[CheckColumn] = []
    col = 0
    for rule in rules:
        if ctx.compilable(rule) is not None:
            continue
        layout = ctx.layouts[rule.table]
        ws.write_string(0, col, f"{rule.table}:{rule.code}:{rule.target}")
        if rule.scope == "row":
            rows = range(layout.first_data, layout.last_data + 1)
            for i, (r, formula) in enumerate(zip(rows, ctx.rule_cell_formulas(rule, rows))):
                ok = outcome.get((rule_key(rule), i), True)
                ws.write_formula(r, col, formula, None, 1 if ok else 0)
            out.append(CheckColumn(rule, col, layout.first_data, layout.last_data))
        else:
            ok = outcome.get((rule_key(rule), None), True)
            ws.write_formula(1, col, ctx.rule_cell_formula(rule, None), None, 1 if ok else 0)
            out.append(CheckColumn(rule, col, 1, 1))
        col += 1
    return out


def _write_selfcheck(ws, ctx: ExcelContext, rules, results, check_cols, data, fmt: _Formats, request: IssueRequest) -> None:
    by_key = {rule_key(cc.rule): cc for cc in check_cols}
    summary = summarize(results)
    header_fmt = fmt.header
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 8)
    ws.set_column(2, 2, 7)
    ws.set_column(3, 3, 14)
    ws.set_column(4, 4, 52)
    ws.set_column(5, 5, 6)
    ws.set_column(6, 6, 7)
    ws.set_column(7, 7, 30)
    ws.set_column(8, 8, 40)
    ws.merge_range(0, 0, 0, 8, "自查结果（打开、填写时自动计算；上报前请确认强制性问题全部为 ✓）", fmt.title)
    ws.set_row(0, 30)
    first_rule_row = SELF_CHECK_HEADER_ROW + 1
    last_rule_row = first_rule_row + len(rules) - 1
    cat_rng = f"{a1(first_rule_row, 2)}:{a1(last_rule_row, 2)}"
    res_rng = f"{a1(first_rule_row, RESULT_COL)}:{a1(last_rule_row, RESULT_COL)}"
    note_rng = f"{a1(first_rule_row, NOTE_COL)}:{a1(last_rule_row, NOTE_COL)}"
    e_fail = sum(1 for r in rules if r.severity == "E" and summary.get(rule_key(r), (0, None))[0] > 0 and rule_key(r) in by_key)
    w_open = sum(
        1 for r in rules
        if r.severity == "W" and summary.get(rule_key(r), (0, None))[0] > 0 and rule_key(r) in by_key
        and not request.notes.get(rule_key(r), "").strip()
    )
    ws.write_string(1, 0, "强制性问题（必须改正）：", fmt.ok_big)
    ws.write_formula(1, 3, f'=COUNTIFS({cat_rng},"强制性",{res_rng},"✗")', fmt.ok_big, e_fail)
    ws.write_string(2, 0, "核实性问题（未写说明的）：", fmt.ok_big)
    ws.write_formula(
        2, 3, f'=SUMPRODUCT(({cat_rng}="核实性")*({res_rng}="✗")*(LEN(TRIM({note_rng}))=0))', fmt.ok_big, w_open
    )
    status = "可以上报" if e_fail == 0 and w_open == 0 else "尚有问题，请按下表改正或说明"
    ws.write_formula(1, 4, '=IF(AND(D2=0,D3=0),"可以上报","尚有问题，请按下表改正或说明")', fmt.ok_big, status)
    ws.write_string(3, 0, "“✗”表示未通过；双击“首个问题单元格”所指位置修改。核实性问题如确属实际情况，请在“说明”栏写明具体原因（不要只写“已核实”）。", fmt.small)
    for c, text in enumerate(SELF_CHECK_COLUMNS):
        ws.write_string(SELF_CHECK_HEADER_ROW, c, text, header_fmt)
    cell_fmt = fmt.label_left
    centre = fmt.label
    note_fmt = fmt.number("text", None, locked=False)
    for i, rule in enumerate(rules):
        r = first_rule_row + i
        layout = ctx.layouts[rule.table]
        ws.write_number(r, 0, i + 1, centre)
        ws.write_string(r, 1, rule.code, centre)
        ws.write_string(r, 2, rule.severity_text, centre)
        ws.write_string(r, 3, layout.table.name, centre)
        ws.write_string(r, 4, rule.message, cell_fmt)
        fails, first = summary.get(rule_key(rule), (0, None))
        cc = by_key.get(rule_key(rule))
        if cc is None:
            ws.write_string(r, RESULT_COL, "—", centre)
            ws.write_string(r, 6, "", centre)
            ws.write_string(r, 7, ctx.compilable(rule) or "", cell_fmt)
        else:
            count_cell = a1(r, 6)
            ws.write_formula(r, 6, f"=COUNTIF({cc.range},0)", centre, fails)
            ws.write_formula(r, RESULT_COL, f'=IF({count_cell}=0,"✓","✗")', centre, "✓" if fails == 0 else "✗")
            if rule.scope == "row":
                tcol = layout.col(rule.target)
                formula = (
                    f'=IF({count_cell}=0,"","{layout.sheet}!"&ADDRESS(MATCH(0,{cc.range},0)+{layout.first_data},{tcol + 1},4))'
                )
                cached = "" if first is None else f"{layout.sheet}!{a1(layout.first_data + first, tcol, abs_row=False, abs_col=False)}"
            else:
                tr, tc = layout.target_cell(rule.target)
                cell_text = f"{layout.sheet}!{a1(tr, tc, abs_row=False, abs_col=False)}"
                formula = f'=IF({count_cell}=0,"","{cell_text}")'
                cached = "" if fails == 0 else cell_text
            ws.write_formula(r, 7, formula, cell_fmt, cached)
        ws.write_string(r, NOTE_COL, request.notes.get(rule_key(rule), ""), note_fmt)
    red = fmt._wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006", "bold": True})
    ws.conditional_format(first_rule_row, RESULT_COL, last_rule_row, RESULT_COL,
                          {"type": "cell", "criteria": "==", "value": '"✗"', "format": red})
    ws.autofilter(SELF_CHECK_HEADER_ROW, 0, last_rule_row, 8)
    ws.freeze_panes(SELF_CHECK_HEADER_ROW + 1, 0)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(SELF_CHECK_HEADER_ROW)


def _write_lists(wb, ws, spec: Spec) -> None:
    for c, (cid, choice) in enumerate(spec.choices.items()):
        ws.write_string(0, c, choice.label)
        for r, value in enumerate(choice.values, start=1):
            ws.write_string(r, c, value)
        wb.define_name(list_name(cid), f"={quote_sheet(LISTS_SHEET)}!{a1(1, c)}:{a1(len(choice.values), c)}")


def _write_prev(wb, layout: TableLayout, prev_rows: dict[str, dict[str, Any]], password: str) -> None:
    ws = wb.add_worksheet(prev_sheet(layout.table.id))
    for i, row in enumerate(layout.rows):
        r = layout.first_data + i
        ws.write_string(r, 0, row.key)
        for col in layout.table.columns:
            if col.is_numeric and col.id in prev_rows.get(row.key, {}):
                ws.write_number(r, layout.col(col.id), prev_rows[row.key][col.id] or 0)
    ws.hide()
    ws.protect(password, PROTECT_OPTIONS)


def _write_identity(ws, identity: Identity, fmt: _Formats) -> None:
    ws.write_string(0, 0, "qtables 模板标识（请勿修改）")
    for r, (k, v) in enumerate(identity.as_pairs(), start=1):
        ws.write_string(r, 0, k)
        ws.write_string(r, 1, v)
    ws.write_string(len(identity.as_pairs()) + 1, 0, "generator")
    ws.write_string(len(identity.as_pairs()) + 1, 1, f"qtables {__version__}")


def _write_guide(ws, spec: Spec, request: IssueRequest, layouts: list[TableLayout], fmt: _Formats) -> None:
    ws.set_column(0, 0, 110)
    lines = [
        ("填表说明", fmt.title),
        (f"{request.unit.name}　{request.period.label}　建设工程质量分析报告附表", fmt.ok_big),
        ("一、本工作簿包含：" + "、".join(f"{lay.table.name}《{lay.table.title.replace(chr(10), '')}》" for lay in layouts), fmt.wrap),
        ("二、只能在浅黄色单元格中填写；灰色单元格（表头、单位、报告期、合计、比率）已锁定并自动计算，请勿改动表格结构（不要插入、删除行列或重命名工作表）。", fmt.wrap),
        ("三、数字栏没有发生的填 0；面积栏注意单位：附表3、附表4 为“平方米”，附表5–7 为“万㎡”；造价、经济损失为“万元”；百分比只填数字，不带 % 号。", fmt.wrap),
        ("四、填写完毕后请查看“自查”表：强制性问题（红色）必须改正；核实性问题（黄色）如确属实际情况，请在“说明”栏写明具体原因。", fmt.wrap),
        ("五、请勿另存为其他格式或复制内容到新工作簿；直接将本文件作为电子邮件附件上报（第十六条），并按要求加盖公章的纸质件另行报送。", fmt.wrap),
        ("", fmt.plain),
        ("附：制度原文的填表说明", fmt.ok_big),
    ]
    for lay in layouts:
        if lay.table.notes:
            lines.append((f"{lay.table.name}：{lay.table.notes}", fmt.wrap))
    if any(lay.table.kind == "scoring" for lay in layouts):
        for w in spec.warnings:
            lines.append((f"提示：{w}", fmt.wrap))
    lines += [("", fmt.plain), (f"规格版本 {spec.version}；由 qtables {__version__} 生成。", fmt.small)]
    for r, (text, cell_format) in enumerate(lines):
        ws.write_string(r, 0, text, cell_format)
        if text and cell_format is fmt.wrap:
            ws.set_row(r, 14 * _lines_needed(text, 110) + 4)
        elif cell_format is fmt.title:
            ws.set_row(r, 30)
    ws.set_portrait()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
