"""Projects over their whole life (PC-05…PC-09): against every earlier quarter and the other units' filings."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from conftest import TEST_KEY
from test_periods import QUARTERS, UNIT, chain, write
from qtables.intake.run import intake
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import init_workspace
from qtables.spec.registry import load_registry
from qtables.template.layout import TableLayout, a1

LIFE = ("PC-05", "PC-06", "PC-07", "PC-08", "PC-09")
OTHER = "410200"  # 开封市


def findings(ws, unit, period):
    ledger = Ledger(ws.path)
    try:
        [sub] = [r for r in ledger.current_submissions(period) if r["unit_code"] == unit]
        return [(f["code"], f["sheet"], f["cell"]) for f in ledger.findings_of(sub["id"])], sub["status"]
    finally:
        ledger.close()


@pytest.fixture(scope="module")
def base(spec):
    return chain(spec, load_registry(), UNIT)


def ledger_with(spec, tmp_path, fillings, periods):
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    for code in periods:
        intake(ws, [write(tmp_path / f"{UNIT}_{code}.xlsx", spec, ws, UNIT, code, fillings[code])], spec=spec)
    return ws


def cell(spec, ws, table_id, row, column):
    layout = TableLayout.for_unit(spec.table(table_id), ws.registry.unit(UNIT))
    return layout.sheet, a1(layout.first_data + row, layout.col(column), abs_row=False, abs_col=False)


def test_the_clean_chain_has_no_lifecycle_finding(spec, base, tmp_path):
    ws = ledger_with(spec, tmp_path, base, QUARTERS)
    for code in QUARTERS:
        got, status = findings(ws, UNIT, code)
        assert not [f for f in got if f[0] in LIFE] and status == "accepted", (code, got)


def test_completed_then_ongoing_again_completed_twice_and_filed_twice(spec, base, tmp_path):
    """Q2's 附表4 project comes back: in Q4's 附表3 (PC-05, two quarters later, not only the previous one), in Q3's
    附表4 with a Q3 竣工日期 (PC-06), and in Q3's 附表4 again 准予备案 with its old 竣工日期 (PC-07 only)."""
    fillings = copy.deepcopy(base)
    done = fillings["2025Q2"].values["t4"][0]
    q3_t4, q4_t3 = fillings["2025Q3"].values["t4"], fillings["2025Q4"].values["t3"]
    again = dict(done, done_date=date(2025, 8, 1), filed_date=date(2025, 8, 9))
    refiled = dict(fillings["2025Q2"].values["t4"][1], filed_date=date(2025, 8, 20))  # old 竣工日期, 备案 again in Q3
    q3_t4 += [again, refiled]
    q4_t3.append({k: done[k] for k in ("reg_no", "name", "structure", "area", "cost", "builder", "supervisor")} | {"progress": "主体施工"})
    ws = ledger_with(spec, tmp_path, fillings, QUARTERS)
    got3, _ = findings(ws, UNIT, "2025Q3")
    n = len(q3_t4)
    assert ("PC-06", *cell(spec, ws, "t4", n - 2, "done_date")) in got3, got3
    assert ("PC-07", *cell(spec, ws, "t4", n - 1, "filed_date")) in got3, got3
    assert ("PC-06", *cell(spec, ws, "t4", n - 1, "done_date")) not in got3  # its 竣工日期 is Q2's: a 备案 listing
    got4, _ = findings(ws, UNIT, "2025Q4")
    assert ("PC-05", *cell(spec, ws, "t3", len(q4_t3) - 1, "reg_no")) in got4, got4


def test_a_registration_number_of_another_unit_and_the_same_project_in_two_units(spec, base, tmp_path):
    """开封市 lists one of 洛阳市's projects: PC-08 (its 注册号 is 洛阳's) in 开封's filing and PC-09 in both; 洛阳's
    filing, accepted before 开封's arrived, is re-checked and answered again."""
    ws = ledger_with(spec, tmp_path, base, ["2025Q3"])
    assert findings(ws, UNIT, "2025Q3")[1] == "accepted"
    other = chain(spec, ws.registry, OTHER)["2025Q3"]
    taken = base["2025Q3"].values["t3"][0]
    other.values["t3"].append(dict(taken))
    outcomes = intake(ws, [write(tmp_path / "kf.xlsx", spec, ws, OTHER, "2025Q3", other)], spec=spec)
    got, status = findings(ws, OTHER, "2025Q3")
    codes = {f[0] for f in got}
    assert {"PC-08", "PC-09"} <= codes and status == "accepted_with_warnings", got
    mine, status = findings(ws, UNIT, "2025Q3")
    assert ("PC-09", *cell(spec, ws, "t3", 0, "reg_no")) in mine and status == "accepted_with_warnings", mine
    [again] = [o for o in outcomes if o.status == "rechecked"]
    assert again.unit == UNIT and "其他单位本期报表中的相同注册号" in again.message
    # 开封 removes it: both are clean again (洛阳 re-checked once more).
    fixed = chain(spec, ws.registry, OTHER)["2025Q3"]
    outcomes = intake(ws, [write(tmp_path / "kf2.xlsx", spec, ws, OTHER, "2025Q3", fixed)], spec=spec)
    assert not {f[0] for f in findings(ws, UNIT, "2025Q3")[0]} & set(LIFE)
    assert [o.unit for o in outcomes if o.status == "rechecked"] == [UNIT]


def test_imported_project_lists_let_continuity_run_from_the_first_filing(spec, base, tmp_path):
    """Day one: the clerk imports last quarter's province master — 附表5 and the 附表3/附表4 lists (a 填报单位 column).
    The first Q3 filing is then checked for continuity (a vanished project is PC-01), not noted P04."""
    from click.testing import CliRunner

    from qtables.cli import main
    from qtables.merge.master import merge
    from qtables.period import Period

    source = ledger_with(spec, tmp_path / "old", base, ["2025Q2"])
    master = merge(source, spec, Period.parse("2025Q2"))
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    run = CliRunner()
    for extra in ([], ["--table", "附表3"], ["--table", "附表4"]):
        result = run.invoke(main, ["import-master", "--workspace", str(ws.path), str(master), "--period", "2025Q2",
                                   "--allow-partial", *extra])
        assert result.exit_code == 0, result.output
    assert "附表3 " in result.output or "附表4 " in result.output
    q3 = copy.deepcopy(base["2025Q3"])
    gone = q3.values["t3"].pop(0)  # a project 在建 in Q2 is neither 在建 nor 竣工 in Q3
    intake(ws, [write(tmp_path / "q3.xlsx", spec, ws, UNIT, "2025Q3", q3)], spec=spec)
    got, _status = findings(ws, UNIT, "2025Q3")
    codes = {f[0] for f in got}
    assert "P04" not in codes and "P00" not in codes and "PC-01" in codes, got
    assert "P05" in codes  # the master's 附表6 was not imported: its categories' carry-over is noted, not silently skipped
    ledger = Ledger(ws.path)
    try:
        [sub] = [r for r in ledger.current_submissions("2025Q3") if r["unit_code"] == UNIT]
        [pc01] = [f for f in ledger.findings_of(sub["id"]) if f["code"] == "PC-01"]
    finally:
        ledger.close()
    assert gone["reg_no"] in pc01["message"]
    # Refusals name the problem: a list without a 填报单位 column needs --unit.
    import openpyxl

    bare = tmp_path / "bare.xlsx"
    wb = openpyxl.load_workbook(master)
    sheet = wb["附表3"]
    sheet.delete_cols(1)
    wb.save(bare)
    refused = run.invoke(main, ["import-master", "--workspace", str(ws.path), str(bare), "--period", "2025Q2", "--table", "附表3"])
    assert refused.exit_code == 2 and "U037" in refused.output and "填报单位" in refused.output


def test_an_imported_table6_lets_its_categories_carry_over_from_the_first_filing(spec, base, tmp_path):
    """The master's 附表6明细 (单位 × 分类) imported with --table 附表6: the first Q3 filing's categories are held to
    last quarter's 在建 (T6-P1 when one is off), and P05 no longer says it could not be checked."""
    from click.testing import CliRunner

    from qtables.cli import main
    from qtables.merge.master import merge
    from qtables.period import Period

    source = ledger_with(spec, tmp_path / "old", base, ["2025Q2"])
    master = merge(source, spec, Period.parse("2025Q2"))
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    for extra in ([], ["--table", "附表6"]):
        result = CliRunner().invoke(main, ["import-master", "--workspace", str(ws.path), str(master), "--period", "2025Q2",
                                           "--allow-partial", *extra])
        assert result.exit_code == 0, result.output
    assert "附表6 6 行，1 个单位" in result.output, result.output
    q3 = copy.deepcopy(base["2025Q3"])
    q3.values["t6"][0]["ucon_count"] += 2
    intake(ws, [write(tmp_path / "q3.xlsx", spec, ws, UNIT, "2025Q3", q3)], spec=spec)
    got, _status = findings(ws, UNIT, "2025Q3")
    codes = {f[0] for f in got}
    assert "T6-P1" in codes and "P05" not in codes, got
