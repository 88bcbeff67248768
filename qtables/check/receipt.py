"""The annotated receipt: a copy of the submitter's own workbook with every finding marked.

Each finding with a cell gets a fill (red for 强制性, yellow for 核实性) and a
Chinese comment on that cell; a 审核结果 sheet in front lists them all.  The
original file is only read.  Anything that came from the submission is written
as text, never as a formula or a link.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from qtables.check.context import Report
from qtables.fsutil import atomic_path
from qtables.check.findings import SEVERITY_TEXT
from qtables.check.report import STATUS_TEXT
from qtables.template.layout import lines_needed

RESULT_SHEET = "审核结果"
FILLS = {
    "E": PatternFill("solid", fgColor="FFC7CE"),
    "W": PatternFill("solid", fgColor="FFEB9C"),
    "I": PatternFill("solid", fgColor="DDEBF7"),
}
HEADER = ("序号", "类别", "代码", "位置", "问题", "应为", "实为", "说明")


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|\u202a-\u202e\u2066-\u2069\u200e\u200f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_name(name: str, *, limit: int = 80) -> str:
    """A file name made from a submitted name: no paths, no control or bidi characters, no reserved names."""
    base = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .") or "附件"
    if base.split(".")[0].upper() in _RESERVED:
        base = "_" + base
    return base[:limit]


def receipt_name(report: Report) -> str:
    return f"{safe_name(Path(safe_name(report.file)).stem)}_审核回执.xlsx"


def _text(ws: Worksheet, row: int, col: int, value: Any) -> None:
    cell = ws.cell(row=row, column=col)
    if value is None:
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.value = value
        return
    cell.value = str(value)
    cell.data_type = "s"  # never a formula, whatever the text starts with


def write_receipt(report: Report, out_dir: str | os.PathLike[str], *, original: str | os.PathLike[str] | None = None,
                  prefix: str = "") -> Path:
    """Write the receipt for ``report`` into ``out_dir`` (its name after ``prefix``); returns its path."""
    source = Path(original or report.file)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wb = None
    # Only a workbook with something to mark is copied and annotated; a clean one
    # gets the 审核结果 sheet alone (copying it would annotate nothing, slowly).
    marked = any(f.sheet and f.cell and f.severity in FILLS for f in report.findings)
    annotated = report.format in ("xlsx", "xlsm") and marked
    if annotated:
        try:
            # From bytes: archived originals have no file extension, which openpyxl would refuse.
            wb = openpyxl.load_workbook(io.BytesIO(source.read_bytes()), keep_vba=False, keep_links=False)
        except Exception:  # noqa: BLE001 - a file calamine read but openpyxl cannot: findings sheet only
            wb = None
            annotated = False
    if wb is None:
        wb = openpyxl.Workbook()
        wb.active.title = "_"
    if annotated:
        _mark_cells(wb, report)
    ws = wb.create_sheet(RESULT_SHEET, 0)
    _write_results(ws, report, annotated)
    if "_" in wb.sheetnames and len(wb.sheetnames) > 1 and not annotated:
        del wb["_"]
    wb.active = 0
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = sheet.title == RESULT_SHEET
    target = out / (prefix + receipt_name(report))
    with atomic_path(target) as tmp:
        wb.save(tmp)
    return target


def _mark_cells(wb, report: Report) -> None:
    notes: dict[tuple[str, str], list[str]] = {}
    worst: dict[tuple[str, str], str] = {}
    rank = {"E": 0, "W": 1, "I": 2}
    for f in report.findings:
        if not (f.sheet and f.cell) or f.sheet not in wb.sheetnames or f.severity not in rank:
            continue
        key = (f.sheet, f.cell)
        text = f"【{SEVERITY_TEXT[f.severity]} {f.code}】{f.message}"
        if f.expected is not None:
            text += f"\n应为：{f.expected}"
        if f.severity == "W":
            text += f"\n说明：{f.note}" if f.explained else "\n请在“自查”表填写说明。"
        notes.setdefault(key, []).append(text)
        if key not in worst or rank[f.severity] < rank[worst[key]]:
            worst[key] = f.severity
    for (sheet, ref), texts in notes.items():
        ws = wb[sheet]
        cell = ws[ref]
        for merged in ws.merged_cells.ranges:
            if ref in merged:
                cell = ws.cell(row=merged.min_row, column=merged.min_col)
                break
        cell.fill = FILLS[worst[(sheet, ref)]]
        comment = Comment("\n\n".join(texts)[:30000], "qtables")
        comment.width, comment.height = 320, min(600, 80 + 40 * len(texts))
        cell.comment = comment


def _write_results(ws: Worksheet, report: Report, annotated: bool) -> None:
    who = f"{report.identity.unit_name}（{report.identity.unit_code}） {report.period.label if report.period else report.identity.period}" if report.identity else ""
    _text(ws, 1, 1, f"审核结果：{STATUS_TEXT[report.status]}")
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    _text(ws, 2, 1, f"文件：{Path(report.file).name}　{who}")
    summary = f"强制性问题 {report.count('E')} 项（必须改正后重新报送）；核实性问题 {report.count('W')} 项，其中已说明 {report.count('W', explained=True)} 项。"
    _text(ws, 3, 1, summary)
    if not report.findings and report.status == "accepted":
        _text(ws, 4, 1, "审核通过，没有需要标注的问题。")
    elif not annotated:
        _text(ws, 4, 1, "原文件不是 .xlsx 格式或无法打开，无法在原表上标注；请按下表逐项核对。")
    else:
        _text(ws, 4, 1, "问题单元格已在各表中标色并加批注（红色：强制性；黄色：核实性）。")
    for c, title in enumerate(HEADER, start=1):
        _text(ws, 6, c, title)
        ws.cell(row=6, column=c).font = Font(bold=True)
    order = {"F": 0, "E": 1, "W": 2, "I": 3}
    for i, f in enumerate(sorted(report.findings, key=lambda f: order[f.severity]), start=1):
        r = 6 + i
        _text(ws, r, 1, i)
        _text(ws, r, 2, SEVERITY_TEXT[f.severity])
        _text(ws, r, 3, f.code)
        _text(ws, r, 4, f"{f.sheet}!{f.cell}" if f.sheet and f.cell else f.sheet)
        _text(ws, r, 5, f.message)
        _text(ws, r, 6, f.expected)
        _text(ws, r, 7, f.found)
        _text(ws, r, 8, f.note if f.severity == "W" else "")
        if f.severity in FILLS:
            ws.cell(row=r, column=2).fill = FILLS[f.severity]
        ws.cell(row=r, column=5).alignment = Alignment(wrap_text=True, vertical="top")
        for c in (4, 6, 7, 8):
            ws.cell(row=r, column=c).alignment = Alignment(wrap_text=True, vertical="top")
        # As tall as the wrapped problem text, so printed rows never overlap.
        lines = max(lines_needed(f.message, 54), lines_needed(str(f.note or ""), 22), lines_needed(str(f.expected or ""), 10),
                    lines_needed(str(f.found or ""), 12))
        ws.row_dimensions[r].height = 15 * lines + 3
    for col, width in zip("ABCDEFGH", (5, 7, 7, 14, 56, 12, 14, 24)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A7"
    # One landscape A4 page wide, problems first: the submitter reads page 1 and knows what to fix.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "6:6"
    for r in (2, 3, 4):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=8)

