"""附表5/附表7 laid out by hand, as clerks type them in Excel: the 办法's layout and its common variations."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl



@dataclass
class Variant:
    name: str
    order: list[int] | None = None  # permutation of the column groups
    title_rows: int = 2  # rows above the header (title, 填表单位)
    merged: bool = True  # group labels merged over their leaves, or repeated in each column
    one_label_column: str | None = None  # "{n} {name}" style in a single 序号/名称 column
    total: str = "bottom"  # "top", "bottom" or "none"
    separators: bool = False  # numbers typed as text with thousands separators
    names: dict[str, str] = field(default_factory=dict)  # unit name -> name as printed
    drop: list[str] = field(default_factory=list)  # unit names left out
    sheet: str = "Sheet1"
    leaf_text: dict[str, str] = field(default_factory=dict)  # printed leaf -> replacement (e.g. 万㎡ → 万平方米)
    duplicate_group: bool = False
    missing_group: bool = False
    wrong_total: bool = False
    extra_unit: str | None = None  # a row for a unit that is not in the registry
    notes: bool = False  # 填表人 / 注 rows under the table
    inline: bool = False  # one header row: "group / leaf"
    leaf_lines: bool = False  # leaves over two rows ("面积" / "（万㎡）")


def _groups(table) -> list[tuple[str, list]]:
    out: list[tuple[str, list]] = []
    for col in table.columns:
        if col.type == "key":
            continue
        group = col.header[0]
        if out and out[-1][0] == group and len(col.header) > 1:
            out[-1][1].append(col)
        else:
            out.append((group, [col]))
    return out


def _number(value: Any, separators: bool) -> Any:
    if value is None:
        return None
    if separators and isinstance(value, (int, float)) and abs(value) >= 1000:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return value


def write_official(path: Path, table, units: list[tuple[str, dict[str, Any]]], v: Variant) -> Path:
    """``units``: (name, values by column id), one row per unit, in the order given."""
    groups = _groups(table)
    if v.order:
        groups = [groups[i] for i in v.order]
    if v.missing_group:
        groups = [g for g in groups if g[0] != groups[2][0]]
    if v.duplicate_group:
        groups = groups + [groups[1]]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = v.sheet
    r = 1
    if v.title_rows >= 1:
        ws.cell(r, 1, table.title)
        r += 1
    if v.title_rows >= 2:
        ws.cell(r, 1, "填表单位（盖章）：河南省住房和城乡建设厅")
        r += 1
    for extra in range(v.title_rows - 2):
        ws.cell(r, 1, f"（第{extra + 1}行说明文字）")
        r += 1
    label_cols = 1 if v.one_label_column else 2
    top = r
    leaf_rows = 0 if v.inline else (2 if v.leaf_lines else 1)
    if v.one_label_column:
        ws.cell(top, 1, "市、县（市）序号")
    else:
        ws.cell(top, 1, "序号")
        ws.cell(top, 2, "市、县（市）名称")
    c = label_cols + 1
    columns: list = []
    for group, cols in groups:
        start = c
        for col in cols:
            leaf = col.header[-1] if len(col.header) > 1 else ""
            for old, new in v.leaf_text.items():
                leaf = leaf.replace(old, new)
            if v.inline:
                ws.cell(top, c, f"{group.replace(chr(10), '')} / {leaf.replace(chr(10), '')}" if leaf else group)
            else:
                if v.merged:
                    if c == start:
                        ws.cell(top, c, group)
                else:
                    ws.cell(top, c, group)
                if leaf:
                    if v.leaf_lines and "\n" in leaf:
                        a, b = leaf.split("\n", 1)
                        ws.cell(top + 1, c, a)
                        ws.cell(top + 2, c, b)
                    else:
                        ws.cell(top + 1, c, leaf)
            columns.append(col)
            c += 1
        if v.merged and not v.inline and c - 1 > start:
            ws.merge_cells(start_row=top, start_column=start, end_row=top, end_column=c - 1)
        if v.merged and not v.inline and len(cols) == 1 and len(cols[0].header) == 1 and leaf_rows:
            ws.merge_cells(start_row=top, start_column=start, end_row=top + leaf_rows, end_column=start)
    r = top + leaf_rows + 1
    rows = [(n, vals) for n, vals in units if n not in v.drop]
    if v.extra_unit:
        rows.append((v.extra_unit, dict(units[0][1])))
    totals = {col.id: round(sum((vals.get(col.id) or 0) for _n, vals in rows), 6) for col in columns if col.total == "sum"}
    if v.wrong_total:
        first = next(iter(totals))
        totals[first] += 5

    def total_row(at: int) -> None:
        ws.cell(at, 1 if v.one_label_column else 2, "合计")
        for i, col in enumerate(columns):
            if col.id in totals:
                ws.cell(at, label_cols + 1 + i, _number(totals[col.id], v.separators))

    if v.total == "top":
        total_row(r)
        r += 1
    for n, (name, vals) in enumerate(rows, start=1):
        printed = v.names.get(name, name)
        if v.one_label_column:
            ws.cell(r, 1, v.one_label_column.format(n=n, name=printed))
        else:
            ws.cell(r, 1, n)
            ws.cell(r, 2, printed)
        for i, col in enumerate(columns):
            ws.cell(r, label_cols + 1 + i, _number(vals.get(col.id), v.separators))
        r += 1
    if v.total == "bottom":
        total_row(r)
        r += 1
    if v.notes:
        ws.cell(r + 1, 1, "填表人：张伟　　审核人：王芳　　填表日期：2025年7月5日")
        ws.cell(r + 2, 1, "注：面积单位为万平方米。")
    wb.save(path)
    return path


def variants(table, seed: int = 5) -> list[Variant]:
    n = len(_groups(table))
    rng = random.Random(seed)
    shuffled = list(range(n))
    while shuffled == sorted(shuffled):
        rng.shuffle(shuffled)
    swapped = [0, 2, 1, *range(3, n)]
    return [
        Variant("办法原样"),
        Variant("两组对调", order=swapped),
        Variant("各组打乱", order=shuffled),
        Variant("多两行标题", title_rows=4),
        Variant("没有标题", title_rows=0),
        Variant("表头不合并", merged=False),
        Variant("序号名称一栏（空格）", one_label_column="{n} {name}"),
        Variant("序号名称一栏（顿号）", one_label_column="{n}、{name}"),
        Variant("序号名称一栏（括号）", one_label_column="（{n}）{name}"),
        Variant("合计在上", total="top"),
        Variant("没有合计", total="none"),
        Variant("千分位文本", separators=True),
        Variant("曾用名与简称", names={"长垣市": "长垣县", "郑州市": "郑州", "洛阳市": "洛阳"}),
        Variant("工作表改名", sheet="2025年二季度统计"),
        Variant("万平方米", leaf_text={"万㎡": "万平方米"}),
        Variant("单位行两行表头", leaf_lines=True),
        Variant("一行表头（组与栏）", inline=True),
        Variant("有签名和注", notes=True),
        # refused, each naming the problem
        Variant("少了一行", drop=["开封市"]),
        Variant("不认识的单位", extra_unit="某某开发区"),
        Variant("缺一组", missing_group=True),
        Variant("组重复", duplicate_group=True),
        Variant("平方米填成万㎡栏", leaf_text={"万㎡": "㎡"}),
        Variant("合计不符", wrong_total=True),
    ]


REFUSED = {"少了一行": "开封市", "不认识的单位": "某某开发区", "缺一组": "缺少", "组重复": "有歧义", "平方米填成万㎡栏": "单位不符",
           "合计不符": "合计行与各行之和不符"}



FOOTER = "统计员：　　　　　　　批准人：　　　　　　　报送日期：　　　　年　　月　　日"
EXPLANATION = ["填表说明：1、在建工程：已办理监督注册手续但未进行竣工验收的工程。",
               "2、竣工工程：已办理监督注册手续，已通过竣工验收的工程。",
               "3、用户满意率：用户评价为满意的工程（项数）/已办理质量备案手续的工程。"]


def write_printed(path: Path, table, units: list[tuple[str, dict[str, Any]]], *, group_rows: int = 2, leaf_rows: int = 1,
                  seq_in_name: bool = True, footer: bool = True, explanation: bool = True, spread_footer: bool = True) -> Path:
    """附表5/附表7 exactly as the 办法 prints it: title, 填表单位（盖章）, a header block of three rows — each group label
    merged over ``group_rows`` rows with its leaves below, 序号/名称 and 用户满意率（%） merged over the whole block —
    a 合计 row, the 统计员/批准人/报送日期 line and the 填表说明 paragraph (each line of it a row)."""
    groups = _groups(table)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ncols = 2 + sum(len(cols) for _g, cols in groups)
    ws.cell(1, 1, table.title)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws.cell(2, 1, "填表单位（盖章）：")
    top = 3
    depth = group_rows + leaf_rows
    last = top + depth - 1
    ws.cell(top, 1, "序号" if not seq_in_name else "市、县\n（市）\n序号")
    ws.cell(top, 2, "市、县（市）名称")
    ws.merge_cells(start_row=top, start_column=1, end_row=last, end_column=1)
    ws.merge_cells(start_row=top, start_column=2, end_row=last, end_column=2)
    c = 3
    columns = []
    for group, cols in groups:
        leafless = len(cols) == 1 and len(cols[0].header) == 1
        ws.cell(top, c, group)
        if leafless:
            ws.merge_cells(start_row=top, start_column=c, end_row=last, end_column=c)
        else:
            ws.merge_cells(start_row=top, start_column=c, end_row=top + group_rows - 1, end_column=c + len(cols) - 1)
            for col in cols:
                leaf = col.header[-1]
                if leaf_rows == 2 and "\n" in leaf:
                    a, b = leaf.split("\n", 1)
                    ws.cell(top + group_rows, c, a)
                    ws.cell(top + group_rows + 1, c, b)
                else:
                    ws.cell(top + group_rows, c, leaf)
                    if leaf_rows == 2:
                        ws.merge_cells(start_row=top + group_rows, start_column=c, end_row=last, end_column=c)
                columns.append(col)
                c += 1
            continue
        columns.append(cols[0])
        c += 1
    r = last + 1
    for n, (name, vals) in enumerate(units, start=1):
        if seq_in_name:
            ws.cell(r, 1, f"{n} {name}")
        else:
            ws.cell(r, 1, n)
            ws.cell(r, 2, name)
        for i, col in enumerate(columns):
            ws.cell(r, 3 + i, vals.get(col.id))
        r += 1
    ws.cell(r, 1, "合计")
    for i, col in enumerate(columns):
        if col.total == "sum":
            ws.cell(r, 3 + i, round(sum((vals.get(col.id) or 0) for _n, vals in units), 6))
    r += 1
    if footer:
        if spread_footer:  # typed across the columns, as the 办法 prints it under the table
            for label, at in (("统计员：", 1), ("批准人：", ncols // 3), ("报送日期：　　年　月　日", 2 * ncols // 3)):
                ws.cell(r, at, label)
        else:
            ws.cell(r, 1, FOOTER)
        r += 1
    if explanation:
        for line in EXPLANATION:
            ws.cell(r, 1, line)
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
            r += 1
    wb.save(path)
    return path
