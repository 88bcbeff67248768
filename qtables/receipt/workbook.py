"""The annotated receipt: a copy of the submitter's own workbook with every finding marked.

Each finding with a cell gets a fill (red for 强制性, yellow for 核实性) and a
Chinese comment on that cell; a 审核结果 sheet in front lists them all.  The
original file is only read.  Anything that came from the submission is written
as text, never as a formula or a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import io
import os
import re
from pathlib import Path
from typing import Any

from qtables.receipt import package as receiptpkg
from qtables.check.context import Report
from qtables.fsutil import write_atomic
from qtables.check.findings import SEVERITY_TEXT, consequences_text, figure, fix_for, grouped
from qtables.timing import today_beijing
from qtables.check.report import STATUS_TEXT
from qtables.template.layout import lines_needed
from qtables.template.lines import column_width

RESULT_SHEET = "审核结果"
FILLS = {"E": "FFC7CE", "W": "FFEB9C", "I": "DDEBF7"}  # 强制性 red, 核实性 yellow, 提示 blue
HEADER = ("序号", "代码", "级别", "位置", "问题", "应为", "实为", "说明", "处理办法")


_CELL_ROW = re.compile(r"^[A-Z]{1,3}(\d+)$")
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


def _text(ws, row: int, col: int, value: Any) -> None:
    cell = ws.cell(row=row, column=col)
    if value is None:
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.value = value
        return
    cell.value = str(value)
    cell.data_type = "s"  # never a formula, whatever the text starts with


@dataclass(frozen=True)
class Office:
    """Who answers on the receipt (the workspace's [receipt] reviewer and contact) and the 更正期限: a returned
    filing corrected within ``correction_days`` of ``received`` still counts as on time."""

    reviewer: str = ""
    contact: str = ""
    correction_days: int = 10
    received: date | None = None

    @classmethod
    def of(cls, ws, received: date | None = None) -> "Office":
        """From a workspace: its ``[receipt]`` reviewer and contact, its 更正期限."""
        receipt = ws.config.get("receipt", {})
        return cls(str(receipt.get("reviewer", "")).strip(), str(receipt.get("contact", "")).strip(), ws.correction_days,
                   received)


def write_receipt(report: Report, out_dir: str | os.PathLike[str], *, original: str | os.PathLike[str] | None = None,
                  prefix: str = "", version: int | None = None, office: Office | None = None) -> Path:
    """Write the receipt for ``report`` into ``out_dir`` (its name after ``prefix``); returns its path.

    A workbook with something to mark is the submission itself, edited as a package (receiptpkg: every
    part kept, fills, notes and the 审核结果 sheet added); a clean one, or one that is not .xlsx, gets the
    审核结果 sheet alone.  A package the editor does not rewrite goes through openpyxl instead."""
    source = Path(original or report.file)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    marked = any(f.sheet and f.cell and f.severity in FILLS for f in report.findings)
    annotated = report.format in ("xlsx", "xlsm") and marked
    payload: bytes | None = None
    if annotated:
        data = source.read_bytes()
        if report.format == "xlsx":
            payload = receiptpkg.patch(data, _marks(report), result_sheet(report, annotated=True, version=version, office=office))
        if payload is None:
            payload = _with_openpyxl(report, data)
        if payload is None:  # a file calamine read but neither editor can: the findings sheet alone
            annotated = False
    if payload is None:
        payload = receiptpkg.standalone(result_sheet(report, annotated=False, version=version, office=office))
    return write_atomic(out / (prefix + receipt_name(report)), payload)


def _marks(report: Report) -> receiptpkg.Marks:
    """Per sheet, per cell: the worst severity and the note text of every finding there."""
    cells: dict[str, dict[str, tuple[str, str]]] = {}
    rank = {"E": 0, "W": 1, "I": 2}
    for f in report.findings:
        if not (f.sheet and f.cell) or f.severity not in rank:
            continue
        text = _note_text(f)
        sheet = cells.setdefault(f.sheet, {})
        if f.cell in sheet:
            worst, old = sheet[f.cell]
            sheet[f.cell] = (f.severity if rank[f.severity] < rank[worst] else worst, f"{old}\n\n{text}")
        else:
            sheet[f.cell] = (f.severity, text)
    hidden, heights = _rows_to_print(report, cells)
    return receiptpkg.Marks(cells, hidden, heights)


def _rows_to_print(report: Report, cells: dict[str, dict[str, tuple[str, str]]]) -> tuple[dict, dict]:
    """Per sheet: a list's rows left blank (hidden, so the receipt prints the filled rows and the table's tail, not
    pages of empty grid), and each filled row's height for its wrapped text (1-based rows, points)."""
    hidden: dict[str, tuple[int, int]] = {}
    heights: dict[str, dict[int, float]] = {}
    if report.data is None:
        return hidden, heights
    for td in report.data.tables.values():
        layout, table = td.layout, td.layout.table
        widths = [column_width(c) for c in table.columns]
        texts = [j for j, c in enumerate(table.columns) if c.type in ("text", "choice")]
        last = len(td.rows) - 1
        if table.kind == "records":
            typed = td.split_rows()[0]  # the rows with anything typed (computed once, by the check)
            marked = [int(_CELL_ROW.match(ref).group(1)) - 1 - layout.first_data for ref in cells.get(layout.sheet, {})
                      if _CELL_ROW.match(ref)]
            last = max([0] + typed + [m for m in marked if m <= len(td.rows) - 1])
            if layout.first_data + last + 1 <= layout.last_data:
                hidden[layout.sheet] = (layout.first_data + last + 2, layout.last_data + 1)
        for i, row in enumerate(td.rows[:last + 1]):
            lines = max([1] + [lines_needed(str(row.get(table.columns[j].id) or ""), widths[j]) for j in texts])
            if lines > 1:
                heights.setdefault(layout.sheet, {})[layout.first_data + i + 1] = 15 * lines + 3
    return hidden, heights


def _note_text(f) -> str:
    text = f"【{SEVERITY_TEXT[f.severity]} {f.code}】{f.message}"
    if f.expected is not None:
        text += f"\n应为：{f.expected}"
    if f.severity == "W":
        text += f"\n说明：{f.note}" if f.explained else "\n请在“自查”表填写说明。"
    return text


def _with_openpyxl(report: Report, data: bytes) -> bytes | None:
    """The fallback editor: an openpyxl load and save (slow on the 15k-formula helper sheet, but general)."""
    import openpyxl

    try:
        # From bytes: archived originals have no file extension, which openpyxl would refuse.
        wb = openpyxl.load_workbook(io.BytesIO(data), keep_vba=False, keep_links=False)
    except Exception:  # noqa: BLE001 - a file calamine read but openpyxl cannot
        return None
    _mark_cells(wb, report)
    ws = wb.create_sheet(RESULT_SHEET, 0)
    _write_results(ws, result_sheet(report, annotated=True))
    wb.active = 0
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = sheet.title == RESULT_SHEET
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _mark_cells(wb, report: Report) -> None:
    from openpyxl.comments import Comment

    for sheet, cells in _marks(report).cells.items():
        if sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        for ref, (severity, text) in cells.items():
            cell = ws[ref]
            for merged in ws.merged_cells.ranges:
                if ref in merged:
                    cell = ws.cell(row=merged.min_row, column=merged.min_col)
                    break
            cell.fill = _openpyxl_fill(severity)
            comment = Comment(text[:30000], "qtables")
            comment.width, comment.height = 320, min(600, 80 + 40 * text.count("【"))
            cell.comment = comment


def _openpyxl_fill(severity: str):
    from openpyxl.styles import PatternFill

    return PatternFill("solid", fgColor=FILLS[severity])


def result_sheet(report: Report, *, annotated: bool, version: int | None = None, office: Office | None = None) -> receiptpkg.ResultSheet:
    """The 审核结果 sheet: verdict, file, counts, what was marked, then one row per finding (problems first)."""
    who = f"{report.identity.unit_name}（{report.identity.unit_code}） {report.period.label if report.period else report.identity.period}" if report.identity else ""
    problems = grouped(report.findings)
    leading = [f for f, _follow in problems]
    follow_count = sum(len(follow) for _f, follow in problems if follow)
    summary = (f"强制性问题 {sum(1 for f in leading if f.severity == 'E')} 项（必须改正后重新报送）；核实性问题 "
               f"{sum(1 for f in leading if f.severity == 'W')} 项，其中已说明 {sum(1 for f in leading if f.severity == 'W' and f.explained)} 项。"
               + (f"另有 {follow_count} 项是同一单元格问题的连带结果，列在该问题下。" if follow_count else ""))
    if not report.findings and report.status == "accepted":
        how = "审核通过，没有需要标注的问题。"
    elif not annotated:
        how = "原文件不是 .xlsx 格式或无法打开，无法在原表上标注；请按下表逐项核对。"
    else:
        how = "问题单元格已在各表中标色并加批注（红色：强制性；黄色：核实性）。"
    rows: list[tuple[int, list[tuple[Any, str]], float | None]] = [
        (1, [(f"{'复核结果' if any(f.code == 'R01' for f in report.findings) else '审核结果'}：{STATUS_TEXT[report.status]}", "title")], 22),
        (2, [(f"文件：{Path(report.file).name}　{who}" + (f"　第{version}版" if version else "")
              + f"　审核日期：{_cn_date(today_beijing())}", "plain")], None),
        (3, [(summary, "plain")], None),
        (4, [(how, "plain")], None),
        (5, [(_office_line(report, office), "plain")], None),
        (6, [(title, "head") for title in HEADER], None),
    ]
    for i, (f, follow) in enumerate(problems, start=1):
        message = f.message + (f"\n{consequences_text(follow)}" if follow else "")
        # As tall as the wrapped problem text, so printed rows never overlap.
        fix = fix_for(f)
        lines = max(lines_needed(message, 44), lines_needed(str(f.note or ""), 22), lines_needed(str(f.expected or ""), 15),
                    lines_needed(str(f.found or ""), 12), lines_needed(fix, 28))
        cells = [(i, "top"), (f.code, "top"), (SEVERITY_TEXT[f.severity], f"sev-{f.severity}" if f.severity in FILLS else "top"),
                 (f"{f.sheet}!{f.cell}" if f.sheet and f.cell else f.sheet, "wrap"), (message, "wrap"),
                 (_shown(f.expected), "wrap"), (_shown(f.found), "wrap"), (f.note if f.severity == "W" else "", "wrap"),
                 (fix, "wrap")]
        rows.append((6 + i, cells, 15 * lines + 3))
    # One landscape A4 page wide, problems first: the submitter reads page 1 and knows what to fix.
    return receiptpkg.ResultSheet(name=RESULT_SHEET, rows=rows, widths=[5, 7, 7, 14, 46, 16, 14, 22, 30],
                                  merges=["A2:I2", "A3:I3", "A4:I4", "A5:I5"], freeze_row=6, title_rows="$6:$6")


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _office_line(report: Report, office: Office | None) -> str:
    """Who reviewed it and how to reach them; for a filing sent back, the date by which a correction still counts
    as on time (更正期限)."""
    office = office or Office()
    parts = [f"审核人：{office.reviewer}" if office.reviewer else "审核人：汇总单位统计员",
             f"联系方式：{office.contact}" if office.contact else ""]
    if report.status == "rejected":
        if office.received is not None:
            limit = office.received + timedelta(days=office.correction_days)
            parts.append(f"更正期限：请于{_cn_date(limit)}前改正后重新报送（自收到之日起{office.correction_days}天内改正的仍算按时）")
        else:
            parts.append(f"更正期限：自收到之日起{office.correction_days}天内改正后重新报送，仍算按时")
    return "　".join(p for p in parts if p)


def _shown(value: Any) -> Any:
    """A value from the submission as text or a number (never a formula: the sheet writers store text as text),
    a figure as the sheet shows it: whole numbers whole, others to the 2 decimals every 面积/造价/率 column has."""
    if value is None:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return figure(value)
    return str(value)


def _write_results(ws, sheet: receiptpkg.ResultSheet) -> None:
    """The 审核结果 sheet through openpyxl (the fallback editor), from the same description."""
    from openpyxl.styles import Alignment, Border, Font, Side

    thin = Side(style="thin")
    ruled = Border(left=thin, right=thin, top=thin, bottom=thin)
    for r, cells, height in sheet.rows:
        for c, (value, role) in enumerate(cells, start=1):
            _text(ws, r, c, value)
            cell = ws.cell(row=r, column=c)
            if role not in ("plain", "title"):
                cell.border = ruled
            if role == "title":
                cell.font = Font(bold=True, size=14)
            elif role == "head":
                cell.font = Font(bold=True)
            elif role == "wrap":
                cell.alignment = Alignment(horizontal="left", wrap_text=True, vertical="top")
            elif role == "top":
                cell.alignment = Alignment(horizontal="center", vertical="top")
            elif role.startswith("sev-"):
                cell.fill = _openpyxl_fill(role[4:])
                cell.alignment = Alignment(horizontal="center", vertical="top")
        if height:
            ws.row_dimensions[r].height = height
    for i, width in enumerate(sheet.widths):
        ws.column_dimensions[chr(65 + i)].width = width
    ws.freeze_panes = f"A{sheet.freeze_row + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = sheet.title_rows.replace("$", "")
    for ref in sheet.merges:
        ws.merge_cells(ref)
