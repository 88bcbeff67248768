"""Check one returned workbook: identity, structure, values, derived cells, rules, 说明.

The verdict is the one the template's live 自查 sheet shows, because the rules
are the same spec evaluated by the Python runtime of the same expressions.  In
addition the checker sees what a template cannot: the signature, another
unit's or period's template, tampered structure, text that is not a number,
and overwritten formulas.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from qtables import normalize
from qtables.findings import Finding, make
from qtables.identity import IDENTITY_SHEET, PROPERTY_PREFIX, Identity
from qtables.issue.selfcheck import CHECK_SHEET, NOTE_COL, SELF_CHECK_HEADER_ROW, SELF_CHECK_SHEET
from qtables.issue.workbook import GUIDE_SHEET, LISTS_SHEET
from qtables.layout import TableLayout, a1, describe_cell
from qtables.period import Period
from qtables.read import RawWorkbook, ReadLimits, ReadProblem, Sheet, read_workbook
from qtables.registry import Registry, Unit
from qtables.rules import TableData, WorkbookData, compute_derived, run_rules
from qtables.spec.model import Rule, Spec

# A 说明 that explains nothing.
BOILERPLATE = {
    "已核实", "核实", "已核查", "核实无误", "经核实无误", "经核实", "无误", "无", "属实", "情况属实", "数据属实", "正确",
    "数据正确", "已确认", "确认", "没问题", "无问题", "正常", "同上", "见上", "说明", "ok", "是", "对", "已改", "已修改",
}
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass
class CheckContext:
    spec: Spec
    registry: Registry
    key: bytes
    expected_unit: str | None = None
    expected_period: str | None = None
    # (unit code, period code) -> table id -> row key -> values: accepted figures of earlier periods
    history: dict[tuple[str, str], dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    # Falls back to this (the ledger's accepted data) for periods not in ``history``.
    lookup: Callable[[str, str], dict[str, dict[str, dict[str, Any]]] | None] | None = None
    limits: ReadLimits | None = None

    def previous_for(self, unit: Unit, period: Period) -> dict[str, dict[str, dict[str, Any]]] | None:
        key = (unit.code, period.previous().code)
        if key in self.history:
            return self.history[key]
        return self.lookup(*key) if self.lookup else None


@dataclass
class Report:
    file: str
    findings: list[Finding] = field(default_factory=list)
    identity: Identity | None = None
    format: str | None = None
    data: WorkbookData | None = None
    unit: Unit | None = None
    period: Period | None = None
    receipt: str | None = None

    @property
    def status(self) -> str:
        severities = {f.severity for f in self.findings}
        if "F" in severities:
            return "unreadable"
        if "E" in severities:
            return "rejected"
        if any(f.severity == "W" and not f.explained for f in self.findings):
            return "accepted_with_warnings"
        return "accepted"

    @property
    def exit_code(self) -> int:
        return {"unreadable": 2, "rejected": 1}.get(self.status, 0)

    def count(self, severity: str, *, explained: bool | None = None) -> int:
        return sum(1 for f in self.findings if f.severity == severity and (explained is None or f.explained == explained))

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "status": self.status,
            "format": self.format,
            "unit": self.identity.unit_code if self.identity else None,
            "period": self.identity.period if self.identity else None,
            "template_id": self.identity.template_id if self.identity else None,
            "findings": [f.as_json() for f in self.findings],
        }


def check_file(path: str | Path, ctx: CheckContext, *, data: bytes | None = None) -> Report:
    report = Report(file=str(path))
    try:
        book = read_workbook(path, data=data, limits=ctx.limits)
    except ReadProblem as problem:
        details = dict(problem.details)
        details.setdefault("name", Path(path).name)
        report.findings.append(make(problem.code, **details))
        return report
    report.format = book.format
    if book.has_macros:
        report.findings.append(make("M01"))
    try:
        _check_book(book, ctx, report)
    except ReadProblem as problem:
        details = dict(problem.details)
        details.setdefault("name", Path(path).name)
        report.findings.append(make(problem.code, **details))
    return report


# -- identity -----------------------------------------------------------


def read_identity(book: RawWorkbook) -> tuple[Identity | None, Identity | None]:
    """(from the hidden sheet, from the document properties); either may be missing."""
    from_sheet = None
    if book.has_sheet(IDENTITY_SHEET):
        rows = book.sheet(IDENTITY_SHEET).rows
        pairs = {normalize.clean_text(r[0]): r[1] for r in rows[1:] if len(r) > 1 and r[0]}
        if pairs.get("template_id"):
            from_sheet = Identity.from_pairs(pairs)
    props = {k[len(PROPERTY_PREFIX):]: v for k, v in book.properties.items() if k.startswith(PROPERTY_PREFIX)}
    from_props = Identity.from_pairs(props) if props.get("template_id") else None
    return from_sheet, from_props


def _check_book(book: RawWorkbook, ctx: CheckContext, report: Report) -> None:
    spec = ctx.spec
    from_sheet, from_props = read_identity(book)
    identity = from_sheet or from_props
    if identity is None:
        report.findings.append(make("F05", name=book.name))
        return
    report.identity = identity
    add = report.findings.append
    if from_sheet and from_props and from_sheet != from_props:
        diff = [k for (k, a), (_, b) in zip(from_sheet.as_pairs(), from_props.as_pairs()) if a != b]
        add(make("I05", detail="、".join(diff)))
    if not identity.verify(ctx.key):
        add(make("I01"))
    if identity.spec_version != spec.version:
        add(make("I04", expected=spec.version, found=identity.spec_version))
    try:
        unit = ctx.registry.unit(identity.unit_code)
    except Exception:  # noqa: BLE001 - an unknown code is a finding, not a crash
        add(make("I06", found=identity.unit_code))
        return
    try:
        period = Period.parse(identity.period)
    except Exception:  # noqa: BLE001
        add(make("I05", detail=f"报告期“{identity.period}”无法识别"))
        return
    report.unit, report.period = unit, period
    if ctx.expected_unit and ctx.expected_unit != unit.code:
        expected = ctx.registry.unit(ctx.expected_unit)
        add(make("I02", expected=f"{expected.name}（{expected.code}）", found=f"{unit.name}（{unit.code}）"))
    if ctx.expected_period and ctx.expected_period != period.code:
        add(make("I03", expected=Period.parse(ctx.expected_period).label, found=period.label))
    unknown = [t for t in identity.tables if t not in spec.tables]
    if unknown:
        add(make("I05", detail=f"未知的表 {','.join(unknown)}"))
        return

    layouts = {t: TableLayout.for_unit(spec.table(t), unit) for t in identity.tables}
    broken = _check_structure(book, layouts, report)
    _check_extra_sheets(book, layouts, report)

    tables: dict[str, TableData] = {}
    raw_tables: dict[str, TableData] = {}
    cached: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {}
    for tid, layout in layouts.items():
        if tid in broken:
            continue
        sheet = book.sheet(layout.sheet)
        rows, raw_rows, derived_rows, total = _read_table(sheet, layout, spec, report)
        tables[tid] = TableData(layout, rows)
        raw_tables[tid] = TableData(layout, raw_rows)
        cached[tid] = (derived_rows, total)
    previous = ctx.previous_for(unit, period)
    data = WorkbookData(spec, period, tables, previous=previous)
    compute_derived(data)
    # Formula cells are compared with what the template's formulas give on the
    # file's own raw values (Excel ignores text in SUM); the rules use the
    # leniently normalized values.
    as_typed = WorkbookData(spec, period, raw_tables, previous=previous)
    compute_derived(as_typed)
    _check_derived(as_typed, cached, report)
    report.data = data

    set_names = [period.kind] + (["scoring"] if any(spec.table(t).kind == "scoring" for t in identity.tables) else [])
    rules = [r for r in spec.rules_for(set_names, [t for t in identity.tables if t not in broken]) if _rule_tables(r, spec) <= set(tables)]
    notes = _read_notes(book, spec)
    _rule_findings(rules, data, notes, report)


# -- structure ----------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    return _fold(a) == _fold(b)


def _fold(v: Any) -> str:
    text = normalize.clean_text(v) or ""
    return unicodedata.normalize("NFKC", text).replace(" ", "")


def _check_structure(book: RawWorkbook, layouts: dict[str, TableLayout], report: Report) -> set[str]:
    broken: set[str] = set()
    add = report.findings.append
    for tid, layout in layouts.items():
        if not book.has_sheet(layout.sheet):
            add(make("S01", table=layout.table.name, expected=layout.sheet))
            broken.add(tid)
            continue
        sheet = book.sheet(layout.sheet)
        before = len(report.findings)
        wrong = [(r0, c0, text) for r0, c0, _r1, _c1, text in layout.header_cells() if not _same(sheet.get(r0, c0), text)]
        if wrong:
            shift = _shift(sheet, wrong)
            r0, c0, text = wrong[0]
            cell = a1(r0, c0, abs_row=False, abs_col=False)
            if shift:
                dr, dc = shift
                moved = "、".join(x for x in (f"{abs(dr)} 行" if dr else "", f"{abs(dc)} 列" if dc else "") if x)
                add(make("S05", table=layout.table.name, sheet=layout.sheet, cell=cell, expected=_fold(text), found=_fold(sheet.get(r0, c0)),
                         detail=f"{len(wrong)} 个表头单元格整体移动了 {moved}（插入或删除了行、列）"))
            else:
                add(make("S03", table=layout.table.name, sheet=layout.sheet, cell=cell, expected=_fold(text), found=_fold(sheet.get(r0, c0))))
        else:
            _check_row_labels(sheet, layout, report)
        if len(report.findings) > before:
            broken.add(tid)
    return broken


def _shift(sheet: Sheet, wrong: list[tuple[int, int, str]]) -> tuple[int, int] | None:
    """The one offset that explains the misplaced header cells, if there is one (rows or columns moved)."""
    if len(wrong) < 2:
        return None
    for dr in range(-3, 4):
        for dc in range(-3, 4):
            if (dr or dc) and all(r + dr >= 0 and c + dc >= 0 for r, c, _ in wrong):
                hits = sum(1 for r, c, text in wrong if _same(sheet.get(r + dr, c + dc), text))
                if hits >= max(2, 0.8 * len(wrong)):
                    return dr, dc
    return None


def _check_row_labels(sheet: Sheet, layout: TableLayout, report: Report) -> None:
    table = layout.table
    label_col = next((c.id for c in table.columns if c.role == "label"), None)
    expected_rows: list[tuple[int, str]] = []
    if table.kind in ("keyed", "categories", "scoring") and label_col:
        expected_rows = [(layout.first_data + i, r.label) for i, r in enumerate(layout.rows)]
    if layout.total_row is not None and table.kind != "scoring" and label_col:
        expected_rows.append((layout.total_row, table.total_label or "合计"))
    for row, label in expected_rows:
        found = sheet.get(row, layout.col(label_col))
        if not _same(found, label):
            cell = a1(row, layout.col(label_col), abs_row=False, abs_col=False)
            elsewhere = any(_same(sheet.get(r, layout.col(label_col)), label) for r in range(max(0, row - 5), row + 6))
            if elsewhere:
                add = make("S05", table=table.name, sheet=layout.sheet, cell=cell, expected=label, found=found,
                           detail=f"“{_fold(label)}”一行不在第 {row + 1} 行（插入、删除或移动了行）")
            else:
                add = make("S04", table=table.name, sheet=layout.sheet, cell=cell, expected=_fold(label), found=_fold(found), row=row + 1)
            report.findings.append(add)
            return
    if table.notes and table.kind == "records":
        found = sheet.get(layout.notes_row, 0)
        if not _same(found, table.notes):
            report.findings.append(make("S05", table=table.name, sheet=layout.sheet, cell=a1(layout.notes_row, 0, abs_row=False, abs_col=False),
                                        detail=f"表尾说明不在第 {layout.notes_row + 1} 行（插入或删除了行）"))


def _check_extra_sheets(book: RawWorkbook, layouts: dict[str, TableLayout], report: Report) -> None:
    known = {GUIDE_SHEET, SELF_CHECK_SHEET, LISTS_SHEET, CHECK_SHEET, IDENTITY_SHEET} | {lay.sheet for lay in layouts.values()}
    for name in book.sheet_names:
        if name not in known and not name.startswith("_prev_") and book.visible.get(name, True):
            report.findings.append(make("S02", sheet=name, found=name))


# -- values -------------------------------------------------------------


def _read_table(sheet: Sheet, layout: TableLayout, spec: Spec, report: Report):
    table = layout.table
    rows: list[dict[str, Any]] = []
    raw_rows: list[dict[str, Any]] = []
    derived_rows: list[dict[str, Any]] = []
    lo, hi = layout.input_span
    empty_values = {c.id: normalize.cell(None, c).value for c in table.input_columns}
    for i, row_spec in enumerate(layout.rows):
        r = layout.first_data + i
        line = sheet.rows[r] if r < len(sheet.rows) else []
        if table.kind == "records" and all(v == "" or v is None for v in line[lo:hi + 1]):
            # Most detail rows are empty: no need to look at each cell.
            rows.append(dict(empty_values))
            raw_rows.append(dict(empty_values))
            derived_rows.append({c.id: (line[layout.col(c.id)] if layout.col(c.id) < len(line) else None) or None
                                 for c in table.columns if c.is_derived})
            continue
        values: dict[str, Any] = {}
        raw_values: dict[str, Any] = {}
        derived: dict[str, Any] = {}
        for col in table.columns:
            c = layout.col(col.id)
            raw = sheet.get(r, c)
            if col.role == "label":
                values[col.id] = raw_values[col.id] = row_spec.label
            elif col.type == "key":
                continue
            elif col.is_derived:
                derived[col.id] = raw
            else:
                choices = spec.choices[col.choices].values if col.choices else ()
                v = normalize.cell(raw, col, choices)
                values[col.id] = v.value if v.problem is None else v.original
                raw_values[col.id] = v.value if v.note is None and v.problem is None else raw
                if v.problem:
                    report.findings.append(make(v.problem, table=table.name, sheet=layout.sheet, cell=a1(r, c, abs_row=False, abs_col=False),
                                                found=v.original))
                elif v.note:
                    report.findings.append(make(v.note, table=table.name, sheet=layout.sheet, cell=a1(r, c, abs_row=False, abs_col=False),
                                                found=v.original, expected=v.value))
        rows.append(values)
        raw_rows.append(raw_values)
        derived_rows.append(derived)
    total: dict[str, Any] = {}
    if layout.total_row is not None:
        for col in table.columns:
            if col.type != "key":
                total[col.id] = sheet.get(layout.total_row, layout.col(col.id))
    return rows, raw_rows, derived_rows, total


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


def _differs(cached: Any, computed: Any, *, blank_reads_as_zero: bool = False) -> bool:
    """Does a cached formula value disagree with the recomputed one? (No cached value: no.)"""
    if cached is None or cached == "":
        return False
    if blank_reads_as_zero and computed is None and cached == 0:
        return False
    c, v = _num(cached), _num(computed)
    if c is None:
        # An error value (#VALUE! …) where the formula cannot compute is consistent.
        return not (v is None and isinstance(cached, str) and cached.startswith("#"))
    if v is None:
        return True  # a number where the formula gives blank
    return abs(c - v) > 1e-6 * max(1.0, abs(v)) + 1e-9


def _check_derived(data: WorkbookData, cached: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]], report: Report) -> None:
    # In .xls files an empty-text formula result reads back as 0.
    lenient = report.format == "xls"
    for tid, (derived_rows, total) in cached.items():
        td = data.tables[tid]
        layout = td.layout
        for i, (row, found) in enumerate(zip(td.rows, derived_rows)):
            for cid, value in found.items():
                if cid == "subtotal" and row.get(cid) is None:
                    continue  # merged 小计 cells hold the value in their first row only
                if _differs(value, row.get(cid), blank_reads_as_zero=lenient):
                    r, c = layout.first_data + i, layout.col(cid)
                    report.findings.append(make("D01", table=layout.table.name, sheet=layout.sheet, cell=a1(r, c, abs_row=False, abs_col=False),
                                                expected=row.get(cid), found=value))
        for cid, value in total.items():
            if _differs(value, td.total.get(cid), blank_reads_as_zero=lenient):
                c = layout.col(cid)
                report.findings.append(make("D01", table=layout.table.name, sheet=layout.sheet,
                                            cell=a1(layout.total_row, c, abs_row=False, abs_col=False), expected=td.total.get(cid), found=value))


# -- rules and 说明 ------------------------------------------------------


def _rule_tables(rule: Rule, spec: Spec) -> set[str]:
    from qtables.spec import expr

    out = {rule.table}
    for node in (rule.assertion, rule.when):
        if node is None:
            continue
        for ref, _ in expr.refs(node):
            if ref.parts[0] in spec.tables:
                out.add(ref.parts[0])
    return out


def _read_notes(book: RawWorkbook, spec: Spec) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(code, table name, message) -> (说明, its cell on the 自查 sheet)."""
    if not book.has_sheet(SELF_CHECK_SHEET):
        return {}
    notes = {}
    rows = book.sheet(SELF_CHECK_SHEET).rows
    for r in range(SELF_CHECK_HEADER_ROW + 1, len(rows)):
        row = rows[r]
        if len(row) > NOTE_COL and row[1]:
            text = normalize.clean_text(row[NOTE_COL])
            if text:
                notes[(str(row[1]), str(row[3]), str(row[4]))] = (text, a1(r, NOTE_COL, abs_row=False, abs_col=False))
    return notes


def is_boilerplate(note: str) -> bool:
    folded = _PUNCT.sub("", unicodedata.normalize("NFKC", note)).casefold()
    return folded in BOILERPLATE or len(folded) < 4


def _rule_findings(rules: list[Rule], data: WorkbookData, notes: dict[tuple[str, str, str], tuple[str, str]], report: Report) -> None:
    spec = data.spec
    copies: dict[str, int] = {}
    for text, _cell in notes.values():
        copies[text] = copies.get(text, 0) + 1
    flagged: set[tuple[str, str, str]] = set()
    # A cell already reported as unreadable text is not reported again by the type rules.
    unreadable = {(f.sheet, f.cell) for f in report.findings if f.code in ("N01", "N02")}
    unreadable_rows = {(sheet, int(re.sub(r"[A-Z]+", "", cell))) for sheet, cell in unreadable}
    for res in run_rules(rules, data):
        if res.status != "fail":
            continue
        rule = res.rule
        layout = data.tables[rule.table].layout
        if rule.scope == "row":
            r, c = layout.first_data + (res.row or 0), layout.col(rule.target)
            where = describe_cell(layout, r, layout.table.column(rule.target))
        else:
            r, c = layout.target_cell(rule.target)
            where = describe_cell(layout, r, layout.table.column(rule.target.split(".")[-1]))
        if rule.code.startswith("V") and (layout.sheet, a1(r, c, abs_row=False, abs_col=False)) in unreadable:
            continue
        if res.error and rule.scope == "row" and (layout.sheet, r + 1) in unreadable_rows:
            continue  # the unreadable cell of this row is already reported
        found = res.found
        if found is None and rule.scope == "row" and res.expected is None:
            found = data.tables[rule.table].rows[res.row or 0].get(rule.target)
        finding = Finding(
            code=rule.code,
            severity=rule.severity,
            message=f"{rule.message}（{where}）",
            table=layout.table.name,
            sheet=layout.sheet,
            cell=a1(r, c, abs_row=False, abs_col=False),
            expected=_round(res.expected),
            found=_round(found),
        )
        if rule.severity == "W":
            key = (rule.code, spec.table(rule.table).name, rule.message)
            note, note_cell = notes.get(key, ("", ""))
            if note:
                finding.note = note
                if is_boilerplate(note) or copies.get(note, 0) >= 3:
                    if key not in flagged:
                        report.findings.append(make("C01", table=layout.table.name, sheet=SELF_CHECK_SHEET, cell=note_cell,
                                                    found=note, rule=rule.code))
                        flagged.add(key)
                else:
                    finding.explained = True
        report.findings.append(finding)


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6)
    return v


def carried_figures(report: Report) -> dict[str, dict[str, dict[str, Any]]]:
    """What a checked submission hands to the next period: per keyed table, row key -> values."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    if report.data is None:
        return out
    for tid, td in report.data.tables.items():
        if td.table.kind == "keyed":
            out[tid] = {row.key: dict(values) for row, values in zip(td.layout.rows, td.rows)}
    return out
