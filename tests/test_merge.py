"""The master workbook: recomputed independently from the ledger, stable under LibreOffice, printable."""

from __future__ import annotations

import math
import subprocess
from datetime import datetime

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

import libreoffice
from qtables.cli import main

from qtables.spec import load_spec
from qtables.ledger.queries import decode
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import open_workspace
from qtables.period import Period
from qtables.status import period_status


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
    stated = [r for r in rows if r.get("satisfaction_rate") is not None]  # a blank rate is not a rate of 0
    weight = sum((r.get("filed_count") or 0) for r in stated)
    e["satisfaction_rate"] = None if weight == 0 else sum(r["satisfaction_rate"] * (r.get("filed_count") or 0) for r in stated) / weight
    return e


def _close(a, b) -> bool:
    if b is None:
        return a in (None, "")
    return isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _row_of(sheet, column: int, value) -> int:
    """The 1-based row whose ``column`` holds ``value`` (sheets are read by what they say, not by fixed offsets)."""
    return next(c.row for c in sheet.iter_rows(min_col=column, max_col=column) for c in c if c.value == value)


def test_every_total_and_ratio_matches_an_independent_recomputation(demo):
    ws, master = demo
    spec = load_spec()
    table = spec.table("t5")
    wb = openpyxl.load_workbook(master, data_only=True)
    sheet = wb["附表5汇总"]
    cols = [c for c in table.columns if c.type != "key"]
    first = _row_of(sheet, 2, ws.registry.units[0].name)
    # The 办法's two-level header, as the template prints it: the group over its columns, the leaf under it.
    merged = {(m.min_row, m.min_col): m for m in sheet.merged_cells.ranges}
    for c, col in enumerate(cols):
        leaf = sheet.cell(row=first - (3 - len(col.header)), column=3 + c).value  # a one-level header spans both rows
        assert "".join(str(leaf).split()) == "".join(col.header[-1].split()), (col.id, leaf)
        if len(col.header) == 2:
            group = next(m for (r, _c), m in merged.items() if r == first - 2 and m.min_col <= 3 + c <= m.max_col)
            assert "".join(str(sheet.cell(row=group.min_row, column=group.min_col).value).split()) == "".join(col.header[0].split())
    assert "表号：豫建质统5表" in str(sheet.cell(row=1, column=1).value) + "".join(str(c.value or "") for c in sheet[1])
    by_unit = _ledger_rows(ws)
    names = {u.code: u.name for u in ws.registry.units}
    all_rows, checked = [], 0
    for r in range(first, first + len(ws.registry.units)):
        name = sheet.cell(row=r, column=2).value
        code = next(k for k, v in names.items() if v == name)
        rows = by_unit.get(code)
        if rows is None:
            assert sheet.cell(row=r, column=3).value is None  # rejected or missing: not counted
            continue
        all_rows += rows
        expected = _expected(rows)
        for c, col in enumerate(cols):
            got = sheet.cell(row=r, column=3 + c).value
            assert _close(got, expected[col.id]), (name, col.id, got, expected[col.id])
            checked += 1
    total_row = first + len(ws.registry.units)
    assert sheet.cell(row=total_row, column=2).value == "全省合计"
    expected = _expected(all_rows)
    for c, col in enumerate(cols):
        assert _close(sheet.cell(row=total_row, column=3 + c).value, expected[col.id]), col.id
    assert checked > 500
    # What the total leaves out is said under it, and the lines to sign follow the 填表说明.
    below = [str(sheet.cell(row=r, column=c).value or "") for r in range(total_row + 1, total_row + 6) for c in range(1, 12)]
    assert any(t.startswith("全省合计不含：洛阳市（退回）") for t in below), below
    assert any(t.startswith("填表说明：1、在建工程") for t in below) and "统计员：" in below and "批准人：" in "".join(below)
    # live formulas, not pasted numbers
    formulas = openpyxl.load_workbook(master)["附表5汇总"]
    assert formulas.cell(row=total_row, column=3).value.startswith("=SUM(")
    assert "SUMPRODUCT" in formulas.cell(row=total_row, column=3 + [c.id for c in cols].index("satisfaction_rate")).value


def test_detail_subtotals_and_categories(demo):
    ws, master = demo
    wb = openpyxl.load_workbook(master, data_only=True)
    detail = wb["附表5明细"]
    by_unit = _ledger_rows(ws)
    names = {u.name: u.code for u in ws.registry.units}
    subtotals = {}
    for row in detail.iter_rows(values_only=True):
        if row[-1] == "小计" and row[2] == "小计":
            subtotals[row[0]] = row
        elif row[-1] == "小计":
            assert row[0] == "洛阳市" and row[2] == "小计（退回，未计入）", row  # reported and 退回: not "未报"
    for name, row in subtotals.items():
        assert _close(row[3], sum(r["carried_count"] for r in by_unit[names[name]]))
    cats = wb["附表6汇总"]
    first = [c.value for c in cats[_row_of(cats, 1, "住宅工程")]]
    ledger = Ledger(ws.path)
    expected = sum(decode(v[0]) for v in ledger.db.execute(
        "SELECT c.value FROM cells c JOIN submissions s ON s.id = c.submission_id WHERE s.period='2025Q3' AND s.is_current=1"
        " AND s.status IN ('accepted','accepted_with_warnings') AND c.table_id='t6' AND c.row_key='residential' AND c.column_id='new_count'"))
    ledger.close()
    assert first[1] == expected and expected > 0
    records = wb["附表3"]
    assert sum(1 for r in records.iter_rows(min_row=_row_of(records, 1, "郑州市"), values_only=True) if r[0]) == sum(
        len(rows) for rows in _ledger_rows(ws, table="t3").values())


def test_status_findings_sources_and_charts(demo):
    ws, master = demo
    wb = openpyxl.load_workbook(master)
    sheet = wb["报送情况"]
    first = _row_of(sheet, 1, "410100")
    header = [c.value for c in sheet[first - 1]]
    rows = list(sheet.iter_rows(min_row=first, values_only=True))
    status = {r[1]: r[2] for r in rows}
    assert status["洛阳市"] == "退回" and status["郑州市"] == "通过"
    # Times are Excel date-times printed the Chinese way, not ISO text.
    zhengzhou = sheet.cell(row=first, column=header.index("首次报送时间") + 1)
    assert isinstance(zhengzhou.value, datetime) and zhengzhou.value.replace(second=0) == datetime(2025, 9, 30, 9, 0)
    assert zhengzhou.number_format == 'yyyy"年"m"月"d"日" hh:mm'
    # The 分析报告 is a column of its own: 已收 / 未收 per unit.
    report = header.index("工程质量分析报告")
    assert {r[report] for r in rows} <= {"已收", "未收"} and len(rows) == 28
    findings = wb["审核结果"]
    findings = list(findings.iter_rows(min_row=_row_of(findings, 4, "代码") + 1, values_only=True))
    assert any(r[3] == "T5-05" and r[7] == "是" for r in findings)  # 南阳's explanation accepted
    assert any(r[3] == "C01" for r in findings)  # 商丘's boilerplate flagged
    sources = wb["数据来源"]
    sources = list(sources.iter_rows(min_row=_row_of(sources, 1, "410100"), values_only=True))
    assert len(sources) == 28 and all(len(r[3]) == 64 for r in sources) and all(isinstance(r[5], datetime) for r in sources)
    charts = wb["图表"]
    assert len(charts._charts) == 3
    texts = [str(c.value) for row in charts.iter_rows() for c in row if c.value is not None]
    # Like for like: the trend counts only the units with figures in both quarters, and says so.
    assert any(t.startswith("图3 可比口径：各期均有通过审核数据的 27 个单位；不含洛阳市（缺2025年第3季度数据）") for t in texts), texts
    assert any("未计入：洛阳市（退回）" in t for t in texts)


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


def test_submitted_text_stays_text_in_the_master(demo):
    _ws, master = demo
    wb = openpyxl.load_workbook(master)
    for name in ("附表1", "附表2", "附表3", "附表4"):
        for row in wb[name].iter_rows(min_row=5):
            for cell in row:
                assert cell.data_type != "f" or cell.column <= 2, (name, cell.coordinate, cell.value)


# -- the analysts' side: DataFrames from the same functions as the master ------------------------------


def test_frames_equal_the_master_workbook_cell_for_cell(demo):
    from qtables.analysis import open_workspace as analysis

    ws, master = demo
    aw = analysis(ws.path)
    df = aw.frame("t5", "2025Q3")
    sheet = CalamineWorkbook.from_path(str(master)).get_sheet_by_name("附表5汇总").to_python()
    t5 = load_spec().table("t5")
    cols = [c for c in t5.columns if c.type != "key"]
    compared = 0
    first = next(i for i, row in enumerate(sheet) if row[1] == ws.registry.units[0].name)
    for row in sheet[first:]:
        name = row[1]
        if name == "全省合计":
            break
        matches = df.xs(name, level="unit_name") if name in df.index.get_level_values("unit_name") else None
        if matches is None:
            assert all(v in ("", None) for v in row[2:2 + len(cols)]), name  # not accepted: blank in the master too
            continue
        for i, col in enumerate(cols):
            have, want = matches[col.id].iloc[0], row[2 + i]
            if want in ("", None):
                assert have is None or have != have or str(have) == "<NA>", (name, col.id, have)
            else:
                assert math.isclose(float(have), float(want), rel_tol=1e-9, abs_tol=1e-9), (name, col.id, have, want)
            compared += 1
    assert compared >= 27 * len(cols)


def test_frames_have_proper_dtypes_current_versions_and_clear_errors(demo):
    from qtables.analysis import open_workspace as analysis
    from qtables.errors import UsageError

    ws, _master = demo
    aw = analysis(ws.path)
    df = aw.frame("t5", "2025Q3", level="county")
    assert str(df["ucon_count"].dtype) == "Int64" and str(df["ucon_area"].dtype) == "float64"
    assert df.attrs["columns"]["ucon_area"] == {"header": "本季度在建工程 / 面积（万㎡）", "unit": "万㎡"}
    assert list(df.index.names) == ["unit_code", "unit_name", "row_key", "row_label"]
    t4 = aw.frame("t4", "2025Q3", level="detail")
    assert str(t4["done_date"].dtype).startswith("datetime64") and str(t4["reg_no"].dtype) == "string"
    # 鹤壁市 sent a correction: the current frame has version 2 only, current=False both versions.
    both = aw.frame("t5", "2025Q3", current=False)
    assert sorted(both.xs("410600", level="unit_code").index.get_level_values("version")) == [1, 2]
    assert len(aw.frame("t5", "2025Q3").xs("410600", level="unit_code")) == 1
    with pytest.raises(UsageError) as err:
        aw.frame("t5", "2024Q1")
    assert err.value.code == "U031" and "2024年第1季度" in err.value.message
    trend = aw.series("t5", "ucon_count", ["2025Q2", "2025Q3"])
    assert list(trend.columns) == ["2025Q2", "2025Q3"] and len(trend) == 28
    rates = aw.rates("2025Q3", by="province")
    t = aw.frame("t5", "2025Q3")
    assert math.isclose(rates["filing_rate_count"].iloc[0], t["filed_count"].sum() / t["done_count"].sum() * 100)


def test_export_reads_back_to_the_same_frame_and_opens_in_libreoffice(demo, tmp_path, lo_profile):
    import pandas as pd

    from qtables.analysis import open_workspace as analysis

    ws, _master = demo
    result = CliRunner().invoke(main, ["export", "--workspace", str(ws.path), "--period", "2025Q3", "--table", "t5",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    wide = tmp_path / "out" / "2025Q3_附表5_宽表.csv"
    assert wide.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows the Chinese
    back = pd.read_csv(wide, encoding="utf-8-sig", dtype={"unit_code": str, "row_key": str})
    frame = analysis(ws.path).frame("t5", "2025Q3", level="county").reset_index()
    assert len(back) == len(frame) and list(back["unit_name"]) == list(frame["unit_name"])
    assert back["ucon_area"].sum() == pytest.approx(frame["ucon_area"].sum())
    long = pd.read_csv(tmp_path / "out" / "2025Q3_附表5_长表.csv", encoding="utf-8-sig")
    assert "本季度在建工程 / 项数" in set(long["header"])
    # As LibreOffice's text import does when it sees the BOM: comma-separated, UTF-8 (76).
    [converted] = libreoffice.convert([wide], tmp_path / "lo", "xlsx", lo_profile, infilter="CSV:44,34,76,1")
    rows = CalamineWorkbook.from_path(str(converted)).get_sheet_by_name(
        CalamineWorkbook.from_path(str(converted)).sheet_names[0]).to_python()
    assert rows[0][:2] == ["unit_code", "unit_name"] and "郑州市" in [r[1] for r in rows[1:]]


def test_the_master_and_a_receipt_print_cleanly(demo, tmp_path):
    """Printed through LibreOffice: no ###, no empty page, no text past the page edge; one chart per page."""
    from qtables.devtools.pages import review

    ws, master = demo
    report = review(master, tmp_path / "master", png=False)
    assert report.problems == [] and report.pages >= 5
    titles = [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(report.pdf), "-"], capture_output=True, text=True).stdout
              for n in range(1, report.pages + 1)]
    assert not any("考核评分表" in t.splitlines()[0] for t in titles if t.strip())  # no empty scoring sheets in a quarter
    charts = [t for t in titles if "各单位质量备案率" in t or "各单位用户满意率" in t]
    assert len(charts) == 2 and all(("各单位质量备案率" in t) != ("各单位用户满意率" in t) for t in charts)  # one per page
    receipt = next(p for p in (ws.path / "receipts" / "2025Q3" / "410300").glob("*.xlsx"))
    printed = review(receipt, tmp_path / "receipt", png=False)
    assert printed.problems == [], printed.problems


def test_the_demo_timeliness_matches_the_hand_worked_table(demo):
    """The samples: 鹤壁市 sent on 9月30日, was 退回 and corrected on 10月8日 (within 10 days): 按时; 洛阳市 was 退回
    and never corrected: not 按时; 周口市 first sent on 10月9日: 逾期; everyone else sent by 9月30日."""
    ws, _master = demo
    spec = load_spec()
    summary = period_status(ws, spec, Period.parse("2025Q3"))
    got = {u["name"]: u["timing"] for u in summary["units"]}
    expected = {name: "按时" for name in got} | {"鹤壁市": "按时（退回后按期更正）", "洛阳市": "退回未更正", "周口市": "逾期"}
    assert got == expected
    assert (summary["late"], summary["uncorrected"]) == (1, 1)
    q2 = period_status(ws, spec, Period.parse("2025Q2"))
    assert {u["timing"] for u in q2["units"]} == {"按时"}
