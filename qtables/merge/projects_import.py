"""``qtables import-master --table 附表3|附表4|附表6``: a previous period's project lists, so project continuity
(PC-01…PC-09) runs from the first filing instead of P04, and its 附表6 (one row per unit and category, as the
master's 附表6明细 prints it), so the categories' carry-over (T6-P1…P3) does too instead of P05.

The list is read by header text like 附表5 (``qtables.read.headers``): every column of the table by its printed
header, plus the unit of each row — a 填报单位 column (the province's merged list, as qtables' master prints it), or
the one unit named with ``--unit`` (a unit's own list).  Each row with a 工程质量监督注册号 is a project; a figure
or date that cannot be read, a row whose unit is not known, and a 注册号 listed twice for one unit are refusals
that name the row (``allow_partial`` takes what is sound and records the rest).  The projects become accepted
submissions of the period (``导入：<file>``), one per unit, beside its imported 附表5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtables.read import normalize
from qtables.read.headers import UnitIndex, find_header, fold, row_kind
from qtables.read.workbook import ReadProblem, read_workbook
from qtables.errors import UsageError
from qtables.figures import project_key
from qtables.ledger.workspace import Workspace
from qtables.merge.importer import ImportedUnit, record_import
from qtables.period import Period
from qtables.spec import Spec
from qtables.spec.model import Table
from qtables.spec.registry import Unit

UNIT_HEADERS = ("填报单位", "报送单位", "单位名称", "单位")


@dataclass
class ProjectPlan:
    file: Path
    table: Table
    sheet: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # unit code -> project rows
    problems: list[str] = field(default_factory=list)
    broken_units: set[str] = field(default_factory=set)
    rechecks: list[Any] = field(default_factory=list)  # later filings whose verdict the imported projects changed

    @property
    def count(self) -> int:
        return sum(len(r) for r in self.rows.values())


def plan_projects(ws: Workspace, spec: Spec, path: str | Path, table_id: str, *, unit: Unit | None = None) -> ProjectPlan:
    path = Path(path)
    table = spec.table(table_id)
    try:
        book = read_workbook(path)
    except ReadProblem as problem:
        raise UsageError(f"{path} 无法读取（{problem.code}）", code="U014") from None
    found = None
    preferred = [n for n in (f"{table.name}明细", table.sheet) if book.has_sheet(n)]  # the master's per-unit sheet first
    for name in preferred + list(book.sheet_names):
        grid = book.sheet(name).rows
        match = find_header(grid, table)
        if match is not None and match.complete:
            found = (name, grid, match)
            break
    if found is None:
        raise UsageError(f"{path.name} 中找不到完整的{table.name}表头（{'、'.join(c.label for c in table.input_columns[:4])}…）",
                         code="U015", hint=f"请提供 qtables 汇总表的{table.name}工作表，或按制度{table.name}格式排列的工作簿。")
    name, grid, match = found
    plan = ProjectPlan(path, table, name)
    unit_col = next((c for c in range(len(grid[match.top]) if match.top < len(grid) else 0)
                     if fold(grid[match.top][c]) in {fold(h) for h in UNIT_HEADERS} and c not in match.columns.values()), None)
    if unit is None and unit_col is None:
        raise UsageError(f"{path.name} 的{table.name}没有“填报单位”列，无法知道每个工程属于哪个单位", code="U037",
                         hint="导入本省合并的清单时需要“填报单位”列；导入一个单位自己的清单时加 --unit 单位代码。")
    index = UnitIndex.of(list(ws.registry.units))
    key = spec.continuity["key"] if spec.continuity else "reg_no"
    categories = {fold(r.label): r.key for r in table.fixed_rows} if table.kind == "categories" else {}
    seen: set[tuple[str, str]] = set()
    for r in range(match.bottom + 1, len(grid)):
        line = grid[r]
        raw = {cid: (line[c] if c < len(line) else None) for cid, c in match.columns.items()}
        label = " ".join(str(line[c]) for c in match.label_cols if c < len(line) and c != unit_col and fold(line[c]))
        if not any(fold(v) for v in raw.values()):
            continue
        if row_kind(label) in ("note", "total") or (not fold(raw.get(key)) and row_kind(" ".join(str(v) for v in raw.values() if v)) == "note"):
            continue
        owner = unit
        if unit_col is not None:
            owner = index.find(line[unit_col] if unit_col < len(line) else None)
            if owner is None:
                plan.problems.append(f"第{r + 1}行的填报单位“{line[unit_col] if unit_col < len(line) else ''}”不在单位名录中")
                continue
            if unit is not None and owner.code != unit.code:
                continue
        if categories:  # 附表6: the row's category by its printed label
            reg = categories.get(fold(label), "")
            if not reg:
                plan.problems.append(f"第{r + 1}行的分类“{label}”不是附表6的分类")
                continue
        else:
            reg = project_key(raw.get(key))
            if not reg:
                plan.problems.append(f"第{r + 1}行没有工程质量监督注册号")
                continue
        if (owner.code, reg) in seen:
            plan.problems.append(f"第{r + 1}行：{owner.name}的{'分类' if categories else '注册号'} {label if categories else raw.get(key)} 重复")
            continue
        seen.add((owner.code, reg))
        values = {"_key": reg} if categories else {}
        for col in table.input_columns:
            if col.id not in raw:
                continue
            cell = normalize.cell(raw[col.id], col)
            if cell.problem is not None:
                plan.problems.append(f"第{r + 1}行“{col.label}”的“{raw[col.id]}”无法识别")
                plan.broken_units.add(owner.code)
            values[col.id] = cell.value if cell.problem is None else None
        plan.rows.setdefault(owner.code, []).append(values)
    if not plan.rows:
        raise UsageError(f"{path.name} 的{table.name}中没有可导入的工程", code="U015")
    return plan


def import_projects(ws: Workspace, spec: Spec, path: str | Path, period: Period, table_id: str, *, unit: Unit | None = None,
                    allow_partial: bool = False, dry_run: bool = False) -> ProjectPlan:
    if table_id not in ("t3", "t4", "t6") or (period.kind != "quarter" and table_id != "t6"):
        raise UsageError("工程明细（附表3/附表4）按季度导入，附表6按季度或年度导入", code="U038",
                         hint="例如 --table 附表3 --period 2025Q2，或 --table 附表6 --period 2024。")
    plan = plan_projects(ws, spec, path, table_id, unit=unit)
    if plan.problems and not allow_partial and not dry_run:
        raise UsageError(f"{Path(path).name} 未导入：\n  " + "\n  ".join(plan.problems[:30]), code="U017",
                         hint="请改正后重新导入；确认只导入无误的部分时加 --allow-partial（缺漏会记入台账）。")
    if dry_run:
        return plan
    key = spec.continuity["key"] if spec.continuity else "reg_no"
    units = []
    for code, rows in plan.rows.items():
        if code in plan.broken_units:
            continue
        cells = [(table_id, row.get("_key") or str(i + 1), cid, v) for i, row in enumerate(rows) for cid, v in row.items()
                 if v is not None and cid != "_key"]
        keys = frozenset(k for row in rows if (k := project_key(row.get(key))))
        units.append(ImportedUnit(code, table_id, cells, projects=keys))
    plan.rechecks = record_import(ws, spec, plan.file, period, units, key_suffix=f":{table_id}",
                                  note=f"由 import-master 导入{plan.table.name}", gaps=plan.problems,
                                  mapping={"table": table_id, "sheet": plan.sheet, "units": {c: len(p) for c, p in plan.rows.items()}})
    return plan
