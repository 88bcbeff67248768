"""The master's figure sheets: 附表5/7 summary and detail, 附表6 categories, 附表1–4 records, scoring."""

from __future__ import annotations

import re
from typing import Any


from qtables.template.layout import a1, quote_sheet
from qtables.spec.model import Table
from qtables.status import STATUS_TEXT, display_width
from qtables.merge.figures import derive_row, iter_units, total_row, unit_row
from qtables.merge.forms import FORM_TOP, FormContext, coverage_note, form_bottom, form_top
from qtables.template import paper
from qtables.template.lines import column_width
from qtables.merge.sheetkit import (
    HEADER_ROW,
    title_span,
    form_header,
    form_height,
    header_layout,
    keep_form_tail,
    row_height,
    wrapped_row,
    SheetWriter,
    cached,
    print_setup,
    value_columns,
    value_width,
    write_header,
    write_num,
    write_text,
)


def keyed_summary(wb, fmt, table: Table, name: str, ledger, registry, period, scope, form: FormContext):
    """附表5/附表7 as the 办法 prints it, filled by the province: one row per reporting unit (its 合计), the
    全省合计, what the total leaves out, the 填表说明 and the lines to sign."""
    ws = wb.add_worksheet(name)
    cols = value_columns(table)
    keys = [c for c in table.columns if c.type == "key"]  # 序号, 市、县（市）名称
    sheet = SheetWriter(table, len(keys), cols)
    headers = [c.header for c in keys] + [c.header for c in cols] + [("报送\n状态",)]
    # Columns as wide as the widest figure they will show (the 合计), so no total prints as ###.
    totals_first = total_row(table, [r for d in iter_units(ledger, registry, period) if (r := unit_row(table, d.tables))])
    # 报送状态 as wide as 通过（待说明）.
    widths = [column_width(c) for c in keys] + figure_widths(cols, [totals_first]) + [14.0]
    span = title_span(fmt, widths, len(keys), headers)
    form_top(ws, fmt, table, form, widths, span=span)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    first = form_header(ws, fmt, headers, widths, top=FORM_TOP)
    n = len(registry.units)
    last = first + n - 1
    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    excluded: list[tuple[str, str]] = []
    status_col = len(keys) + len(cols)
    for i, data in enumerate(iter_units(ledger, registry, period)):
        r = first + i
        found = unit_row(table, data.tables)  # county rows, or the total an imported master gave
        unit_rows = [found] if found is not None else []
        row = found or {}
        ws.write_number(r, 0, i + 1, fmt.int)
        write_text(ws, r, len(keys) - 1, data.unit.name, fmt.text)
        for col in cols:
            c = sheet.col(col.id)
            if col.formula is not None or col.total_formula is not None:
                if unit_rows and col.formula is not None:
                    ws.write_formula(r, c, sheet.formula(col.formula, r, first=first, last=last, mode="row"), fmt.number(col),
                                     cached(row.get(col.id)))
                elif unit_rows:  # 满意率 of a unit: its weighted total over its county rows
                    write_num(ws, r, c, row.get(col.id), fmt.number(col))
                else:
                    ws.write_blank(r, c, None, fmt.number(col))
            else:
                write_num(ws, r, c, row.get(col.id) if unit_rows else None, fmt.number(col))
        sub = data.submission
        state = sub["status"] if sub else "missing"
        if not unit_rows:
            excluded.append((data.unit.name, state))
        write_text(ws, r, status_col, STATUS_TEXT.get(state, state), fmt.status.get(state, fmt.text))
        rows.append(row)
        labels.append(data.unit.name)
    t = last + 1
    totals = total_row(table, rows)
    for c in range(len(keys) - 1):
        ws.write_blank(t, c, None, fmt.total_text)
    ws.write_string(t, len(keys) - 1, f"{scope}合计", fmt.total_text)
    for col in cols:
        c = sheet.col(col.id)
        if col.total == "sum":
            ws.write_formula(t, c, f"=SUM({a1(first, c)}:{a1(last, c)})", fmt.number(col, "total"), cached(totals.get(col.id)))
        elif col.total_formula is not None or col.formula is not None:
            node = col.total_formula or col.formula
            ws.write_formula(t, c, sheet.formula(node, t, first=first, last=last, mode="total"), fmt.number(col, "total"),
                             cached(totals.get(col.id)))
        else:
            ws.write_blank(t, c, None, fmt.number(col, "total"))
    ws.write_blank(t, status_col, None, fmt.total_text)
    coverage = coverage_note(scope, excluded, n)
    bottom = form_bottom(ws, fmt, table, t + 1, widths, coverage=coverage, span=span)
    ws.print_area(0, 0, bottom, len(widths) - 1)
    page = print_setup(ws, fmt, widths, lead=len(keys), header_rows=(FORM_TOP, first - 1), boundaries=paper.group_starts(headers),
                       height=form_height(table, headers, n + 1, widths, coverage, span))
    keep_form_tail(ws, fmt, page, table, headers, n, first, widths, coverage, span)
    ws.freeze_panes(first, len(keys))
    return ws, {"rows": rows, "labels": labels, "first": first, "last": last, "total": t, "sheet": sheet, "totals": totals,
                "label_col": len(keys) - 1, "coverage": coverage, "excluded": excluded}


def keyed_detail(wb, fmt, table: Table, name: str, ledger, registry, period, scope, grand_total: dict[str, Any]) -> None:
    """Every county row grouped under its unit, with a 小计 per unit and the 合计 from the 小计 rows; the columns
    as wide as ``grand_total`` (the summary's 合计, the widest figures) needs."""
    ws = wb.add_worksheet(name)
    cols = value_columns(table)
    sheet = SheetWriter(table, 3, cols)
    kind_col = 3 + len(cols)
    headers = ["单位", "序号", "县（市、区）"] + [c.header for c in cols] + ["行类型"]
    widths = [10.0, 5.0, 12.0] + figure_widths(cols, [grand_total]) + [7.0]
    first_row = write_header(ws, fmt, f"{table.title}（{scope}明细）", f"报告期：{period.label}", headers, widths, lead=3)
    r = first_row
    subtotals: list[dict[str, Any]] = []
    excluded: list[tuple[str, str]] = []
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id, {})
        keys = [k for k in (rk.code for rk in data.unit.rows()) if k in rows]
        first = r
        for i, key in enumerate(keys):
            row = derive_row(table, dict(rows[key]))
            write_text(ws, r, 0, data.unit.name, fmt.text)
            ws.write_number(r, 1, i + 1, fmt.int)
            write_text(ws, r, 2, next((rk.label for rk in data.unit.rows() if rk.code == key), key), fmt.text)
            for col in cols:
                c = sheet.col(col.id)
                if col.formula is not None:
                    ws.write_formula(r, c, sheet.formula(col.formula, r, first=r, last=r, mode="row"), fmt.number(col), cached(row.get(col.id)))
                else:
                    write_num(ws, r, c, row.get(col.id), fmt.number(col))
            ws.write_string(r, kind_col, "明细", fmt.text)
            ws.set_row(r, None, None, {"level": 1})
            r += 1
        unit_rows = [rows[k] for k in keys]
        sub = total_row(table, unit_rows) if unit_rows else {}
        write_text(ws, r, 0, data.unit.name, fmt.sub_text)
        ws.write_blank(r, 1, None, fmt.sub_text)
        state = data.submission["status"] if data.submission else "missing"
        ws.write_string(r, 2, "小计" if unit_rows else f"小计（{STATUS_TEXT.get(state, state)}，未计入）", fmt.sub_text)
        for col in cols:
            c = sheet.col(col.id)
            if not unit_rows:
                ws.write_blank(r, c, None, fmt.number(col, "sub"))
            elif col.total == "sum":
                ws.write_formula(r, c, f"=SUM({a1(first, c)}:{a1(r - 1, c)})", fmt.number(col, "sub"), cached(sub.get(col.id)))
            elif col.total_formula is not None or col.formula is not None:
                ws.write_formula(r, c, sheet.formula(col.total_formula or col.formula, r, first=first, last=r - 1, mode="total"),
                                 fmt.number(col, "sub"), cached(sub.get(col.id)))
            else:
                ws.write_blank(r, c, None, fmt.number(col, "sub"))
        ws.write_string(r, kind_col, "小计", fmt.sub_text)
        if unit_rows:
            subtotals.append(sub)
        else:
            excluded.append((data.unit.name, state))
        r += 1
    totals = total_row(table, subtotals)
    last_row = r - 1
    kind_range = f"{a1(first_row, kind_col)}:{a1(last_row, kind_col)}"
    ws.write_blank(r, 0, None, fmt.total_text)
    ws.write_blank(r, 1, None, fmt.total_text)
    ws.write_string(r, 2, f"{scope}合计", fmt.total_text)
    for col in cols:
        c = sheet.col(col.id)
        rng = f"{a1(first_row, c)}:{a1(last_row, c)}"
        if col.total == "sum":
            ws.write_formula(r, c, f'=SUMIF({kind_range},"小计",{rng})', fmt.number(col, "total"), cached(totals.get(col.id)))
        elif col.id == "satisfaction_rate":
            filed = sheet.col("filed_count")
            frng = f"{a1(first_row, filed)}:{a1(last_row, filed)}"
            formula = (f'=IF(SUMIF({kind_range},"小计",{frng})=0,"",'
                       f'SUMPRODUCT(({kind_range}="小计")*1,{rng},{frng})/SUMIF({kind_range},"小计",{frng}))')
            ws.write_formula(r, c, formula, fmt.number(col, "total"), cached(totals.get(col.id)))
        elif col.formula is not None:
            ws.write_formula(r, c, sheet.formula(col.formula, r, first=r, last=r, mode="row"), fmt.number(col, "total"), cached(totals.get(col.id)))
        else:
            ws.write_blank(r, c, None, fmt.number(col, "total"))
    ws.write_string(r, kind_col, "合计", fmt.total_text)
    # What the 合计 leaves out, under it as on the summary (the 小计 rows say it unit by unit).
    start, last = title_span(fmt, widths, 3, headers)
    wrapped_row(ws, r + 1, start, last, coverage_note(scope, excluded, len(registry.units)), widths, fmt.coverage)
    ws.outline_settings(True, False, True, False)
    print_setup(ws, fmt, widths, lead=3, header_rows=(HEADER_ROW, first_row - 1), boundaries=paper.group_starts(headers))
    ws.freeze_panes(first_row, 3)


def categories(wb, fmt, table: Table, ledger, registry, period, scope, form: FormContext) -> None:
    """附表6: a per-unit 明细 sheet, and the summary as the 办法's form summing it by category with SUMIF."""
    cols = value_columns(table)
    detail = wb.add_worksheet(f"{table.name}明细")
    dsheet = SheetWriter(table, 2, cols)
    headers = ["单位", "项目"] + [c.header for c in cols]
    category_totals: dict[str, list[dict[str, Any]]] = {row.key: [] for row in table.fixed_rows}
    for data in iter_units(ledger, registry, period):  # a first pass for the widths: the largest figure is a total
        for key, row in data.tables.get(table.id, {}).items():
            category_totals.setdefault(key, []).append(derive_row(table, dict(row)))
    figures = figure_widths(cols, [total_row(table, rows) for rows in category_totals.values() if rows])
    dwidths = [10.0, 20.0] + figures
    first_detail = write_header(detail, fmt, f"{table.title}（各单位）", f"报告期：{period.label}", headers, dwidths, lead=2)
    r = first_detail
    sums: dict[str, list[dict[str, Any]]] = {row.key: [] for row in table.fixed_rows}
    excluded: list[tuple[str, str]] = []
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id, {})
        if not rows:
            excluded.append((data.unit.name, data.submission["status"] if data.submission else "missing"))
        for fixed in table.fixed_rows:
            if fixed.key not in rows:
                continue
            row = derive_row(table, dict(rows[fixed.key]))
            sums[fixed.key].append(row)
            write_text(detail, r, 0, data.unit.name, fmt.text)
            write_text(detail, r, 1, fixed.label.replace("\n", ""), fmt.text)
            for col in cols:
                c = dsheet.col(col.id)
                if col.formula is not None:
                    detail.write_formula(r, c, dsheet.formula(col.formula, r, first=r, last=r, mode="row"), fmt.number(col), cached(row.get(col.id)))
                else:
                    write_num(detail, r, c, row.get(col.id), fmt.number(col))
            r += 1
    last_detail = max(r - 1, first_detail)
    print_setup(detail, fmt, dwidths, lead=2, header_rows=(HEADER_ROW, first_detail - 1), boundaries=paper.group_starts(headers))
    ws = wb.add_worksheet(f"{table.name}汇总")
    keys = [c for c in table.columns if c.type == "key"]
    sheet = SheetWriter(table, len(keys), cols)
    sheaders = [c.header for c in keys] + [c.header for c in cols]
    widths = [max(22.0, column_width(c)) for c in keys] + figures
    span = title_span(fmt, widths, len(keys), sheaders)
    form_top(ws, fmt, table, form, widths, span=span)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    first = form_header(ws, fmt, sheaders, widths, top=FORM_TOP)
    label_rng = f"{quote_sheet(detail.name)}!{a1(first_detail, 1)}:{a1(last_detail, 1)}"
    for i, fixed in enumerate(table.fixed_rows):
        r = first + i
        label = fixed.label.replace("\n", "")
        total = total_row(table, sums[fixed.key])
        ws.set_row(r, row_height((label, widths[0])))
        write_text(ws, r, 0, label, fmt.wrap)
        for col in cols:
            c = sheet.col(col.id)
            if col.formula is not None:
                ws.write_formula(r, c, sheet.formula(col.formula, r, first=r, last=r, mode="row"), fmt.number(col), cached(total.get(col.id)))
            else:
                dcol = dsheet.col(col.id)
                rng = f"{quote_sheet(detail.name)}!{a1(first_detail, dcol)}:{a1(last_detail, dcol)}"
                value = sum(v for row in sums[fixed.key] if isinstance(v := row.get(col.id), (int, float)))
                ws.write_formula(r, c, f"=SUMIF({label_rng},{a1(r, 0)},{rng})", fmt.number(col), value)
    last = first + len(table.fixed_rows) - 1
    coverage = coverage_note(scope, excluded, len(registry.units)).replace("合计", "各分类合计", 1)
    bottom = form_bottom(ws, fmt, table, last + 1, widths, coverage=coverage, span=span)
    ws.print_area(0, 0, bottom, len(widths) - 1)
    page = print_setup(ws, fmt, widths, lead=len(keys), header_rows=(FORM_TOP, first - 1), boundaries=paper.group_starts(sheaders),
                       height=form_height(table, sheaders, len(table.fixed_rows) * 2, widths, coverage, span))
    keep_form_tail(ws, fmt, page, table, sheaders, len(table.fixed_rows), first, widths, coverage, span)


def figure_widths(cols, rows: list[dict[str, Any]]) -> list[float]:
    """Each figure column as wide as its spec says, or as the widest of these figures (a total) needs, so no
    number prints as ###."""
    return [max(column_width(c), max((value_width(r.get(c.id), c) for r in rows), default=0.0) + 1.5) for c in cols]


def record_widths(tables: list[Table], ledger, registry, period) -> dict[str, list[float]]:
    """The column widths of every 附表1–4 sheet, from one pass over the ledger (the rows are streamed after): the
    填报单位 as wide as the longest unit name, each column as wide as the longest word in it that cannot wrap."""
    out = {t.id: [10.0, 5.0] + [float(c.width or 12) for c in t.columns if c.is_input] for t in tables}
    for data in iter_units(ledger, registry, period):
        for table in tables:
            widths = out[table.id]
            widths[0] = max(widths[0], float(display_width(data.unit.name)) + 1)
            cols = [c for c in table.columns if c.is_input]
            for row in data.tables.get(table.id, {}).values():
                for j, col in enumerate(cols):
                    widths[2 + j] = max(widths[2 + j], _unbreakable(row.get(col.id), col) + 1)
    return {tid: [min(w, 40.0) for w in widths] for tid, widths in out.items()}


def records(wb, fmt, table: Table, ledger, registry, period, widths: list[float]) -> None:
    """附表1–4: every unit's records, one after another, with a 填报单位 column.  Nothing is cut on paper: text
    wraps, each row as tall as its longest text, and a column is as wide as the longest word that cannot wrap
    (``record_widths``: a 记录编号 or 注册号 printed whole, not "BL2025Q3-410")."""
    ws = wb.add_worksheet(table.name)
    cols = [c for c in table.columns if c.is_input]
    headers = ["填报单位", "序号"] + [c.header for c in cols]
    first = write_header(ws, fmt, table.title.replace("\n", ""), f"报告期：{period.label}", headers, widths, lead=2)
    r = first
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id, {})
        for i, key in enumerate(sorted(rows, key=lambda k: int(k) if k.isdigit() else 0)):
            row = rows[key]
            texts = [(data.unit.name, widths[0])] + [(row.get(c.id), widths[2 + j]) for j, c in enumerate(cols)
                                                      if not c.is_numeric and c.type != "date"]
            ws.set_row(r, row_height(*texts))
            write_text(ws, r, 0, data.unit.name, fmt.wrap)
            ws.write_number(r, 1, i + 1, fmt.int)
            for j, col in enumerate(cols):
                value = row.get(col.id)
                if col.type == "date" and isinstance(value, (int, float)):
                    ws.write_number(r, 2 + j, value, fmt.date)
                elif col.is_numeric:
                    write_num(ws, r, 2 + j, value, fmt.number(col))
                else:
                    write_text(ws, r, 2 + j, value, fmt.wrap)
            r += 1
    if r > first:
        ws.autofilter(first - 1, 0, r - 1, len(headers) - 1)
    print_setup(ws, fmt, widths, lead=2, header_rows=(HEADER_ROW, first - 1))


def _unbreakable(value: Any, col) -> float:
    """Width (characters) of what cannot wrap in a cell: a date or figure as printed, the longest run of ASCII
    without a space (a code); CJK text wraps anywhere."""
    if value is None or value == "":
        return 0.0
    if col.type == "date":
        return 13.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value_width(value, col)
    runs = re.findall(r"[\x21-\x7e]+", str(value))
    # A Latin letter or digit of the 10 pt CJK font is wider than the 7 px unit a column's width counts in.
    return 1.2 * max((len(x) for x in runs), default=0)


def scoring(wb, fmt, table: Table, ledger, registry, period) -> None:
    """A 考核评分表 (附件2/附件3): a row per unit, its score per item and the 合计; a unit whose form has not come
    in is listed all the same, its state said, and the note under the table names them (never an empty grid)."""
    items = table.scoring_items
    ws = wb.add_worksheet(table.sheet[:31])
    item_width = 9.0
    # Each item's name broken into lines that fit, its 分值 on a line of its own: never (2分 / ) split.
    labels = [f"{_wrapped(it.label, item_width)}\n（{it.points:g}分）" for it in items]
    headers = ["单位"] + labels + ["合计", "报送\n状态"]
    # A line that cannot be broken further ((子分部)) widens its column.
    widths = ([10.0] + [max(item_width, max(display_width(line) for line in text.split("\n")) + 1) for text in labels]
              + [8.0, 9.0])
    first = write_header(ws, fmt, table.title, f"报告期：{period.label}", headers, widths)
    r = first
    missing: list[str] = []
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id)
        write_text(ws, r, 0, data.unit.name, fmt.text)
        if rows:
            total = 0.0
            for j, it in enumerate(items):
                value = rows.get(it.key, {}).get("score")
                total += value if isinstance(value, (int, float)) else 0
                write_num(ws, r, 1 + j, value, fmt.dec)
            ws.write_formula(r, 1 + len(items), f"=SUM({a1(r, 1)}:{a1(r, len(items))})", fmt.total_dec, total)
            write_text(ws, r, 2 + len(items), "已收", fmt.status["accepted"])
        else:
            for j in range(len(items) + 1):
                ws.write_blank(r, 1 + j, None, fmt.dec)
            write_text(ws, r, 2 + len(items), "未收", fmt.status["missing"])
            missing.append(data.unit.name)
        r += 1
    received = len(registry.units) - len(missing)
    if missing:
        names = "、".join(missing)
        note = (f"本表收到 {received} 个单位的评分；未收到 {len(missing)} 个单位：{names}。" if received else
                f"本报告期尚未收到任何单位的{table.title}（共 {len(missing)} 个单位）。")
    else:
        note = f"本表含全部 {received} 个单位的评分。"
    note_height = wrapped_row(ws, r, *title_span(fmt, widths, 1, headers), note, widths, fmt.coverage)
    ws.print_area(0, 0, r, len(widths) - 1)
    # One page tall where the scale allows: the title, the header, a row per unit and the note under them.
    height = 30 + 15 + sum(header_layout(headers, widths)[1]) + 15 * (r - first) + note_height
    print_setup(ws, fmt, widths, lead=1, header_rows=(HEADER_ROW, first - 1), height=height)


def _wrapped(label: str, width: float) -> str:
    """A header label broken into even lines of at most as many characters as ``width`` holds."""
    label = label.replace("\n", "")
    per_line = max(1, int((width - 1) // 2))
    lines = -(-len(label) // per_line)
    size = -(-len(label) // lines)
    parts = [label[i:i + size] for i in range(0, len(label), size)]
    for i in range(1, len(parts)):  # a closing bracket or mark stays on the line it closes
        while parts[i][:1] in ("）", "、", "，", "。") and parts[i]:
            parts[i - 1], parts[i] = parts[i - 1] + parts[i][0], parts[i][1:]
    return "\n".join(p for p in parts if p)
