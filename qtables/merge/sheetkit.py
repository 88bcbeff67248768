"""What every master sheet shares: formats, cell writers that never turn text into formulas, print set-up, headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import xlsxwriter

from qtables.template.layout import a1, label_lines, lines_needed
from qtables.spec import expr
from qtables.spec.expr import Ref
from qtables.spec.model import Column, Table


HEADER_ROW = 3  # 0-based row of the (single-line) column header on master sheets


@dataclass
class SheetWriter:
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


def cached(value: Any) -> Any:
    return "" if value is None else value


class Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1}
        self.title = wb.add_format({"font_name": "黑体", "font_size": 16, "align": "center", "valign": "vcenter"})
        self.plain = wb.add_format({"font_name": "宋体", "font_size": 10})
        self.header = wb.add_format(dict(base, bold=True, align="center", text_wrap=True, bg_color="#D9E1F2"))
        self.text = wb.add_format(dict(base, text_wrap=False))
        self.wrap = wb.add_format(dict(base, text_wrap=True, valign="top"))
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


def write_text(ws, row: int, col: int, value: Any, fmt=None) -> None:
    """Submitted or derived text: always a string cell, whatever it starts with."""
    if value is None:
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def write_num(ws, row: int, col: int, value: Any, fmt) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, fmt)
    elif value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def print_setup(ws, last_col: int, header_row: int = HEADER_ROW) -> None:
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")


def write_header(wb_ws, fmt: Formats, title: str, subtitle: str, headers: list[str], widths: list[float]) -> None:
    last = len(headers) - 1
    wb_ws.merge_range(0, 0, 0, last, title, fmt.title)
    wb_ws.set_row(0, 30)
    wb_ws.write_string(1, 0, subtitle, fmt.plain)
    for c, (h, w) in enumerate(zip(headers, widths)):
        wb_ws.set_column(c, c, w)
    # A grouped column's header "本季/年竣工工程 / 面积（万㎡）": the group on its own line(s), the column's name
    # after it, broken before its bracket when it does not fit (not inside the bracket, as wrapping did).
    # The slash stays: import-master reads our own masters' headers folded (…工程/面积…).
    texts = [" /\n".join(label_lines(part, w) for part in h.split(" / ")) for h, w in zip(headers, widths)]
    wb_ws.set_row(HEADER_ROW, max(48, 14 * max([1] + [lines_needed(t, w) for t, w in zip(texts, widths)]) + 6))
    for c, text in enumerate(texts):
        wb_ws.write_string(HEADER_ROW, c, text, fmt.header)


def row_height(*cells: tuple[Any, float]) -> float:
    """Height of a streamed row (LibreOffice does not fit those) for (text, column width) pairs that wrap."""
    return 14.0 * max([1] + [lines_needed(text, width) for text, width in cells]) + 3


def value_width(value: Any, col: Column) -> float:
    """Characters a number takes as the master formats it (thousands separators, the column's decimals)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return 0.0
    decimals = col.decimals if col.decimals is not None else (0 if col.type == "integer" else 2)
    return float(len(f"{value:,.{decimals}f}"))


def value_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if c.type != "key"]
