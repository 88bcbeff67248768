"""The master's figure sheets: 附表5/7 summary and detail, 附表6 categories, 附表1–4 records, scoring."""

from __future__ import annotations

from typing import Any


from qtables.template.layout import a1, quote_sheet
from qtables.spec.model import Table
from qtables.status import STATUS_TEXT
from qtables.merge.figures import derive_row, iter_units, total_row, unit_row
from qtables.merge.sheetkit import (
    HEADER_ROW,
    SheetWriter,
    cached,
    print_setup,
    value_columns,
    value_width,
    write_header,
    write_num,
    write_text,
)


def keyed_summary(wb, fmt, table: Table, name: str, ledger, registry, period, scope):
    """One row per reporting unit (its 合计) and the 全省合计 row."""
    ws = wb.add_worksheet(name)
    cols = value_columns(table)
    sheet = SheetWriter(table, 2, cols)
    headers = ["序号", "单位"] + [c.label for c in cols] + ["报送状态"]
    # Columns as wide as the widest figure they will show (the 合计), so no total prints as ###.
    totals_first = total_row(table, [r for d in iter_units(ledger, registry, period) if (r := unit_row(table, d.tables))])
    widths = [max(9.0, value_width(totals_first.get(c.id), c) + 2) for c in cols]
    write_header(ws, fmt, f"{table.title}（{scope}汇总）", f"报告期：{period.label}", headers, [5, 14] + widths + [12])
    first = HEADER_ROW + 1
    n = len(registry.units)
    last = first + n - 1
    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    for i, data in enumerate(iter_units(ledger, registry, period)):
        r = first + i
        found = unit_row(table, data.tables)  # county rows, or the total an imported master gave
        unit_rows = [found] if found is not None else []
        row = found or {}
        ws.write_number(r, 0, i + 1, fmt.int)
        write_text(ws, r, 1, data.unit.name, fmt.text)
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
        write_text(ws, r, 2 + len(cols), STATUS_TEXT.get(state, state), fmt.status.get(state, fmt.text))
        rows.append(row)
        labels.append(data.unit.name)
    t = last + 1
    totals = total_row(table, rows)
    ws.write_blank(t, 0, None, fmt.total_text)
    ws.write_string(t, 1, f"{scope}合计", fmt.total_text)
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
    ws.write_blank(t, 2 + len(cols), None, fmt.total_text)
    print_setup(ws, len(headers) - 1)
    ws.freeze_panes(first, 2)
    return ws, {"rows": rows, "labels": labels, "first": first, "last": last, "total": t, "sheet": sheet, "totals": totals}


def keyed_detail(wb, fmt, table: Table, name: str, ledger, registry, period, scope) -> None:
    """Every county row grouped under its unit, with a 小计 per unit and the 合计 from the 小计 rows."""
    ws = wb.add_worksheet(name)
    cols = value_columns(table)
    sheet = SheetWriter(table, 3, cols)
    kind_col = 3 + len(cols)
    headers = ["单位", "序号", "县（市、区）"] + [c.label for c in cols] + ["行类型"]
    write_header(ws, fmt, f"{table.title}（{scope}明细）", f"报告期：{period.label}", headers, [12, 5, 14] + [9] * len(cols) + [7])
    r = HEADER_ROW + 1
    subtotals: list[dict[str, Any]] = []
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
        ws.write_string(r, 2, "小计" if unit_rows else "小计（未报）", fmt.sub_text)
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
            ws.write_formula(r, c, f'=SUMIF({kind_range},"小计",{rng})', fmt.number(col, "total"), cached(totals.get(col.id)))
        elif col.id == "satisfaction_rate":
            filed = sheet.col("filed_count")
            frng = f"{a1(HEADER_ROW + 1, filed)}:{a1(last_row, filed)}"
            formula = (f'=IF(SUMIF({kind_range},"小计",{frng})=0,"",'
                       f'SUMPRODUCT(({kind_range}="小计")*1,{rng},{frng})/SUMIF({kind_range},"小计",{frng}))')
            ws.write_formula(r, c, formula, fmt.number(col, "total"), cached(totals.get(col.id)))
        elif col.formula is not None:
            ws.write_formula(r, c, sheet.formula(col.formula, r, first=r, last=r, mode="row"), fmt.number(col, "total"), cached(totals.get(col.id)))
        else:
            ws.write_blank(r, c, None, fmt.number(col, "total"))
    ws.write_string(r, kind_col, "合计", fmt.total_text)
    ws.outline_settings(True, False, True, False)
    print_setup(ws, len(headers) - 1)
    ws.freeze_panes(HEADER_ROW + 1, 3)


def categories(wb, fmt, table: Table, ledger, registry, period, scope) -> None:
    """附表6: a per-unit 明细 sheet, and the summary summing it by category with SUMIF."""
    cols = value_columns(table)
    detail = wb.add_worksheet(f"{table.name}明细")
    dsheet = SheetWriter(table, 2, cols)
    headers = ["单位", "项目"] + [c.label for c in cols]
    write_header(detail, fmt, f"{table.title}（各单位）", f"报告期：{period.label}", headers, [12, 22] + [9] * len(cols))
    r = HEADER_ROW + 1
    sums: dict[str, list[dict[str, Any]]] = {row.key: [] for row in table.fixed_rows}
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id, {})
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
    last_detail = max(r - 1, HEADER_ROW + 1)
    print_setup(detail, len(headers) - 1)
    ws = wb.add_worksheet(f"{table.name}汇总")
    sheet = SheetWriter(table, 1, cols)
    write_header(ws, fmt, f"{table.title}（{scope}汇总）", f"报告期：{period.label}", ["项目"] + [c.label for c in cols], [24] + [9] * len(cols))
    label_rng = f"{quote_sheet(detail.name)}!{a1(HEADER_ROW + 1, 1)}:{a1(last_detail, 1)}"
    for i, fixed in enumerate(table.fixed_rows):
        r = HEADER_ROW + 1 + i
        label = fixed.label.replace("\n", "")
        total = total_row(table, sums[fixed.key])
        write_text(ws, r, 0, label, fmt.text)
        for col in cols:
            c = sheet.col(col.id)
            if col.formula is not None:
                ws.write_formula(r, c, sheet.formula(col.formula, r, first=r, last=r, mode="row"), fmt.number(col), cached(total.get(col.id)))
            else:
                dcol = dsheet.col(col.id)
                rng = f"{quote_sheet(detail.name)}!{a1(HEADER_ROW + 1, dcol)}:{a1(last_detail, dcol)}"
                value = sum(v for row in sums[fixed.key] if isinstance(v := row.get(col.id), (int, float)))
                ws.write_formula(r, c, f"=SUMIF({label_rng},{a1(r, 0)},{rng})", fmt.number(col), value)
    print_setup(ws, len(cols))


def records(wb, fmt, table: Table, ledger, registry, period) -> None:
    """附表1–4: every unit's records, one after another, with a 填报单位 column."""
    ws = wb.add_worksheet(table.name)
    cols = [c for c in table.columns if c.is_input]
    headers = ["填报单位", "序号"] + [c.label for c in cols]
    write_header(ws, fmt, table.title.replace("\n", ""), f"报告期：{period.label}", headers, [12, 5] + [c.width or 12 for c in cols])
    r = HEADER_ROW + 1
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id, {})
        for i, key in enumerate(sorted(rows, key=lambda k: int(k) if k.isdigit() else 0)):
            row = rows[key]
            write_text(ws, r, 0, data.unit.name, fmt.text)
            ws.write_number(r, 1, i + 1, fmt.int)
            for j, col in enumerate(cols):
                value = row.get(col.id)
                if col.type == "date" and isinstance(value, (int, float)):
                    ws.write_number(r, 2 + j, value, fmt.date)
                elif col.is_numeric:
                    write_num(ws, r, 2 + j, value, fmt.number(col))
                else:
                    write_text(ws, r, 2 + j, value, fmt.text)
            r += 1
    if r > HEADER_ROW + 1:
        ws.autofilter(HEADER_ROW, 0, r - 1, len(headers) - 1)
    print_setup(ws, len(headers) - 1)


def scoring(wb, fmt, table: Table, ledger, registry, period) -> None:
    items = table.scoring_items
    ws = wb.add_worksheet(table.sheet[:31])
    headers = ["单位"] + [f"{it.label}（{it.points:g}分）" for it in items] + ["合计"]
    write_header(ws, fmt, table.title, f"报告期：{period.label}", headers, [12] + [7] * len(items) + [8])
    r = HEADER_ROW + 1
    for data in iter_units(ledger, registry, period):
        rows = data.tables.get(table.id)
        if not rows:
            continue
        write_text(ws, r, 0, data.unit.name, fmt.text)
        total = 0.0
        for j, it in enumerate(items):
            value = rows.get(it.key, {}).get("score")
            total += value if isinstance(value, (int, float)) else 0
            write_num(ws, r, 1 + j, value, fmt.dec)
        ws.write_formula(r, 1 + len(items), f"=SUM({a1(r, 1)}:{a1(r, len(items))})", fmt.total_dec, total)
        r += 1
    print_setup(ws, len(headers) - 1)
