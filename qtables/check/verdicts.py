"""Rule verdicts as findings, with the submitter's 说明 weighed (boilerplate does not count)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from qtables.read import normalize
from qtables.check.findings import Finding, make
from qtables.template.names import NOTE_COL, SELF_CHECK_HEADER_ROW, SELF_CHECK_SHEET
from qtables.template.layout import a1, describe_cell
from qtables.read.workbook import RawWorkbook
from qtables.template.rules import WorkbookData, run_rules
from qtables.spec.model import Rule, Spec
from qtables.check.context import Report
from qtables.figures import Previous
from qtables.period import from_excel_serial


# A 说明 that explains nothing.
BOILERPLATE = {
    "已核实", "核实", "已核查", "核实无误", "经核实无误", "经核实", "无误", "无", "属实", "情况属实", "数据属实", "正确",
    "数据正确", "已确认", "确认", "没问题", "无问题", "正常", "同上", "见上", "说明", "ok", "是", "对", "已改", "已修改",
}


_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


_RULE_TABLES: dict[int, tuple[Rule, Spec, frozenset[str]]] = {}


def rule_tables(rule: Rule, spec: Spec) -> frozenset[str]:
    """The tables a rule reads (worked out once per rule)."""
    hit = _RULE_TABLES.get(id(rule))
    if hit is None or hit[0] is not rule or hit[1] is not spec:
        hit = _RULE_TABLES[id(rule)] = (rule, spec, frozenset(_rule_tables(rule, spec)))
    return hit[2]


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


def read_notes(book: RawWorkbook, spec: Spec) -> dict[tuple[str, str, str], tuple[str, str]]:
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


def rule_findings(rules: list[Rule], data: WorkbookData, notes: dict[tuple[str, str, str], tuple[str, str]], report: Report,
                  sources: dict[str, str] | None = None) -> None:
    sources = sources or {}
    spec = data.spec
    copies: dict[str, int] = {}
    for text, _cell in notes.values():
        copies[text] = copies.get(text, 0) + 1
    flagged: set[tuple[str, str, str]] = set()
    # A cell already reported as unreadable text is not reported again by the type rules.
    unreadable = {(f.sheet, f.cell) for f in report.findings if f.code in ("N01", "N02")}
    unreadable_rows = {(sheet, int(re.sub(r"[A-Z]+", "", cell))) for sheet, cell in unreadable}
    for res in run_rules(rules, data, passes=False):
        if res.status != "fail":
            continue
        rule = res.rule
        layout = data.tables[rule.table].layout
        if rule.scope == "row" and res.at_total:
            r, c = layout.total_row, layout.col(rule.target)
            where = describe_cell(layout, r, layout.table.column(rule.target))
        elif rule.scope == "row":
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
            td = data.tables[rule.table]
            found = td.total.get(rule.target) if res.at_total else td.rows[res.row or 0].get(rule.target)
        source = sources.get("previous" if "previous" in rule.needs else "quarters" if "quarters" in rule.needs else "", "")
        column_id = rule.target.split(".")[-1]
        target_column = layout.table.column(column_id) if layout.table.has_column(column_id) else None
        finding = Finding(
            code=rule.code,
            severity=rule.severity,
            message=f"{rule.message}（{where}" + (f"；对照：{source}）" if source else "）"),
            table=layout.table.name,
            sheet=layout.sheet,
            cell=a1(r, c, abs_row=False, abs_col=False),
            expected=_as_shown(res.expected, target_column),
            found=_as_shown(found, target_column),
            source=source,
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


def _as_shown(v: Any, column) -> Any:
    """A value as the submitter reads it: dates as 2025-09-30, not Excel serials (45930)."""
    if column is not None and column.type == "date" and isinstance(v, (int, float)) and not isinstance(v, bool) and 1 < v < 2958466:
        return from_excel_serial(v).isoformat()
    return _round(v)


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


def previous_from_report(report: Report, name: str) -> Previous:
    """A checked workbook as the previous period of the next one (``check --previous FILE``)."""
    assert report.data is not None and report.period is not None
    detail: dict[str, dict[str, dict[str, Any]]] = {}
    for tid, td in report.data.tables.items():
        if td.table.kind == "records":
            detail[tid] = {td.layout.rows[i].key: dict(td.rows[i]) for i in td.split_rows()[0]}
    return Previous(carried_figures(report), f"文件 {name}（{report.period.label}）", report.period, detail=detail)
