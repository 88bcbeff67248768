"""Checks against other periods that are not single-cell rules.

* Coded notes whenever a comparison with another period cannot run, or runs on a stand-in
  (P00 no previous figures, P01 a row the previous period lacks, P03 figures from another table,
  P04 no previous detail, A00 quarters missing) — a skipped check is never silent.
* Project continuity (附表3/附表4 keyed by 工程质量监督注册号, the spec's ``continuity`` block).
"""

from __future__ import annotations

from typing import Any

from qtables.read import normalize
from qtables.check.context import Report
from qtables.check.findings import Finding, make
from qtables.figures import TOTAL_KEY, Previous, Quarters
from qtables.period import Period
from qtables.spec.model import Spec
from qtables.template.layout import a1, describe_cell
from qtables.template.rules import TableData, WorkbookData


def other_period_notes(report: Report, data: WorkbookData, keyed: str | None, previous: Previous | None,
                       quarters: Quarters | None, *, lookup_known: bool) -> None:
    if keyed is None or keyed not in data.tables:
        return
    td = data.tables[keyed]
    layout = td.layout
    name = layout.table.name
    period: Period = data.period
    prev_period = period.previous()
    if previous is None:
        where = "台账中没有通过审核的上期数据" if lookup_known else "没有指定上期数据（工作区台账或 --previous）"
        report.findings.append(make("P00", table=name, sheet=layout.sheet, detail=f"{prev_period.label}：{where}"))
    else:
        if previous.stand_in:
            report.findings.append(make("P03", table=name, sheet=layout.sheet, detail=previous.stand_in, source=previous.source))
        known = previous.tables.get(keyed, {})
        row_keys = {r.key for r in layout.rows}
        if known.keys() & row_keys:
            filled = set(td.split_rows()[0])
            col = next(c for c in layout.table.columns if c.carry_from)
            for i, r in enumerate(layout.rows):
                if r.key not in known and i in filled:
                    row = layout.first_data + i
                    report.findings.append(Finding(
                        code="P01", severity="W", table=name, sheet=layout.sheet, cell=a1(row, layout.col(col.id), abs_row=False, abs_col=False),
                        message=make("P01", name=r.label, source=previous.source).message, source=previous.source))
        elif TOTAL_KEY not in known:
            report.findings.append(make("P00", table=name, sheet=layout.sheet,
                                        detail=f"{previous.source} 中没有本单位的{name}数据"))
    if previous is not None and "t6" in data.tables and "t6" not in previous.tables:
        t6 = data.tables["t6"].layout
        report.findings.append(make("P05", table=t6.table.name, sheet=t6.sheet, detail=previous.source))
    if period.kind == "year" and quarters is not None and quarters.missing:
        checked = ("只核对了已有季度能核对的：年报各项不小于已报季度之和（T7-B1…B11）"
                   + ("、上年度接转等于第一季度接转（T7-A6、A16、A17）" if quarters.tables and Period(period.year, 1) not in quarters.missing else "")
                   if quarters.tables else "")
        report.findings.append(make("A00", table=name, sheet=layout.sheet, detail="、".join(q.label for q in quarters.missing),
                                    checked=checked or "均未核对"))
    elif period.kind == "year" and quarters is None:
        report.findings.append(make("A00", table=name, sheet=layout.sheet, detail="四个季度（未使用工作区台账）", checked="均未核对"))


def _key(value: Any) -> str:
    return (normalize.clean_text(value) or "").replace(" ", "").upper()


def _same(a: Any, b: Any) -> bool:
    return _key(a) == _key(b)


def _projects(td: TableData, key: str) -> dict[str, tuple[int, dict[str, Any]]]:
    out = {}
    for i in td.split_rows()[0]:
        reg = _key(td.rows[i].get(key))
        if reg and reg not in out:
            out[reg] = (i, td.rows[i])
    return out


def continuity_findings(spec: Spec, data: WorkbookData, previous: Previous | None, report: Report) -> None:
    c = spec.continuity
    if not c or c["ongoing"] not in data.tables or c["completed"] not in data.tables:
        return
    ongoing, completed = data.tables[c["ongoing"]], data.tables[c["completed"]]
    if previous is None or c["ongoing"] not in previous.detail:
        why = "没有上期数据" if previous is None else f"{previous.source} 中没有{ongoing.table.name}明细"
        report.findings.append(make("P04", table=ongoing.table.name, sheet=ongoing.layout.sheet, detail=why))
        return
    key = c["key"]
    rules = {r["kind"]: r for r in c["rules"]}
    before = {}
    for row in previous.detail[c["ongoing"]].values():
        reg = _key(row.get(key))
        if reg:
            before.setdefault(reg, row)
    now_on, now_done = _projects(ongoing, key), _projects(completed, key)
    source = previous.source

    def add(kind: str, td: TableData, row_index: int | None, column_id: str, detail: str, found=None, expected=None) -> None:
        rule = rules.get(kind)
        if rule is None:
            return
        layout = td.layout
        if row_index is None:
            r = layout.total_row if layout.total_row is not None else layout.first_data
        else:
            r = layout.first_data + row_index
        where = describe_cell(layout, r, layout.table.column(column_id))
        report.findings.append(Finding(
            code=rule["code"], severity=rule["severity"], table=layout.table.name, sheet=layout.sheet,
            cell=a1(r, layout.col(column_id), abs_row=False, abs_col=False),
            message=f"{rule['message']}：{detail}（{where}；对照：{source}）", found=found, expected=expected, source=source))

    for reg, row in before.items():
        if reg not in now_on and reg not in now_done:
            add("vanished", ongoing, None if ongoing.layout.total_row is not None else 0, key,
                f"{row.get(key)}（{row.get('name') or '未填工程名称'}）", found="缺失", expected=row.get(key))
    for td, projects in ((ongoing, now_on), (completed, now_done)):
        for reg, (i, row) in projects.items():
            old = before.get(reg)
            if old is None:
                continue
            changes = [(col, old.get(col), row.get(col)) for col in c["compare"]
                       if td.table.has_column(col) and not _same(old.get(col), row.get(col))]
            if changes:
                text = "；".join(f"{td.table.column(col).label}：{a or '（空）'} → {b or '（空）'}" for col, a, b in changes)
                add("changed", td, i, changes[0][0], f"{row.get(key)} {text}", found=changes[0][2], expected=changes[0][1])
    # A project first seen this period is a new registration; 附表5 says how many there were.  When more
    # projects are new than were registered, the 附表4 ones that were never 在建 are the ones in question.
    count_td = data.tables.get(c["count_table"])
    stated = count_td.total.get(c["count_column"]) if count_td is not None and count_td.total else None
    if not isinstance(stated, (int, float)):
        return
    fresh = (set(now_on) | set(now_done)) - set(before)
    unknown_done = [(reg, now_done[reg]) for reg in now_done if reg in fresh]
    if len(fresh) > stated and unknown_done:
        names = "、".join(f"{row.get(key)}（{row.get('name') or '未填工程名称'}）" for _reg, (_i, row) in unknown_done)
        add("unknown_completed", completed, unknown_done[0][1][0], key,
            f"本期新出现 {len(fresh)} 项，附表5新注册 {stated:g} 项；上期不在附表3的竣工工程：{names}", found=len(fresh), expected=stated)
    elif len(fresh) != stated:
        add("new_count", count_td, None, c["count_column"], f"附表3、附表4中上期没有的工程 {len(fresh)} 项，附表5填报 {stated:g} 项",
            found=len(fresh), expected=stated)
