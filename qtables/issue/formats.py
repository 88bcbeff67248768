"""Cell formats of an issued workbook (xlsxwriter), created once per workbook and cached."""

from __future__ import annotations

import re
from collections import namedtuple
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from qtables.spec.model import Column



class Formats:
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
        self.line_label_tight = wb.add_format(dict(base, align="right", shrink=True))  # a label wider than its cells
        self.form_line = wb.add_format(dict(base, align="right"))
        self.line_value = wb.add_format(dict(base, bottom=1, shrink=True))  # the unit or the period: shrunk, never cut
        self.line_input = wb.add_format(dict(base, bottom=1, locked=False, bg_color="#FFF9E6"))
        self.line_date = wb.add_format(dict(base, bottom=1, locked=False, bg_color="#FFF9E6", num_format="yyyy-mm-dd", shrink=True))
        self.ok_big = wb.add_format(dict(base, bold=True, font_size=12))
        self.ok_label = wb.add_format(dict(base, bold=True, font_size=12, text_wrap=True, valign="vcenter"))
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


# The dynamic-array functions xlsxwriter rewrites to _xlfn.* on every formula (30 regex passes each);
# the templates use none, so one search decides whether the rewrite is needed.  Output is identical.
_DYNAMIC = re.compile(
    r"(ANCHORARRAY|BYCOL|BYROW|CHOOSECOLS|CHOOSEROWS|DROP|EXPAND|FILTER|HSTACK|LAMBDA|MAKEARRAY|MAP|RANDARRAY|REDUCE|SCAN|"
    r"INGLE|SEQUENCE|SORT|SORTBY|SWITCH|TAKE|TEXTSPLIT|TOCOL|TOROW|UNIQUE|VSTACK|WRAPCOLS|WRAPROWS|XLOOKUP)\("
)


# A cell of a shared formula (ECMA-376 §18.3.1.40, ``t="shared"``): the first cell of the range carries the
# formula and the range, every other cell only the group's index; each engine expands it by moving the
# formula's relative references.  xlsxwriter has no such cell, so FormulaWorksheet writes it.
SharedFormulaCell = namedtuple("SharedFormulaCell", "formula, format, value, si, ref")


class FormulaWorksheet(Worksheet):
    _shared_formulas = 0  # shared-formula groups written on this sheet (each group's si)

    def write_shared_formula(self, first_row: int, last_row: int, col: int, formula: str, values: list[Any]) -> None:
        """One formula down ``col`` from ``first_row`` to ``last_row``, written once and shared; ``formula`` is
        the first row's (relative references move with the row), ``values`` each row's cached result."""
        if self._check_dimensions(first_row, col) or self._check_dimensions(last_row, col):
            raise ValueError(f"shared formula outside the sheet: rows {first_row}-{last_row}, column {col}")
        if self.constant_memory or not formula or len(values) != last_row - first_row + 1 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise ValueError("shared formula: constant_memory mode, no formula, or not one number per row")
        si = self._shared_formulas
        self._shared_formulas = si + 1
        ref = f"{xl_rowcol_to_cell(first_row, col)}:{xl_rowcol_to_cell(last_row, col)}"
        text = self._escape_data(self._prepare_formula(formula))
        for i, value in enumerate(values):
            self.table[first_row + i][col] = SharedFormulaCell(text if i == 0 else None, None, value, si, ref)

    def _write_cell(self, row, col, cell) -> None:
        if cell.__class__ is not SharedFormulaCell:
            return super()._write_cell(row, col, cell)
        # Numbers only: the helper cells hold 1 or 0.
        where = xl_rowcol_to_cell(row, col)
        if cell.formula is None:
            self.fh.write(f'<c r="{where}"><f t="shared" si="{cell.si}"/><v>{cell.value}</v></c>')
        else:
            self.fh.write(f'<c r="{where}"><f t="shared" ref="{cell.ref}" si="{cell.si}">{cell.formula}</f>'
                          f"<v>{cell.value}</v></c>")
        return None

    def _prepare_formula(self, formula, expand_future_functions=False):
        if self.use_future_functions or expand_future_functions or _DYNAMIC.search(formula):
            return super()._prepare_formula(formula, expand_future_functions)
        if formula.startswith("{"):
            formula = formula[1:]
        if formula.startswith("="):
            formula = formula[1:]
        if formula.endswith("}"):
            formula = formula[:-1]
        return formula


# A function applied to a range inside SUMPRODUCT (LEN(TRIM(A5:J5)), ISNUMBER(B5:B300)): Excel and LibreOffice
# evaluate it element by element, Gnumeric only in an array formula.  Such cells are written as single-cell
# array formulas, which all three evaluate the same way.
_RANGE_FUNCTION = re.compile(r"\b(LEN|TRIM|ISNUMBER)\([^()]*:")


def needs_array(formula: str) -> bool:
    return _RANGE_FUNCTION.search(formula) is not None


def write_formula(ws, row: int, col: int, formula: str, cell_format: Any = None, value: Any = 0) -> None:
    """write_formula, as an array formula where another engine would otherwise reduce a range to one value."""
    if needs_array(formula):
        body = formula[1:] if formula.startswith("=") else formula
        ws.write_array_formula(row, col, row, col, "{=" + body + "}", cell_format, value)
    else:
        ws.write_formula(row, col, formula, cell_format, value)
