"""The master workbook: recomputed independently from the ledger, stable under LibreOffice, printable."""

from __future__ import annotations

import math
import subprocess

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

import libreoffice
from qtables.cli import main
from qtables.merge import HEADER_ROW
from qtables.spec import load_spec
from qtables.store import Ledger, decode
from qtables.workspace import open_workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "汇总表" in result.output
    ws = open_workspace(out / "工作区")
    return ws, ws.path / "masters" / "2025Q3_全省汇总.xlsx"


def _ledger_rows(ws, period="2025Q3", table="t5"):
    """unit code -> list of its row dicts (current accepted submissions), straight from SQLite."""
    ledger = Ledger(ws.path)
    out = {}
    for sub in ledger.db.execute("SELECT id, unit_code FROM submissions WHERE period = ? AND is_current = 1"
                                 " AND status IN ('accepted','accepted_with_warnings')", (period,)):
        rows = {}
        for c in ledger.db.execute("SELECT row_key, column_id, value FROM cells WHERE submission_id = ? AND table_id = ?"
                                   " AND row_key != '_total'", (sub["id"], table)):
            rows.setdefault(c["row_key"], {})[c["column_id"]] = decode(c["value"])
        out[sub["unit_code"]] = list(rows.values())
    ledger.close()
    return out


ADDITIVE = ["carried", "new", "ucon", "done", "filed"]


def _expected(rows):
    """Independent arithmetic: sums, then ratios from the sums, 满意率 weighted by 备案项数."""
    e = {}
    for g in ADDITIVE:
        for m in ("count", "area", "cost"):
            e[f"{g}_{m}"] = sum(r.get(f"{g}_{m}") or 0 for r in rows)
    for m in ("count", "deaths", "loss"):
        e[f"accident_{m}"] = sum(r.get(f"accident_{m}") or 0 for r in rows)
    e["filing_rate_count"] = None if e["done_count"] == 0 else e["filed_count"] / e["done_count"] * 100
    e["filing_rate_area"] = None if e["done_area"] == 0 else e["filed_area"] / e["done_area"] * 100
    weight = sum((r.get("filed_count") or 0) for r in rows)
    e["satisfaction_rate"] = None if weight == 0 else sum((r.get("satisfaction_rate") or 0) * (r.get("filed_count") or 0) for r in rows) / weight
    return e


def _close(a, b) -> bool:
    if b is None:
        return a in (None, "")
    return isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def test_every_total_and_ratio_matches_an_independent_recomputation(demo):
    ws, master = demo
    spec = load_spec()
    table = spec.table("t5")
    wb = openpyxl.load_workbook(master, data_only=True)
    sheet = wb["附表5汇总"]
    labels = [c.label for c in table.columns if c.type != "key"]
    header = [c.value for c in sheet[HEADER_ROW + 1]]
    by_unit = _ledger_rows(ws)
    names = {u.code: u.name for u in ws.registry.units}
    all_rows, checked = [], 0
    for r in range(HEADER_ROW + 2, HEADER_ROW + 2 + len(ws.registry.units)):
        name = sheet.cell(row=r, column=2).value
        code = next(k for k, v in names.items() if v == name)
        rows = by_unit.get(code)
        if rows is None:
            assert sheet.cell(row=r, column=3).value is None  # rejected or missing: not counted
            continue
        all_rows += rows
        expected = _expected(rows)
        for c, col in enumerate(c for c in table.columns if c.type != "key"):
            got = sheet.cell(row=r, column=3 + c).value
            assert header[2 + c] == labels[c]
            assert _close(got, expected[col.id]), (name, col.id, got, expected[col.id])
            checked += 1
    total_row = HEADER_ROW + 2 + len(ws.registry.units)
    assert sheet.cell(row=total_row, column=2).value == "全省合计"
    expected = _expected(all_rows)
    for c, col in enumerate(c for c in table.columns if c.type != "key"):
        assert _close(sheet.cell(row=total_row, column=3 + c).value, expected[col.id]), col.id
    assert checked > 500
    # live formulas, not pasted numbers
    formulas = openpyxl.load_workbook(master)["附表5汇总"]
    assert formulas.cell(row=total_row, column=3).value.startswith("=SUM(")
    assert "SUMPRODUCT" in formulas.cell(row=total_row, column=3 + labels.index("用户满意率（%）")).value


def test_detail_subtotals_and_categories(demo):
    ws, master = demo
    wb = openpyxl.load_workbook(master, data_only=True)
    detail = wb["附表5明细"]
    by_unit = _ledger_rows(ws)
    names = {u.name: u.code for u in ws.registry.units}
    subtotals = {}
    for row in detail.iter_rows(min_row=HEADER_ROW + 2, values_only=True):
        if row[-1] == "小计" and row[2] == "小计":
            subtotals[row[0]] = row
    for name, row in subtotals.items():
        assert _close(row[3], sum(r["carried_count"] for r in by_unit[names[name]]))
    cats = wb["附表6汇总"]
    first = [c.value for c in cats[HEADER_ROW + 2]]
    assert first[0] == "住宅工程"
    ledger = Ledger(ws.path)
    expected = sum(decode(v[0]) for v in ledger.db.execute(
        "SELECT c.value FROM cells c JOIN submissions s ON s.id = c.submission_id WHERE s.period='2025Q3' AND s.is_current=1"
        " AND s.status IN ('accepted','accepted_with_warnings') AND c.table_id='t6' AND c.row_key='residential' AND c.column_id='new_count'"))
    ledger.close()
    assert first[1] == expected and expected > 0
    records = wb["附表3"]
    assert sum(1 for r in records.iter_rows(min_row=HEADER_ROW + 2, values_only=True) if r[0]) == sum(
        len(rows) for rows in _ledger_rows(ws, table="t3").values())


def test_status_findings_sources_and_charts(demo):
    ws, master = demo
    wb = openpyxl.load_workbook(master)
    status = {r[1]: r[2] for r in wb["报送情况"].iter_rows(min_row=HEADER_ROW + 2, values_only=True)}
    assert status["洛阳市"] == "退回" and status["郑州市"] == "通过"
    findings = list(wb["审核结果"].iter_rows(min_row=HEADER_ROW + 2, values_only=True))
    assert any(r[3] == "T5-05" and r[7] == "是" for r in findings)  # 南阳's explanation accepted
    assert any(r[3] == "C01" for r in findings)  # 商丘's boilerplate flagged
    sources = list(wb["数据来源"].iter_rows(min_row=HEADER_ROW + 2, values_only=True))
    assert len(sources) == 28 and all(len(r[3]) == 64 for r in sources)
    assert len(wb["图表"]._charts) == 3


def test_libreoffice_recalculation_changes_no_value(demo, tmp_path, lo_profile):
    _ws, master = demo
    [resaved] = libreoffice.convert([master], tmp_path, "xlsx", lo_profile)
    before = CalamineWorkbook.from_path(str(master))
    after = CalamineWorkbook.from_path(str(resaved))
    compared = 0
    for name in ("附表5汇总", "附表5明细", "附表6汇总", "附表6明细"):
        a = before.get_sheet_by_name(name).to_python(skip_empty_area=False)
        b = after.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for r, (ra, rb) in enumerate(zip(a, b)):
            for c, (x, y) in enumerate(zip(ra, rb)):
                if isinstance(x, (int, float)) or isinstance(y, (int, float)):
                    assert isinstance(x, (int, float)) and isinstance(y, (int, float)) and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (name, r, c, x, y)
                    compared += 1
    assert compared > 1000


def test_master_prints_one_page_wide(demo, tmp_path, lo_profile):
    _ws, master = demo
    [pdf] = libreoffice.convert([master], tmp_path, "pdf", lo_profile)
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split("\f")
    for title, first, last in (("季度统计表（全省汇总）", "单位", "报送状态"), ("季度统计表（全省明细）", "县（市、区）", "行类型"),
                               ("分类统计表（全省汇总）", "住宅工程", "在建工")):
        starts = [p for p in pages if title in p]
        assert starts, title
        assert first in starts[0] and last in starts[0], title


def test_submitted_text_stays_text_in_the_master(demo):
    _ws, master = demo
    wb = openpyxl.load_workbook(master)
    for name in ("附表1", "附表2", "附表3", "附表4"):
        for row in wb[name].iter_rows(min_row=HEADER_ROW + 2):
            for cell in row:
                assert cell.data_type != "f" or cell.column <= 2, (name, cell.coordinate, cell.value)
