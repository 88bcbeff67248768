"""Writing the 附表 sheets: headers, rows, totals, lines above and below, validations, conditional formats."""

from __future__ import annotations

import math
from datetime import date
from typing import Any


from qtables.issue.selfcheck import CheckColumn, ExcelContext
from qtables.template.names import (
    CHECK_SHEET,
)
from qtables.template.layout import HEADER_TOP, TITLE_ROW, TOP_LINE_ROW, TableLayout, a1, label_lines, lines_needed, quote_sheet
from qtables.period import excel_serial
from qtables.spec.expr import list_name
from qtables.spec.model import Column
from qtables.issue.request import MAX_DATE, MIN_DATE, IssueRequest
from qtables.template import paper
from qtables.template.lines import column_width, form_text, label_need, line_slots  # noqa: F401 - used here and by the tests
from qtables.issue.formats import Formats, write_formula


def is_prefilled(col: Column, request: IssueRequest, table_id: str) -> bool:
    return bool(col.carry_from and request.previous and request.previous.get(table_id))


def cached_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value


def write_value(ws, row: int, col: int, value: Any, cell_format: Any, column: Column) -> None:
    if value is None or value == "":
        ws.write_blank(row, col, None, cell_format)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, cell_format)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, cell_format)
    else:
        ws.write_string(row, col, str(value), cell_format)


def points_note(item) -> str:
    """The visible note beside a standard whose text states other points than its 分值 column (带班制度: 5 vs 4)."""
    if item.stated_points is None or abs(item.stated_points - item.points) < 1e-9:
        return ""
    return (f"〔注：办法原文此处写“记{item.stated_points:g}分”，分值栏为{item.points:g}分，二者不一致；"
            f"本表按分值栏{item.points:g}分评分：先按原文从{item.stated_points:g}分扣分，得分 = min({item.points:g}，"
            f"{item.stated_points:g} − 扣分)，扣完为止，不倒扣分。〕")


def write_line(ws, row: int, layout: TableLayout, items: tuple[str, ...], request: IssueRequest, fmt: Formats, *, top: bool) -> None:
    values = request.line_values.get(layout.table.id, {})
    slots = line_slots(layout, items, with_period=top)
    widths = [column_width(c) for c in layout.table.columns]
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
        label_format = fmt.line_label if sum(widths[label_first:label_last + 1]) >= label_need(label) else fmt.line_label_tight
        if label_last > label_first:
            ws.merge_range(row, label_first, row, label_last, f"{label}：", label_format)
        else:
            ws.write_string(row, label_first, f"{label}：", label_format)
        if isinstance(value, date):
            value = excel_serial(value)
        if last > first:
            ws.merge_range(row, first, row, last, "", cell_format)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(row, first, value, cell_format)
        else:
            ws.write_string(row, first, str(value), cell_format)


def write_table(ws, layout: TableLayout, rows, total, ctx: ExcelContext, fmt: Formats, request: IssueRequest,
                spec_form: dict | None = None) -> None:
    table = layout.table
    widths = [column_width(c) for c in table.columns]
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    last_col = layout.ncols - 1
    page, lead = paper.table_plan(layout, widths)
    # Split across pages, the title and the notes start after the label columns every page repeats (merged from
    # column A they would be drawn again, cut, on the next page across).
    start = lead if page.breaks else 0
    ws.write_string(0, 0, table.name, fmt.plain)
    # The form line starts past the columns the table's name (附表5, 附件2附表) runs over, so it cannot cut the name.
    name_cols = 1
    while name_cols < last_col and sum(widths[:name_cols]) < label_need(table.name):
        name_cols += 1
    form_line = form_text(spec_form or {}, request.form, table.id)
    if form_line and last_col >= name_cols + 1:
        ws.merge_range(0, max(start + 1, name_cols, last_col - max(6, last_col // 2)), 0, last_col, form_line, fmt.form_line)
    title_last = page.breaks[0] - 1 if page.breaks else last_col
    ws.merge_range(TITLE_ROW, start, TITLE_ROW, title_last, table.title, fmt.title)
    ws.set_row(TITLE_ROW, 24 * (table.title.count("\n") + 1) + 6)
    if table.top_line:
        write_line(ws, TOP_LINE_ROW, layout, table.top_line, request, fmt, top=True)
    headers = [(r0, c0, r1, c1, text if "\n" in text else label_lines(text, sum(widths[c0:c1 + 1])))
               for r0, c0, r1, c1, text in layout.header_cells()]
    for r0, c0, r1, c1, text in headers:
        if (r0, c0) == (r1, c1):
            ws.write_string(r0, c0, text, fmt.header)
        else:
            ws.merge_range(r0, c0, r1, c1, text, fmt.header)
    for level in range(layout.depth):
        lines = max((t.count("\n") + 1 for r0, _, r1, _, t in headers if r0 == HEADER_TOP + level), default=1)
        ws.set_row(HEADER_TOP + level, 14 * (lines if layout.depth == 1 else max(2, lines)) + 4)

    if table.kind == "scoring":
        heights = _write_scoring_rows(ws, layout, rows, total, ctx, fmt)
    else:
        label_width = next((w for w, col in zip(widths, table.columns) if col.role == "label"), None)
        for i, values in enumerate(rows):
            r = layout.first_data + i
            for c, col in enumerate(table.columns):
                value = values.get(col.id)
                if col.type == "key":
                    if table.kind != "records" and col.role == "label" and isinstance(value, str) and label_width:
                        value = label_lines(value, label_width)
                    ws.write(r, c, value, fmt.label if col.role == "seq" else fmt.label_left)
                elif col.formula is not None:
                    formula = "=" + ctx.compile(col.formula, table.id, r, "row", home=layout.sheet)
                    write_formula(ws, r, c, formula, fmt.column(col), cached_value(value))
                elif is_prefilled(col, request, table.id):
                    write_value(ws, r, c, value, fmt.number(col.type, col.decimals, locked=True), col)
                else:
                    write_value(ws, r, c, value, fmt.column(col), col)
            if table.kind != "records":
                label = label_lines(layout.rows[i].label, label_width) if label_width else layout.rows[i].label
                ws.set_row(r, 16 * (lines_needed(label, label_width) if label_width else label.count("\n") + 1) + 2)
        if layout.total_row is not None:
            _write_total_row(ws, layout, total, ctx, fmt)
        _validations(ws, layout, request)

    notes_row = layout.notes_row
    notes = table.printed_notes
    if notes:
        notes_last = title_last if page.breaks else last_col
        ws.merge_range(notes_row, start, notes_row, notes_last, notes, fmt.wrap)
        ws.set_row(notes_row, 14 * lines_needed(notes, sum(widths[start:notes_last + 1])) + 4)
    if table.bottom_line:
        write_line(ws, layout.bottom_row, layout, table.bottom_line, request, fmt, top=False)

    # A4 landscape at a readable scale (never below 70 %: the 10 pt type at least 7 pt), split across pages at the
    # header's groups with the row labels repeated; pages numbered per sheet, so a table printed alone starts at 1.
    paper.apply(ws, page, paper="A4", lead=lead, header_rows=(HEADER_TOP, layout.first_data - 1), footer="&C&A　第 &P 页")
    if table.kind == "scoring":
        # A scoring group (建设主管部门, 施工企业 …) starts a new page rather than being cut, where it fits on one.
        header = 32.0 * layout.depth  # each header level: two lines of 14 pt and padding (as set above)
        top = 15 + 24 * (table.title.count("\n") + 1) + 6 + 15 + header
        groups = [[heights[layout.row_of(item.key)] for item in group.items] for group in table.groups]
        tail = 15 + (14 * lines_needed(notes, sum(widths)) + 4 if notes else 0) + 15
        cuts = paper.keep_together(groups, top=top, header=header, tail=tail, scale=page.scale, paper="A4")
        if cuts:
            ws.set_h_pagebreaks([layout.first_data + c for c in cuts])
    ws.print_area(0, 0, layout.bottom_row, last_col)
    ws.freeze_panes(layout.first_data, 0)


def _write_total_row(ws, layout: TableLayout, total, ctx: ExcelContext, fmt: Formats) -> None:
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
            write_formula(ws, r, c, f"=SUM({layout.column_range(col.id, sheet=False)})", cell_format, cached_value(value))
        elif col.total_formula is not None or col.formula is not None:
            node = col.total_formula or col.formula
            formula = "=" + ctx.compile(node, table.id, r, "total", home=layout.sheet)
            write_formula(ws, r, c, formula, cell_format, cached_value(value))
        else:
            ws.write_blank(r, c, None, cell_format)


def _write_scoring_rows(ws, layout: TableLayout, rows, total, ctx: ExcelContext, fmt: Formats) -> dict[int, float]:
    """The scoring rows; returns each row's height (points), for the page breaks that keep a group together."""
    table = layout.table
    heights: dict[int, float] = {}
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
        write_formula(ws, first, sub_col, f"=SUM({score_range})", sub_format, cached_value(sub_value))
        for item in group.items:
            r = layout.row_of(item.key)
            values = rows[r - layout.first_data]
            ws.write_string(r, cols["item"], item.label, fmt.label_left)
            standard = item.standard + (f"\n{points_note(item)}" if points_note(item) else "")
            if not layout.rows[r - layout.first_data].applicable:
                # 层级检查 for a unit with no 县（市） under it: it cannot earn the points, so they are not counted
                standard += (f"\n〔本单位没有下辖县（市），本项不适用：不计分，分值记0，满分相应减少{item.points:g}分；"
                             f"折算百分制得分＝合计得分÷合计分值×100。〕")
                ws.write_string(r, cols["standard"], standard, fmt.label_left)
                ws.write_number(r, cols["points"], 0, fmt.number("decimal", 1, locked=True))
                ws.write_number(r, score_col, 0, fmt.number("decimal", 1, locked=True))
                ws.set_row(r, 14 * lines_needed(standard, standard_width) + 4)
                heights[r] = 14 * lines_needed(standard, standard_width) + 4
                continue
            ws.write_string(r, cols["standard"], standard, fmt.label_left)
            ws.write_number(r, cols["points"], item.points, fmt.number("decimal", 1, locked=True))
            write_value(ws, r, score_col, values.get("score"), fmt.number("decimal", 1, locked=False), table.column("score"))
            ws.data_validation(
                r, score_col, r, score_col,
                {
                    "validate": "decimal", "criteria": "between", "minimum": 0, "maximum": item.points,
                    "input_title": "得分", "input_message": f"填写0至{item.points:g}之间的分数（不倒扣分）。",
                    "error_title": "得分超出范围", "error_message": f"本项分值为{item.points:g}分，得分应在0至{item.points:g}之间。",
                },
            )
            ws.set_row(r, 14 * lines_needed(standard, standard_width) + 4)
            heights[r] = 14 * lines_needed(standard, standard_width) + 4
    r = layout.total_row
    ws.merge_range(r, 0, r, cols["standard"], table.total_label or "合计", fmt.header)
    total_fmt = fmt.number("decimal", 1, locked=True, total=True)
    for cid in ("points", "score", "subtotal"):
        c = cols[cid]
        rng = f"{a1(layout.first_data, c)}:{a1(layout.last_data, c)}"
        write_formula(ws, r, c, f"=SUM({rng})", total_fmt, cached_value(total.get(cid)))
    return heights


def _validations(ws, layout: TableLayout, request: IssueRequest) -> None:
    first, last = layout.first_data, layout.last_data
    for col in layout.table.input_columns:
        if is_prefilled(col, request, layout.table.id):
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


def conditional_formats(ws, layout: TableLayout, check_cols: list[CheckColumn], wb) -> None:
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
