"""Cell formats of an issued workbook (xlsxwriter), created once per workbook and cached."""

from __future__ import annotations

import re
from typing import Any

import xlsxwriter
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
        self.form_line = wb.add_format(dict(base, font_size=9, align="right"))
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


# The dynamic-array functions xlsxwriter rewrites to _xlfn.* on every formula (30 regex passes each);
# the templates use none, so one search decides whether the rewrite is needed.  Output is identical.
_DYNAMIC = re.compile(
    r"(ANCHORARRAY|BYCOL|BYROW|CHOOSECOLS|CHOOSEROWS|DROP|EXPAND|FILTER|HSTACK|LAMBDA|MAKEARRAY|MAP|RANDARRAY|REDUCE|SCAN|"
    r"INGLE|SEQUENCE|SORT|SORTBY|SWITCH|TAKE|TEXTSPLIT|TOCOL|TOROW|UNIQUE|VSTACK|WRAPCOLS|WRAPROWS|XLOOKUP)\("
)


class FormulaWorksheet(Worksheet):
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
