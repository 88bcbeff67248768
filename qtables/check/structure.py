"""Structural checks: the template's sheets, rows and columns where the layout put them."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from qtables.read import normalize
from qtables.check.findings import make
from qtables.template.identity import IDENTITY_SHEET
from qtables.template.names import CHECK_SHEET, SELF_CHECK_SHEET
from qtables.template.names import GUIDE_SHEET, LISTS_SHEET
from qtables.template.layout import TableLayout, a1
from qtables.read.workbook import RawWorkbook, Sheet
from qtables.check.context import Report


def same(a: Any, b: Any) -> bool:
    return a == b or fold(a) == _fold_expected(b)  # text as written (the usual case) folds alike


def fold(v: Any) -> str:
    text = normalize.clean_text(v) or ""
    return unicodedata.normalize("NFKC", text).replace(" ", "")


@lru_cache(maxsize=4096)
def _fold_expected(text: str) -> str:
    """A header or label the layout expects, folded once."""
    return fold(text)


def check_structure(book: RawWorkbook, layouts: dict[str, TableLayout], report: Report) -> set[str]:
    broken: set[str] = set()
    add = report.findings.append
    for tid, layout in layouts.items():
        if not book.has_sheet(layout.sheet):
            add(make("S01", table=layout.table.name, expected=layout.sheet))
            broken.add(tid)
            continue
        sheet = book.sheet(layout.sheet)
        before = len(report.findings)
        wrong = [(r0, c0, text) for r0, c0, _r1, _c1, text in layout.header_cells() if not same(sheet.get(r0, c0), text)]
        if wrong:
            shift = find_shift(sheet, wrong)
            r0, c0, text = wrong[0]
            cell = a1(r0, c0, abs_row=False, abs_col=False)
            if shift:
                dr, dc = shift
                moved = "、".join(x for x in (f"{abs(dr)} 行" if dr else "", f"{abs(dc)} 列" if dc else "") if x)
                add(make("S05", table=layout.table.name, sheet=layout.sheet, cell=cell, expected=fold(text), found=fold(sheet.get(r0, c0)),
                         detail=f"{len(wrong)} 个表头单元格整体移动了 {moved}（插入或删除了行、列）"))
            else:
                add(make("S03", table=layout.table.name, sheet=layout.sheet, cell=cell, expected=fold(text), found=fold(sheet.get(r0, c0))))
        else:
            check_row_labels(sheet, layout, report)
        if len(report.findings) > before:
            broken.add(tid)
    return broken


def find_shift(sheet: Sheet, wrong: list[tuple[int, int, str]]) -> tuple[int, int] | None:
    """The one offset that explains the misplaced header cells, if there is one (rows or columns moved)."""
    if len(wrong) < 2:
        return None
    for dr in range(-3, 4):
        for dc in range(-3, 4):
            if (dr or dc) and all(r + dr >= 0 and c + dc >= 0 for r, c, _ in wrong):
                hits = sum(1 for r, c, text in wrong if same(sheet.get(r + dr, c + dc), text))
                if hits >= max(2, 0.8 * len(wrong)):
                    return dr, dc
    return None


def check_row_labels(sheet: Sheet, layout: TableLayout, report: Report) -> None:
    table = layout.table
    label_col = next((c.id for c in table.columns if c.role == "label"), None)
    expected_rows: list[tuple[int, str]] = []
    if table.kind in ("keyed", "categories", "scoring") and label_col:
        expected_rows = [(layout.first_data + i, r.label) for i, r in enumerate(layout.rows)]
    if layout.total_row is not None and table.kind != "scoring" and label_col:
        expected_rows.append((layout.total_row, table.total_label or "合计"))
    for row, label in expected_rows:
        found = sheet.get(row, layout.col(label_col))
        if not same(found, label):
            cell = a1(row, layout.col(label_col), abs_row=False, abs_col=False)
            elsewhere = any(same(sheet.get(r, layout.col(label_col)), label) for r in range(max(0, row - 5), row + 6))
            if elsewhere:
                add = make("S05", table=table.name, sheet=layout.sheet, cell=cell, expected=label, found=found,
                           detail=f"“{fold(label)}”一行不在第 {row + 1} 行（插入、删除或移动了行）")
            else:
                add = make("S04", table=table.name, sheet=layout.sheet, cell=cell, expected=fold(label), found=fold(found), row=row + 1)
            report.findings.append(add)
            return
    if table.printed_notes and table.kind == "records":
        found = sheet.get(layout.notes_row, 0)
        if not same(found, table.printed_notes):
            report.findings.append(make("S05", table=table.name, sheet=layout.sheet, cell=a1(layout.notes_row, 0, abs_row=False, abs_col=False),
                                        detail=f"表尾说明不在第 {layout.notes_row + 1} 行（插入或删除了行）"))


def check_extra_sheets(book: RawWorkbook, layouts: dict[str, TableLayout], report: Report) -> None:
    known = {GUIDE_SHEET, SELF_CHECK_SHEET, LISTS_SHEET, CHECK_SHEET, IDENTITY_SHEET} | {lay.sheet for lay in layouts.values()}
    for name in book.sheet_names:
        if name not in known and not name.startswith("_prev_") and book.visible.get(name, True):
            report.findings.append(make("S02", sheet=name, found=name))
