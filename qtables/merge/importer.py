"""``qtables import-master``: take in a previous period's summary, so the 接转 check works from day one.

Two layouts are read, both by header text (``qtables.read.headers``), never by position:

* qtables' own master workbook: its 附表5明细 / 附表7明细 sheet gives every county row of every unit;
* a 附表5 / 附表7 laid out as the 办法 prints it (typed by hand over the years): one row per unit,
  the unit's total.  A city known only by its total gets its 接转 checked on the 合计 row.

What is refused, and why: a required column that is missing, printed twice or in another unit
(㎡ for 万㎡); rows that match no unit; expected units that are absent; figures that cannot be read;
a unit twice; a 合计 row that disagrees with the rows above it.  ``allow_partial`` imports what
matched and records the gaps; ``dry_run`` reports the mapping and imports nothing.  Every import's
mapping is kept in the ledger (table ``imports``).  Imported figures are accepted submissions of the
period, marked ``导入：<file>``; ``status`` shows them as 导入, never as late.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtables.read import normalize
from qtables.read.headers import HeaderMatch, UnitIndex, find_header, fold, row_kind
from qtables.read.workbook import ReadProblem, read_workbook
from qtables.errors import UsageError
from qtables.figures import TOTAL_KEY
from qtables.ledger.schema import now_iso
from qtables.ledger.store import ArrivalKey, Ledger
from qtables.ledger.workspace import Workspace
from qtables.period import Period
from qtables.spec import Spec
from qtables.spec.model import Table
from qtables.spec.registry import Unit
from qtables.template.layout import column_letter


@dataclass
class ImportPlan:
    """What a file would import: the column and unit mapping, the figures, and every problem found."""

    file: Path
    table: Table
    sheet: str
    layout: str  # "master" (qtables' 明细 sheet) or "official" (one row per unit)
    match: HeaderMatch
    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # unit -> row key -> values
    row_units: list[tuple[int, str, str]] = field(default_factory=list)  # (sheet row, label as printed, unit name)
    unmatched: list[tuple[int, str]] = field(default_factory=list)
    absent: list[Unit] = field(default_factory=list)
    unreadable: list[tuple[int, str, Any]] = field(default_factory=list)  # (sheet row, column header, value)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    total_mismatch: list[tuple[str, float, float]] = field(default_factory=list)  # (column, sum of rows, 合计 row)
    broken_units: set[str] = field(default_factory=set)  # units with a figure that could not be read
    rechecks: list[Any] = field(default_factory=list)  # later filings whose verdict the imported figures changed

    @property
    def problems(self) -> list[str]:
        out = []
        if self.unmatched:
            out.append("以下行对应不到单位名录中的单位：" + "；".join(f"第{r}行“{t}”" for r, t in self.unmatched))
        if self.absent:
            out.append("名录中的以下单位在表中没有找到：" + "、".join(u.name for u in self.absent))
        if self.unreadable:
            out.append("以下数值无法识别：" + "；".join(f"第{r}行 {h}“{v}”" for r, h, v in self.unreadable))
        if self.duplicates:
            out.append("以下单位出现了不止一次：" + "；".join(f"第{r}行 {n}" for r, n in self.duplicates))
        if self.total_mismatch:
            out.append("合计行与各行之和不符：" + "；".join(f"{h} 各行之和 {a:g}，合计行 {b:g}" for h, a, b in self.total_mismatch))
        return out

    def mapping(self) -> list[tuple[str, str]]:
        """(printed header of the spec column, sheet column letter) in the spec's order."""
        return [(c.label, column_letter(self.match.columns[c.id])) for c in self.table.columns if c.id in self.match.columns]

    def as_json(self) -> dict[str, Any]:
        return {
            "file": str(self.file), "sheet": self.sheet, "layout": self.layout, "table": self.table.id,
            "columns": {c: column_letter(i) for c, i in self.match.columns.items()},
            "rows": [{"row": r, "label": t, "unit": n} for r, t, n in self.row_units],
            "gaps": self.problems,
        }


def _header_problem(match: HeaderMatch, table: Table, name: str) -> str:
    lines = [f"{name} 的{table.name}表头不完整，未导入："]
    if match.columns:
        lines.append("  已识别：" + "、".join(f"{c.label}→{column_letter(match.columns[c.id])}列"
                                           for c in table.columns if c.id in match.columns))
    if match.missing:
        lines.append("  缺少：" + "、".join(c.label for c in match.missing))
    for col, where in match.ambiguous:
        lines.append(f"  有歧义：{col.label} 同时出现在 " + "、".join(column_letter(w) + "列" for w in where))
    for col, unit in match.wrong_unit:
        lines.append(f"  单位不符：{col.label} 应为 {col.unit}，表中写的是 {unit}")
    return "\n".join(lines)


def plan_import(ws: Workspace, spec: Spec, path: str | Path, period: Period, *, units: list[Unit] | None = None) -> ImportPlan:
    """Read a file and work out what it would import; raises only when nothing can be read at all."""
    path = Path(path)
    try:
        book = read_workbook(path)
    except ReadProblem as problem:
        raise UsageError(f"{path} 无法读取（{problem.code}）", code="U014") from None
    table = spec.table("t7" if period.kind == "year" else "t5")
    expected = units if units is not None else list(ws.registry.units)
    detail = f"{table.name}明细"
    candidates = [detail] if book.has_sheet(detail) else list(book.sheet_names)
    best: tuple[str, HeaderMatch] | None = None
    for name in candidates:
        match = find_header(book.sheet(name).rows, table)
        if match is None:
            continue
        if match.complete:
            best = (name, match)
            break
        if best is None or len(match.columns) > len(best[1].columns):
            best = (name, match)
    if best is None:
        raise UsageError(f"{path} 中找不到{table.name}的表头（如“{table.columns[2].header[0]}”“{table.columns[5].header[0]}”）",
                         code="U015", hint=f"请提供 qtables 生成的汇总表，或按制度{table.name}格式排列的工作簿。")
    sheet_name, match = best
    if not match.complete:
        raise UsageError(_header_problem(match, table, path.name), code="U016",
                         hint="请补齐或改正表头后再导入；列按表头文字识别，不按位置。")
    plan = ImportPlan(path, table, sheet_name, "master" if sheet_name == detail else "official", match)
    grid = book.sheet(sheet_name).rows
    _read_rows(plan, grid, expected, ws.registry.units)
    return plan


def _read_rows(plan: ImportPlan, grid, expected: list[Unit], all_units) -> None:
    table, match = plan.table, plan.match
    index = UnitIndex.of(list(all_units))
    wanted = {u.code for u in expected}
    # One city taken in on its own (--unit): its rows are its counties (and its 本级 row).
    city = expected[0] if len(expected) == 1 and expected[0].children else None
    county_index = UnitIndex.of(list(city.children)) if city else None
    own_row = fold(city.own_row) if city and city.own_row else None
    cols = [c for c in table.columns if c.id in match.columns]
    seen: dict[tuple[str, str], int] = {}
    total_line: dict[str, Any] | None = None
    ended = False  # past a line printed under the table (统计员…, 填表说明): what follows without figures is its text
    for r in range(match.bottom + 1, len(grid)):
        line = grid[r]
        labels = [line[c] if c < len(line) else None for c in match.label_cols]
        label_text = " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in labels if fold(v))  # 29, not 29.0
        raw = {c.id: (line[match.columns[c.id]] if match.columns[c.id] < len(line) else None) for c in cols}
        # A line under the table spreads its labels over the columns ("统计员：" … "批准人：" … "报送日期："): not figures.
        has_values = any(fold(v) and (not isinstance(v, str) or row_kind(v) != "note") for v in raw.values())
        if plan.layout == "master":
            kind = fold(line[-1]) if line else ""
            if kind != "明细":
                continue
            unit = index.find(labels[0]) if labels else None
            county = fold(labels[-1]) if labels else ""
            key = next((rk.code for rk in unit.rows() if fold(rk.label) == county), None) if unit else None
            if unit is None or key is None:
                plan.unmatched.append((r + 1, label_text))
                continue
        else:
            kind = row_kind(label_text)
            if kind == "note" and not has_values:
                ended = True
                continue
            if kind == "subtotal" or (kind in ("blank", "note") and not has_values) or (ended and not has_values):
                continue
            if kind == "total":
                total_line = raw
                continue
            if city is not None:
                county = next((u for u in (county_index.find(v) for v in labels) if u), None) or county_index.find(label_text)
                is_own = own_row is not None and any(fold(v) == own_row for v in labels)
                if county is None and not is_own:
                    plan.unmatched.append((r + 1, label_text or "（空）"))
                    continue
                unit, key = city, (county.code if county else city.code)
            else:
                unit = next((u for u in (index.find(v) for v in labels) if u), None) or index.find(label_text)
                if unit is None:
                    plan.unmatched.append((r + 1, label_text or "（空）"))
                    continue
                key = TOTAL_KEY if unit.children else unit.code
        if unit.code not in wanted:
            plan.unmatched.append((r + 1, f"{label_text}（{unit.name}不是本次导入的单位）"))
            continue
        if (unit.code, key) in seen:
            plan.duplicates.append((r + 1, unit.name))
            continue
        seen[(unit.code, key)] = r
        values = {}
        for col in cols:
            cell = normalize.cell(raw[col.id], col)
            if cell.problem is not None:
                plan.unreadable.append((r + 1, col.label, raw[col.id]))
                plan.broken_units.add(unit.code)
                values[col.id] = None
            else:
                values[col.id] = cell.value
        plan.rows.setdefault(unit.code, {})[key] = values
        plan.row_units.append((r + 1, label_text, unit.name))
    plan.absent = [u for u in expected if u.code not in plan.rows]
    if total_line is not None and plan.layout == "official":
        for col in cols:
            if col.total != "sum":
                continue
            stated = normalize.cell(total_line[col.id], col)
            if stated.problem is not None or stated.value is None:
                continue
            got = sum(v.get(col.id) or 0 for rows in plan.rows.values() for v in rows.values())
            if abs(got - stated.value) > 0.011 + abs(stated.value) * 1e-9:
                plan.total_mismatch.append((col.label, round(got, 6), stated.value))


def import_master(ws: Workspace, spec: Spec, path: str | Path, period: Period, *, allow_partial: bool = False,
                  dry_run: bool = False, unit_code: str | None = None) -> ImportPlan:
    """Import a previous period's figures (all units, or one unit's own old-format 附表 with ``unit_code``)."""
    units = [ws.registry.unit(unit_code)] if unit_code else None
    plan = plan_import(ws, spec, path, period, units=units)
    if plan.problems and not allow_partial and not dry_run:
        raise UsageError(f"{Path(path).name} 未导入：\n  " + "\n  ".join(plan.problems), code="U017",
                         hint="请改正后重新导入；确认只导入已对应的单位时加 --allow-partial（缺漏会记入台账）。")
    if not plan.rows and not dry_run:
        raise UsageError(f"{path} 中没有找到与单位名录对应的行", code="U015")
    if dry_run:
        return plan
    verdicts = _unit_findings(spec, plan, ws.registry.unit(unit_code), period) if unit_code and unit_code in plan.rows else {}
    _record(ws, spec, plan, period, skip=plan.broken_units, verdicts=verdicts)
    return plan


def _unit_findings(spec: Spec, plan: ImportPlan, unit: Unit, period: Period) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """A unit's own old-format 附表 taken in on the clerk's decision: every rule of the table runs on it."""
    from qtables.check.context import Report
    from qtables.check.verdicts import rule_findings
    from qtables.template.layout import TableLayout
    from qtables.template.derived import compute_derived
    from qtables.template.rules import TableData, WorkbookData

    layout = TableLayout.for_unit(plan.table, unit)
    rows = plan.rows[unit.code]
    values = [dict(rows.get(r.key) or (rows.get(TOTAL_KEY) if len(layout.rows) == 1 else None) or {}) for r in layout.rows]
    for r, row in zip(layout.rows, values):
        row.setdefault("area_name", r.label)
    data = WorkbookData(spec, period, {plan.table.id: TableData(layout, values)})
    compute_derived(data)
    rules = [r for r in spec.rules_for([period.kind], [plan.table.id]) if not r.needs and r.table == plan.table.id]
    report = Report(file=str(plan.file))
    rule_findings(rules, data, {}, report)
    return {unit.code: (report.status, [f.as_json() for f in report.findings])}


@dataclass
class ImportedUnit:
    """One unit's figures taken in by an import: recorded as an accepted (or, with --unit, checked) submission."""

    code: str
    tables: str
    cells: list[tuple[str, str, str, Any]]
    status: str = "accepted"
    findings: list[dict[str, Any]] = field(default_factory=list)
    projects: frozenset[str] = frozenset()  # its project keys (附表3/附表4), for PC-09


def record_import(ws: Workspace, spec: Spec, file: Path, period: Period, units: list[ImportedUnit], *, mapping: Any,
                  gaps: list[str], key_suffix: str = "", note: str = "由 import-master 导入") -> list[Any]:
    """Record what an import took in — the original archived, one submission per unit (``导入：<file>``), the mapping
    and gaps in ``imports`` — then re-check the later filings the imported figures concern (and answer them again
    when their verdict changes); return those re-checks.  ``key_suffix`` tells apart the tables of one file."""
    from qtables.intake.recheck import peer_units, recheck_units
    from qtables.intake.run import make_context, produce_outputs

    data = file.read_bytes()
    ledger = ws.open_ledger()
    try:
        file_sha = hashlib.sha256(data).hexdigest()
        ledger.store_original(file_sha, data)
        for unit in units:
            received = now_iso()
            arrival = {"arrival_key": ArrivalKey(f"import:{file.resolve()}:{unit.code}{key_suffix}", file_sha).text(),
                       "sha256": file_sha, "filename": f"导入：{file.name}", "size": len(data), "kind": "workbook",
                       "source": str(file), "message_id": None, "sender": None, "subject": None, "received_at": received,
                       "unit_code": unit.code, "period": period.code, "note": note, "status": unit.status}
            sha = hashlib.sha256(f"{file_sha}:{unit.code}:{period.code}{key_suffix}".encode()).hexdigest()
            submission = {"sha256": sha, "unit_code": unit.code, "period": period.code, "tables": unit.tables,
                          "template_id": None, "status": unit.status, "received_at": received, "sender": None,
                          "filename": arrival["filename"], "received_basis": "import"}
            submission_id, _ = ledger.record(arrival=arrival, submission=submission, findings=unit.findings, cells=unit.cells,
                                             projects=unit.projects)
            if submission_id is not None:
                ledger.set_outputs(submission_id, receipt_path="", reply_path="")
        with ledger.transaction() as db:
            db.execute("INSERT INTO imports (period, file, sha256, mapping, gaps, imported_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (period.code, str(file), file_sha, json.dumps(mapping, ensure_ascii=False),
                        json.dumps(gaps, ensure_ascii=False), now_iso()))
        ctx = make_context(ws, spec, ledger)
        codes = {u.code for u in units}
        reports: dict[str, Any] = {}
        rechecks = recheck_units(ledger, ctx, codes | peer_units(ledger, spec, {(c, period.code) for c in codes}), reports)
        if rechecks:
            produce_outputs(ws, ledger, ctx, reports)
        return rechecks
    finally:
        ledger.close()


def _record(ws: Workspace, spec: Spec, plan: ImportPlan, period: Period, *, skip: set[str],
            verdicts: dict[str, tuple[str, list[dict[str, Any]]]] | None = None) -> None:
    table = plan.table
    units = []
    for code, unit_rows in plan.rows.items():
        if code in skip:
            continue
        status, findings = (verdicts or {}).get(code, ("accepted", []))
        cells = [(table.id, key, cid, v) for key, values in unit_rows.items() for cid, v in values.items() if v is not None]
        units.append(ImportedUnit(code, table.id, cells, status, findings))
    gaps = plan.problems + [f"未导入（数值无法识别）：{code}" for code in sorted(skip)]
    plan.rechecks = record_import(ws, spec, plan.file, period, units, mapping=plan.as_json(), gaps=gaps)
