"""Projects over their whole life: a filing's 附表3/附表4 against every earlier quarter of the unit and against
the other units' filings of the same period (the spec's ``continuity.lifecycle`` and rules PC-05…PC-09).

* PC-05 a project reported 竣工 (附表4) in an earlier quarter is 在建 again (附表3);
* PC-06 a project already reported 竣工 is reported 竣工 again with a 竣工日期 in this period (or none): the year's
  Σ竣工 would count it twice (a project completed earlier and listed now only for its 备案 keeps its old date);
* PC-07 a project 准予备案 in an earlier quarter is 准予备案 again;
* PC-08 the 注册号 begins with the area code of a unit or county that is not the filing unit's;
* PC-09 the same 注册号 is in another unit's filing of the period (a city and the 省直管县 inside it): said in
  both units' receipts, so the one not responsible removes it.

Without a ledger (``check`` of a lone file) the history is unknown: P04 already says continuity was not checked.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from qtables.check.context import Report
from qtables.check.findings import Finding
from qtables.figures import ProjectHistory, project_key
from qtables.period import Period, from_excel_serial
from qtables.spec.model import Spec
from qtables.spec.registry import Registry, Unit
from qtables.template.layout import a1, describe_cell
from qtables.template.rules import TableData, WorkbookData

def _day(value: Any) -> date | None:
    """A date cell as the checker holds it (an Excel serial number or a date)."""
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 < value < 2958466:
        return from_excel_serial(value)
    return None


def _within(value: Any, period: Period) -> bool:
    day = _day(value)
    return day is not None and period.start <= day <= period.end


def lifecycle_findings(spec: Spec, data: WorkbookData, history: ProjectHistory | None, report: Report,
                       registry: Registry, unit: Unit) -> None:
    c = spec.continuity
    if not c or not c.get("lifecycle") or c["ongoing"] not in data.tables or c["completed"] not in data.tables:
        return
    life, key = c["lifecycle"], c["key"]
    rules = {r["kind"]: r for r in c["rules"]}
    ongoing, completed = data.tables[c["ongoing"]], data.tables[c["completed"]]
    period = data.period

    def add(kind: str, td: TableData, i: int, column_id: str, detail: str, found=None, expected=None, source: str = "") -> None:
        rule = rules.get(kind)
        if rule is None:
            return
        layout = td.layout
        r = layout.first_data + i
        where = describe_cell(layout, r, layout.table.column(column_id))
        report.findings.append(Finding(
            code=rule["code"], severity=rule["severity"], table=layout.table.name, sheet=layout.sheet,
            cell=a1(r, layout.col(column_id), abs_row=False, abs_col=False),
            message=f"{rule['message']}：{detail}（{where}" + (f"；对照：{source}）" if source else "）"),
            found=found, expected=expected, source=source))

    own_codes = {unit.code} | {row.code for row in unit.rows()}
    areas = registry.area_names()
    digits = int(life.get("prefix_digits") or 0)
    for td in (ongoing, completed):
        for i in td.split_rows()[0]:
            row = td.rows[i]
            k = project_key(row.get(key))
            if not k:
                continue
            prefix = k[:digits]
            if digits and prefix.isdigit() and len(prefix) == digits and prefix in areas and prefix not in own_codes:
                owner = areas[prefix]
                add("foreign_prefix", td, i, key, f"{row.get(key)}（区划代码 {prefix} 属于{owner}）", found=row.get(key))
            if history is None:
                continue
            if k in history.peers:
                names = "、".join(areas.get(code, code) for code in sorted(history.peers[k]))
                add("other_unit", td, i, key, f"{row.get(key)}（{row.get('name') or '未填工程名称'}）也在{names}{period.label}的报表中",
                    found=row.get(key))
            before = history.earlier.get(k, [])
            done_before = [(p, values) for p, t, values in before if t == c["completed"]]
            if td is ongoing and done_before:
                p, values = done_before[-1]
                add("reopened", td, i, key, f"{row.get(key)} 已在{p.label}附表4报送竣工", found=row.get(key), source=p.label)
            if td is completed and done_before:
                done_now = row.get(life["done_date"])
                if done_now is None or _within(done_now, period):
                    p, values = done_before[0]
                    add("completed_again", td, i, life["done_date"] if done_now is not None else key,
                        f"{row.get(key)} 已在{p.label}报送竣工", found=row.get(key), source=p.label)
                filed_before = [(p, v) for p, v in done_before if _filed(v, life)]
                if filed_before and _filed(row, life) and _within(row.get(life["filed_date"]), period):
                    p, _v = filed_before[0]
                    add("filed_again", td, i, life["filed_date"], f"{row.get(key)} 已在{p.label}准予备案", found=row.get(key),
                        source=p.label)


def _filed(values: dict[str, Any], life: dict[str, Any]) -> bool:
    conclusion = values.get(life["filed_conclusion"])
    return values.get(life["filed_date"]) is not None and (conclusion is None or str(conclusion).strip() == life["filed_value"])


def own_keys(spec: Spec, data: WorkbookData | None) -> set[str]:
    """The project keys a filing's 附表3/附表4 list (what other units' filings are compared with)."""
    c = spec.continuity
    if not c or data is None:
        return set()
    out = set()
    for tid in (c["ongoing"], c["completed"]):
        td = data.tables.get(tid)
        if td is not None:
            out |= {k for i in td.split_rows()[0] if (k := project_key(td.rows[i].get(c["key"])))}
    return out
