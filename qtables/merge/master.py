"""``qtables merge``: the provincial master workbook (汇总) from the ledger.

From the current accepted version of each unit's tables:

* 附表5 / 附表7: one row per reporting unit (its 合计) and a 全省合计 row; a
  明细 sheet with every county row grouped under its unit with 小计 rows;
* 附表6 summed by category (live SUMIF over a per-unit 明细 sheet);
* 附表1–4 concatenated with a 填报单位 column; the scoring forms when present;
* 报送情况, 审核结果, 数据来源 and 图表 sheets.

Totals and ratios are live Excel formulas compiled from the spec's own
expressions — ratios from summed numerators and denominators at every level,
用户满意率 weighted by 备案项数 — each written with its cached value from the
Python runtime, so the file reads right in any reader.  Submitted text is
written as text, never as a formula or link.  Rows are streamed from SQLite
into xlsxwriter's constant-memory mode, so memory does not grow with the
number of units.
"""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

from qtables import __version__
from qtables.errors import UsageError
from qtables.fsutil import atomic_path
from qtables.template.names import tables_for
from qtables.period import Period
from qtables.spec.registry import Registry
from qtables.spec.model import Spec
from qtables.status import period_status, timing
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import Workspace
from qtables.merge.forms import FormContext
from qtables.template.paper import paper_of
from qtables.merge.sheetkit import Formats
from qtables.merge.table_sheets import categories, keyed_detail, keyed_summary, record_widths, records, scoring
from qtables.merge.report_sheets import charts, findings_sheet, quality_sheet, sources_sheet, status_sheet


def master_filename(period: Period, registry: Registry) -> str:
    scope = "全省" if registry.root.kind == "province" else registry.root.name
    return f"{period.code}_{scope}汇总.xlsx"


def merge(ws: Workspace, spec: Spec, period: Period, out: str | Path | None = None) -> Path:
    ledger = ws.open_ledger()
    try:
        target = Path(out) if out else ws.path / "masters" / master_filename(period, ws.registry)
        if target.suffix.lower() != ".xlsx":
            raise UsageError("汇总表文件名应以 .xlsx 结尾", code="U009")
        with atomic_path(target) as tmp, ledger.reading():
            _write(str(tmp), ws, spec, period, ledger)
        return target
    finally:
        ledger.close()


def _write(path: str, ws: Workspace, spec: Spec, period: Period, ledger: Ledger) -> None:
    registry = ws.registry
    # The 考核评分表 are annual (filled by the 考核组, received as their own workbooks): a quarter's master
    # has none (no empty sheets).
    set_names, table_ids = tables_for(spec, period)
    if period.kind == "year":
        set_names, table_ids = set_names + ["scoring"], table_ids + tables_for(spec, period, scoring=True)[1]
    keyed = next(spec.table(t) for t in table_ids if spec.table(t).kind == "keyed")
    wb = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                    "strings_to_numbers": False})
    scope = "全省" if registry.root.kind == "province" else registry.root.name
    wb.set_properties({"title": f"{period.label} {scope}建设工程质量监督统计汇总", "author": "qtables", "comments": f"qtables {__version__}"})
    fmt = Formats(wb, paper_of(ws.config))
    form = FormContext(spec.form, {k: str(v) for k, v in ws.config.get("form", {}).items()}, registry.root.name, period.label)
    summary_name = f"{keyed.name}汇总"
    detail_name = f"{keyed.name}明细"
    # Sheets are written one after another, each streamed from the ledger.
    summary_ws, summary = keyed_summary(wb, fmt, keyed, summary_name, ledger, registry, period, scope, form)
    keyed_detail(wb, fmt, keyed, detail_name, ledger, registry, period, scope, summary["totals"])
    if "t6" in table_ids:
        categories(wb, fmt, spec.table("t6"), ledger, registry, period, scope, form)
    widths = record_widths([spec.table(t) for t in table_ids if spec.table(t).kind == "records"], ledger, registry, period)
    for tid in table_ids:
        table = spec.table(tid)
        if table.kind == "records":
            records(wb, fmt, table, ledger, registry, period, widths[tid])
        elif table.kind == "scoring":
            scoring(wb, fmt, table, ledger, registry, period)
    status = period_status(ws, spec, period, ledger=ledger)
    status_sheet(wb, fmt, spec, status, table_ids, set_names)
    quality_sheet(wb, fmt, spec, ws.config, ledger, registry, period, status, lambda p: timing(ws, spec, p, ledger))
    findings_sheet(wb, fmt, ledger, registry, period)
    sources_sheet(wb, fmt, ledger, registry, period)
    charts(wb, fmt, keyed, summary_name, summary, ledger, registry, period)
    wb.close()


