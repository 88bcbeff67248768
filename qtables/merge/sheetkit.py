"""What every master sheet shares: formats, cell writers that never turn text into formulas, print set-up, headers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import xlsxwriter

from qtables.status import display_width
from qtables.template import paper
from qtables.template.layout import a1, label_lines, merge_header_blocks
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
    def __init__(self, wb: xlsxwriter.Workbook, paper_size: str = "A4"):
        self.paper = paper_size  # the workspace's [print] paper, read by print_setup
        self._wb, self._shown = wb, {}
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1}
        self.title = wb.add_format({"font_name": "黑体", "font_size": 16, "align": "center", "valign": "vcenter"})
        self.plain = wb.add_format({"font_name": "宋体", "font_size": 10})
        self.header = wb.add_format(dict(base, bold=True, align="center", text_wrap=True, bg_color="#D9E1F2"))
        self.text = wb.add_format(dict(base, text_wrap=False))
        self.wrap = wb.add_format(dict(base, text_wrap=True))  # centred in its row like the figures beside it
        self.int = wb.add_format(dict(base, num_format="0"))
        self.dec = wb.add_format(dict(base, num_format="0.00"))
        self.dec1 = wb.add_format(dict(base, num_format="0.0"))
        self.total_text = wb.add_format(dict(base, bold=True, bg_color="#E2EFDA"))
        self.total_int = wb.add_format(dict(base, bold=True, num_format="0", bg_color="#E2EFDA"))
        self.total_dec = wb.add_format(dict(base, bold=True, num_format="0.00", bg_color="#E2EFDA"))
        self.sub_text = wb.add_format(dict(base, bold=True, bg_color="#F2F2F2"))
        self.sub_int = wb.add_format(dict(base, bold=True, num_format="0", bg_color="#F2F2F2"))
        self.sub_dec = wb.add_format(dict(base, bold=True, num_format="0.00", bg_color="#F2F2F2"))
        self.date = wb.add_format(dict(base, num_format='yyyy"年"m"月"d"日"'))
        # Times of arrival as Excel date-times (sortable, filterable), printed the Chinese way.
        self.datetime = wb.add_format(dict(base, num_format='yyyy"年"m"月"d"日" hh:mm'))
        # The lines around a form, as the issued template prints them.
        lines = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
        self.form_line = wb.add_format(dict(lines, align="right"))
        self.sheet_no = wb.add_format(dict(lines))
        self.line_label = wb.add_format(dict(lines, align="right"))
        self.line_value = wb.add_format(dict(lines, bottom=1))
        self.note = wb.add_format(dict(lines, text_wrap=True, valign="top"))
        self.coverage = wb.add_format(dict(lines, bold=True, font_color="#9C0006", text_wrap=True, valign="top"))
        self.status = {
            "accepted": wb.add_format(dict(base, bg_color="#C6EFCE")),
            "accepted_with_warnings": wb.add_format(dict(base, bg_color="#FFEB9C")),
            "rejected": wb.add_format(dict(base, bg_color="#FFC7CE")),
            "quarantined": wb.add_format(dict(base, bg_color="#FFC7CE")),
            "missing": wb.add_format(dict(base, bg_color="#D9D9D9")),
            "late": wb.add_format(dict(base, bg_color="#F8CBAD")),
        }

    def shown_as(self, text: str) -> Any:
        """A format that shows a number cell as ``text`` (the charts' 无数据 points), one per text."""
        if text not in self._shown:
            self._shown[text] = self._wb.add_format({"font_name": "宋体", "font_size": 10, "border": 1, "font_color": "#C00000",
                                                     "num_format": '"' + text.replace('"', "") + '"'})
        return self._shown[text]

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


def print_setup(ws, fmt: "Formats", widths: list[float], *, lead: int = 1, header_rows: tuple[int, int] = (HEADER_ROW, HEADER_ROW),
                boundaries: set[int] | None = None, height: float | None = None) -> paper.PagePlan:
    """Landscape on the workspace's paper at a readable scale (``paper.plan``), header rows repeated, pages numbered
    per sheet ("附表5汇总　第 1 页"), so a sheet printed on its own is numbered from 1."""
    page = paper.plan(widths, paper=fmt.paper, lead=lead, boundaries=boundaries, height=height)
    paper.apply(ws, page, paper=fmt.paper, lead=lead, header_rows=header_rows, footer="&C&A　第 &P 页")
    return page


def write_header(wb_ws, fmt: "Formats", title: str, subtitle: str, headers: list[str | tuple[str, ...]], widths: list[float],
                 *, lead: int = 1, top: int = HEADER_ROW) -> int:
    """Title, subtitle and the column header from row ``top``; returns the first data row.  A column given as a tuple
    of levels (the spec's ``header``, as the 办法 prints it: 上季度接转工程 over 项数 / 面积（万㎡） / 造价（万元）) gets
    the same merged multi-level header as the issued template.  The title is centred over the first page across."""
    start, last = title_span(fmt, widths, lead, headers)
    wb_ws.merge_range(0, start, 0, last, title, fmt.title)
    wb_ws.set_row(0, 30)
    # Wrapped within the first page across, as tall as it needs: not run on into the next page's columns, nor in
    # a repeated label column, where it would print cut.
    wrapped_row(wb_ws, 1, start, last, subtitle, widths, fmt.note, line=14)
    for c, w in enumerate(widths):
        wb_ws.set_column(c, c, w)
    return form_header(wb_ws, fmt, headers, widths, top=top)


def wrapped_row(ws, row: int, first: int, last: int, text: str, widths: list[float], cell_format, *, line: float = 15,
                pad: float = 4) -> float:
    """``text`` wrapped over columns ``first``–``last`` of ``row`` (a note, a coverage line, a subtitle), the row as
    tall as its lines at ``line`` points each; returns that height."""
    height = line * text_lines(text, sum(widths[first:last + 1])) + pad
    ws.set_row(row, height)
    if last > first:
        ws.merge_range(row, first, row, last, text, cell_format)
    else:
        ws.write_string(row, first, text, cell_format)
    return height


def title_span(fmt: "Formats", widths: list[float], lead: int, headers: list[str | tuple[str, ...]]) -> tuple[int, int]:
    """The columns a title is centred over: the first page across.  When the sheet is split across pages, the
    title starts after the label columns, which every page repeats (a title merged from column A would be drawn,
    cut, on every page across)."""
    page = paper.plan(widths, paper=fmt.paper, lead=lead, boundaries=paper.group_starts(headers))
    if not page.breaks:
        return 0, len(widths) - 1
    return lead, page.breaks[0] - 1


def form_header(ws, fmt: "Formats", headers: list[str | tuple[str, ...]], widths: list[float], *, top: int = HEADER_ROW) -> int:
    """The merged header blocks from row ``top``, each row as tall as its wrapped labels; returns the first data row."""
    blocks, heights = header_layout(headers, widths, top)
    for level, height in enumerate(heights):  # heights first: a constant-memory row is sized before it is written
        ws.set_row(top + level, height)
    write_blocks(ws, blocks, fmt.header)
    return top + len(heights)


def header_layout(headers: list[str | tuple[str, ...]], widths: list[float], top: int = HEADER_ROW
                  ) -> tuple[list[tuple[int, int, int, int, str]], list[float]]:
    """The header's merged blocks (labels broken where they fit) and each header row's height in points: a block
    over several rows shares its lines out among them."""
    levels = [h if isinstance(h, tuple) else (h,) for h in headers]
    depth = max(len(h) for h in levels)
    blocks = [(r0, c0, r1, c1, text if "\n" in text else label_lines(text, sum(widths[c0:c1 + 1])))
              for r0, c0, r1, c1, text in merge_header_blocks(levels, top, depth)]
    need = [1] * depth
    for r0, c0, r1, c1, text in blocks:
        share = math.ceil(text_lines(text, sum(widths[c0:c1 + 1])) / (r1 - r0 + 1))
        for r in range(r0, r1 + 1):
            need[r - top] = max(need[r - top], share)
    return blocks, [14.0 * lines + 6 for lines in need]


def form_height(table: Table, headers: list[str | tuple[str, ...]], rows: int, widths: list[float], coverage: str,
                span: tuple[int, int]) -> float:
    """Points the form takes printed at 100 %: the lines above, the header, ``rows`` data rows of the default
    height (15 pt) and the lines below over the columns of ``span``, as forms.form_top/form_bottom write them."""
    above, header, below = _form_parts(table, headers, widths, coverage, span)
    return above + header + 15 * rows + below


def _form_parts(table: Table, headers: list[str | tuple[str, ...]], widths: list[float], coverage: str,
                span: tuple[int, int]) -> tuple[float, float, float]:
    """(the lines above the header, the header, the 合计 row and the lines below it) in points at 100 %."""
    total = sum(widths[span[0]:span[1] + 1])
    below = (15 * text_lines(coverage, total) + 4 if coverage else 0) + (14 * text_lines(table.printed_notes, total) + 6
                                                                        if table.printed_notes else 0)
    return 15 + 30 + 15, sum(header_layout(headers, widths)[1]), 15 + below + 15 + 22


def keep_form_tail(ws, fmt: "Formats", page: paper.PagePlan, table: Table, headers: list[str | tuple[str, ...]], rows: int,
                   first: int, widths: list[float], coverage: str, span: tuple[int, int], *, with_tail: int = 3) -> None:
    """A form too tall for one page even at the smallest scale (附表7 of 28 units and a long 不含 note) runs on to a
    second page; the break is put so that its last ``with_tail`` rows go over with the 合计, the notes and the lines
    to sign, never the signature line alone under a repeated header."""
    above, header, below = _form_parts(table, headers, widths, coverage, span)
    tail = min(with_tail, rows)
    groups = [[15.0] for _ in range(rows - tail)] + [[15.0] * tail]
    cuts = paper.keep_together(groups, top=above + header, header=header, tail=below, scale=page.scale, paper=fmt.paper)
    if cuts:
        ws.set_h_pagebreaks([first + c for c in cuts])


def write_blocks(ws, blocks: list[tuple[int, int, int, int, str]], cell_format) -> None:
    """Merged blocks written row by row, as a constant-memory sheet must be (a cell of a row already flushed is
    lost: ``merge_range`` of a block two rows tall would flush its first row before the blocks beside it)."""
    covered: dict[tuple[int, int], str | None] = {}
    for r0, c0, r1, c1, text in blocks:
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                covered[(r, c)] = text if (r, c) == (r0, c0) else None
        if (r0, c0) != (r1, c1):
            # The merge itself, registered as merge_range would (its cells are written below, in row order).
            ws.merge.append([r0, c0, r1, c1])
    for (r, c), text in sorted(covered.items()):
        if text is None:
            ws.write_blank(r, c, None, cell_format)
        else:
            ws.write_string(r, c, text, cell_format)


def row_height(*cells: tuple[Any, float]) -> float:
    """Height of a streamed row (LibreOffice does not fit those) for (text, column width) pairs that wrap."""
    return 14.0 * max([1] + [text_lines(text, width) for text, width in cells]) + 4


def text_lines(text: Any, width: float) -> int:
    """Printed lines a wrapped text takes in a column ``width`` characters wide: a wide (CJK, full-width) character
    takes two units, any other one, and a line holds a little less than the width (the cell's padding)."""
    per_line = max(1.0, width - 1.0)
    return sum(max(1, math.ceil(display_width(part) / per_line)) for part in str("" if text is None else text).split("\n"))


def value_width(value: Any, col: Column) -> float:
    """Characters a number takes as the master formats it (thousands separators, the column's decimals)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return 0.0
    decimals = col.decimals if col.decimals is not None else (0 if col.type == "integer" else 2)
    return float(len(f"{value:,.{decimals}f}"))


def value_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if c.type != "key"]
