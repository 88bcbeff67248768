"""Where every cell of an issued table lives.

The template writer and the reader both ask this module, so a workbook is read
back at exactly the cells it was written to, and any row or column that moved
is structural tampering.  Rows and columns are 0-based here (as in xlsxwriter);
``a1()`` gives Excel's 1-based A1 text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from qtables.spec.registry import Unit
from qtables.spec.model import Column, Table

TITLE_ROW = 1
TOP_LINE_ROW = 2
HEADER_TOP = 3


@dataclass(frozen=True)
class DataRow:
    key: str  # unit code, category key, scoring item key, or the 1-based record number
    label: str
    group_no: int | None = None
    group_label: str | None = None
    points: float | None = None
    standard: str | None = None
    applicable: bool = True  # a scoring item the unit can earn; one it cannot is 不适用: 分值 0, 得分 0, locked


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def a1(row: int, col: int, *, abs_row: bool = True, abs_col: bool = True) -> str:
    return xl_rowcol_to_cell(row, col, row_abs=abs_row, col_abs=abs_col)


_LAYOUTS: dict[tuple, tuple] = {}


@dataclass(frozen=True)
class TableLayout:
    table: Table
    rows: tuple[DataRow, ...]
    # A keyed table's row of the unit itself (市本级, or a 省直管县's single row): ``t5.own.x`` in a rule; None when
    # every row is a county (the unit's own projects are all supervised below it).
    own_key: str | None = None

    @classmethod
    def for_unit(cls, table: Table, unit: Unit | None, capacity: int | None = None) -> "TableLayout":
        """The layout of a table for a unit (built once per table, unit and capacity, then shared)."""
        per_unit = table.kind == "keyed" or (table.kind == "scoring" and any(it.not_for for it in table.scoring_items))
        key = (id(table), unit.code if per_unit and unit is not None else None,
               capacity if table.kind == "records" else None)
        hit = _LAYOUTS.get(key)
        if hit is not None and hit[0] is table and (not per_unit or hit[1] == unit):
            return hit[2]
        layout = cls._build(table, unit, capacity)
        _LAYOUTS[key] = (table, unit, layout)
        return layout

    @classmethod
    def _build(cls, table: Table, unit: Unit | None, capacity: int | None) -> "TableLayout":
        if table.kind == "keyed":
            if unit is None:
                raise ValueError("keyed tables need a unit")
            rows = tuple(DataRow(r.code, r.label) for r in unit.rows())
            return cls(table, rows, own_key=unit.code if any(r.key == unit.code for r in rows) else None)
        elif table.kind == "categories":
            rows = tuple(DataRow(r.key, r.label) for r in table.fixed_rows)
        elif table.kind == "scoring":
            def earns(it) -> bool:
                return not (it.not_for == "no_counties" and unit is not None and not unit.children)

            rows = tuple(
                DataRow(it.key, it.label, it.group_no, it.group_label, it.points if earns(it) else 0.0, it.standard, earns(it))
                for it in table.scoring_items
            )
        else:
            rows = tuple(DataRow(str(i + 1), str(i + 1)) for i in range(capacity or table.capacity))
        return cls(table, rows)

    # -- geometry -------------------------------------------------------
    @property
    def sheet(self) -> str:
        return self.table.sheet

    @property
    def ncols(self) -> int:
        return len(self.table.columns)

    @cached_property
    def depth(self) -> int:
        return self.table.header_depth

    @cached_property
    def first_data(self) -> int:
        return HEADER_TOP + self.depth

    @cached_property
    def last_data(self) -> int:
        return self.first_data + len(self.rows) - 1

    @cached_property
    def total_row(self) -> int | None:
        return self.last_data + 1 if self.table.has_total else None

    @cached_property
    def notes_row(self) -> int:
        return (self.total_row if self.total_row is not None else self.last_data) + 1

    @property
    def bottom_row(self) -> int:
        return self.notes_row + 1

    @cached_property
    def col_index(self) -> dict[str, int]:
        return {c.id: i for i, c in enumerate(self.table.columns)}

    def col(self, column_id: str) -> int:
        return self.col_index[column_id]

    def row_of(self, key: str) -> int:
        for i, r in enumerate(self.rows):
            if r.key == key:
                return self.first_data + i
        raise KeyError(key)

    @cached_property
    def input_span(self) -> tuple[int, int]:
        cols = [self.col(c.id) for c in self.table.input_columns]
        return (min(cols), max(cols)) if cols else (0, 0)

    # -- references -----------------------------------------------------
    def ref(self, row: int, column_id: str, *, sheet: bool = True, abs_row: bool = True) -> str:
        text = a1(row, self.col(column_id), abs_row=abs_row)
        return f"{quote_sheet(self.sheet)}!{text}" if sheet else text

    def column_range(self, column_id: str, *, sheet: bool = True) -> str:
        c = self.col(column_id)
        text = f"{a1(self.first_data, c)}:{a1(self.last_data, c)}"
        return f"{quote_sheet(self.sheet)}!{text}" if sheet else text

    def row_input_range(self, row: int, *, sheet: bool = True, abs_row: bool = True) -> str:
        lo, hi = self.input_span
        text = f"{a1(row, lo, abs_row=abs_row)}:{a1(row, hi, abs_row=abs_row)}"
        return f"{quote_sheet(self.sheet)}!{text}" if sheet else text

    def target_cell(self, target: str) -> tuple[int, int]:
        """(row, col) of a rule's target when it is a single cell (``total.x`` or ``rowkey.x``)."""
        head, _, column_id = target.partition(".")
        if head == "total":
            assert self.total_row is not None
            return self.total_row, self.col(column_id)
        return self.row_of(head), self.col(column_id)

    def header_cells(self) -> list[tuple[int, int, int, int, str]]:
        """Merged header blocks as (first_row, first_col, last_row, last_col, text)."""
        return list(self._header_cells)

    @cached_property
    def _header_cells(self) -> tuple[tuple[int, int, int, int, str], ...]:
        return tuple(self._merge_headers())

    def _merge_headers(self) -> list[tuple[int, int, int, int, str]]:
        return merge_header_blocks([tuple(c.header) for c in self.table.columns], HEADER_TOP, self.depth)


def merge_header_blocks(headers: list[tuple[str, ...]], top: int, depth: int | None = None) -> list[tuple[int, int, int, int, str]]:
    """A multi-level header as merged blocks (first_row, first_col, last_row, last_col, text), the first level at row
    ``top``: a group label merged right while the next columns share it, a leaf merged down to the header's last row.
    The template writer and the master's forms both lay headers out with it, so the two print alike."""
    depth = depth or max((len(h) for h in headers), default=1)
    out: list[tuple[int, int, int, int, str]] = []
    for level in range(depth):
        c = 0
        while c < len(headers):
            header = headers[c]
            if level >= len(header):
                c += 1
                continue
            text = header[level]
            last_level = level == len(header) - 1
            end = c
            if not last_level:
                while end + 1 < len(headers) and len(headers[end + 1]) > level + 1 and headers[end + 1][: level + 1] == header[: level + 1]:
                    end += 1
            bottom = top + (depth - 1 if last_level else level)
            out.append((top + level, c, bottom, end, text))
            c = end + 1
    return out


def column_letter(col: int) -> str:
    return xl_col_to_name(col)


def describe_cell(layout: TableLayout, row: int, column: Column) -> str:
    """A cell for a human: 附表5!C7（郑州市 上季度接转工程 / 项数）."""
    label = ""
    if layout.first_data <= row <= layout.last_data:
        label = layout.rows[row - layout.first_data].label.replace("\n", "")
    elif row == layout.total_row:
        label = layout.table.total_label or "合计"
    cell = a1(row, layout.col(column.id), abs_row=False, abs_col=False)
    return f"{layout.sheet}!{cell}（{label} {column.label}）" if label else f"{layout.sheet}!{cell}"


def lines_needed(text: str, width_chars: float) -> int:
    """Printed lines a wrapped text takes in a column ``width_chars`` wide (CJK characters take two units)."""
    per_line = max(1.0, width_chars / 2.0)
    return sum(max(1, math.ceil(len(part) / per_line)) for part in str(text or "").split("\n"))


def label_lines(label: str, width: float) -> str:
    """A row label as printed in a column ``width`` wide.  The 办法's line breaks fit its narrow printed cells;
    here they only broke words (钢结构/工程), so they go.  A label still too long for one line breaks before
    its bracketed part when each side then fits (大型公共建筑工程 / （2万平方米以上））, else wraps where it must."""
    text = label.replace("\n", "")
    if lines_needed(text, width) == 1:
        return text
    head, bracket, tail = text.partition("（")
    if head and bracket and lines_needed(head, width) == 1 and lines_needed(bracket + tail, width) == 1:
        return f"{head}\n{bracket}{tail}"
    return text
