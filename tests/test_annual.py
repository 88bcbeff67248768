"""The annual 附表7 against its four quarters on every measure the forms carry, each at the cell that differs."""

from __future__ import annotations

import pytest

from test_periods import chained, problems, write  # noqa: F401 - the module-scoped chain fixture
from qtables.check.checker import check_file
from qtables.intake.run import make_context
from qtables.ledger.store import Ledger
from qtables.template.layout import TableLayout, a1

UNIT = "410300"

CASES = [  # (column changed in one county row, the finding expected at that cell)
    ("new_count", "T7-A1"), ("new_area", "T7-A7"), ("new_cost", "T7-A8"),
    ("done_count", "T7-A3"), ("done_area", "T7-A9"), ("done_cost", "T7-A10"),
    ("filed_count", "T7-A4"), ("filed_area", "T7-A11"),  # 附表7 has no 备案造价
    ("ucon_count", "T7-A2"), ("ucon_area", "T7-A12"), ("ucon_cost", "T7-A13"),
    ("accident_count", "T7-A5"), ("accident_deaths", "T7-A14"), ("accident_loss", "T7-A15"),
    ("carried_count", "T7-A6"), ("carried_area", "T7-A16"), ("carried_cost", "T7-A17"),
    ("satisfaction_rate", "T7-A18"),
]


@pytest.fixture(scope="module")
def annual_ctx(spec, chained):  # noqa: F811
    ws, fillings, _files, root = chained
    ledger = Ledger(ws.path)
    yield ws, fillings, root, make_context(ws, spec, ledger)
    ledger.close()


def test_the_clean_annual_agrees_with_its_quarters_on_every_measure(spec, annual_ctx):
    ws, fillings, root, ctx = annual_ctx
    report = check_file(write(root / "annual_clean.xlsx", spec, ws, UNIT, "2025", fillings["2025"]), ctx)
    assert problems(report) == [], [(f.code, f.cell, f.message) for f in report.findings]
    assert "A00" not in {f.code for f in report.findings}


@pytest.mark.parametrize("column, code", CASES)
def test_each_measure_that_disagrees_is_found_at_its_own_cell(spec, annual_ctx, column, code):
    ws, fillings, root, ctx = annual_ctx
    row = next(i for i, r in enumerate(fillings["2025"].values["t7"]) if (r.get("filed_count") or 0) >= 2)

    def change(values):
        r = values["t7"][row]
        if column == "satisfaction_rate":
            r[column] = max(0.0, (r[column] or 90.0) - 7)  # off the weighted quarters by 7 points
        elif column == "accident_deaths":
            r["accident_count"] = (r.get("accident_count") or 0)
            r[column] = (r.get(column) or 0) + 1
            r["accident_count"] = max(r["accident_count"], 1)
        else:
            r[column] = (r.get(column) or 0) + (1 if column.endswith(("count", "deaths")) else 3.5)

    report = check_file(write(root / f"annual_{column}.xlsx", spec, ws, UNIT, "2025", fillings["2025"], mutate=change), ctx)
    layout = TableLayout.for_unit(spec.table("t7"), ws.registry.unit(UNIT))
    cell = a1(layout.first_data + row, layout.col(column), abs_row=False, abs_col=False)
    found = {(f.code, f.cell) for f in report.findings}
    assert (code, cell) in found, sorted(found)
    # Only the measure changed is reported against the quarters (a 项数 change does not hide behind 面积 or vice versa).
    annual_codes = {c for c, _cell in found if c.startswith("T7-A")}
    if column != "accident_deaths" or fillings["2025"].values["t7"][row].get("accident_count"):
        assert annual_codes == {code}, sorted(found)


def test_at_the_december_deadline_without_q4_the_checks_the_quarters_at_hand_allow_run(spec, tmp_path):
    """12月20日: Q4 is never in. The year's 接转 is still held to Q1's (T7-A6, 强制性) and every flow to at least the sum
    of Q1–Q3 (T7-B*); A00 names what could not run; when Q4 arrives the year is re-checked in full."""
    from conftest import TEST_KEY
    from test_periods import QUARTERS, chain
    from qtables.intake.run import intake
    from qtables.ledger.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    fillings = chain(spec, ws.registry, UNIT)
    for code in QUARTERS[:3]:
        intake(ws, [write(tmp_path / f"{code}.xlsx", spec, ws, UNIT, code, fillings[code])], spec=spec)
    ledger = Ledger(ws.path)
    ctx = make_context(ws, spec, ledger)
    clean = check_file(write(tmp_path / "year.xlsx", spec, ws, UNIT, "2025", fillings["2025"]), ctx)
    assert problems(clean) == [], [(f.code, f.message) for f in clean.findings]
    [a00] = [f for f in clean.findings if f.code == "A00"]
    assert "第4季度" in a00.message and "T7-A6" in a00.message and "T7-B1" in a00.message
    row = 0

    def short(values):  # the year reports fewer 新注册 than Q1–Q3 alone had, and a 接转 that is not Q1's
        values["t7"][row]["new_count"] = 0
        values["t7"][row]["carried_count"] += 1

    bad = check_file(write(tmp_path / "year_bad.xlsx", spec, ws, UNIT, "2025", fillings["2025"], mutate=short), ctx)
    codes = {f.code for f in bad.findings}
    assert {"T7-B1", "T7-A6"} <= codes and "T7-A1" not in codes and bad.status == "rejected"
    ledger.close()
    # The year goes through intake now (with A00), then Q4 arrives: the year is re-checked with all four quarters.
    intake(ws, [write(tmp_path / "year.xlsx", spec, ws, UNIT, "2025", fillings["2025"])], spec=spec)
    outcomes = intake(ws, [write(tmp_path / "q4.xlsx", spec, ws, UNIT, "2025Q4", fillings["2025Q4"])], spec=spec)
    [again] = [o for o in outcomes if o.status == "rechecked"]
    assert again.period == "2025" and "收到2025年第4季度报表" in again.message
    ledger = Ledger(ws.path)
    [year] = [r for r in ledger.current_submissions("2025") if r["unit_code"] == UNIT]
    assert "A00" not in {f["code"] for f in ledger.findings_of(year["id"])}
    ledger.close()


@pytest.mark.parametrize("column, code", [("new_area", "T6-A2"), ("done_count", "T6-A4"), ("filed_cost", "T6-A9"),
                                          ("ucon_cost", "T6-A12")])
def test_the_annual_table6_is_the_sum_of_its_quarters_per_category(spec, annual_ctx, column, code):
    ws, fillings, root, ctx = annual_ctx

    def change(values):
        values["t6"][0][column] = (values["t6"][0].get(column) or 0) + (1 if column.endswith("count") else 2.5)

    report = check_file(write(root / f"annual6_{column}.xlsx", spec, ws, UNIT, "2025", fillings["2025"], mutate=change), ctx)
    layout = TableLayout.for_unit(spec.table("t6"), ws.registry.unit(UNIT))
    cell = a1(layout.first_data, layout.col(column), abs_row=False, abs_col=False)
    assert (code, cell) in {(f.code, f.cell) for f in report.findings}, [(f.code, f.cell) for f in report.findings]


def test_table6_categories_carry_their_ongoing_projects_from_quarter_to_quarter(spec, annual_ctx):
    ws, fillings, root, ctx = annual_ctx
    clean = check_file(write(root / "q4_clean.xlsx", spec, ws, UNIT, "2025Q4", fillings["2025Q4"]), ctx)
    assert not {f.code for f in clean.findings} & {"T6-P1", "T6-P2", "T6-P3"}

    def change(values):
        values["t6"][0]["ucon_count"] += 3  # 住宅 在建 no longer Q3's + new − done

    report = check_file(write(root / "q4_t6.xlsx", spec, ws, UNIT, "2025Q4", fillings["2025Q4"], mutate=change), ctx)
    layout = TableLayout.for_unit(spec.table("t6"), ws.registry.unit(UNIT))
    cell = a1(layout.first_data, layout.col("ucon_count"), abs_row=False, abs_col=False)
    assert ("T6-P1", cell) in {(f.code, f.cell) for f in report.findings}


def test_table6_rules_for_one_period_kind_are_only_in_that_kinds_workbook(spec):
    """附表6 is in the quarterly and the annual set; its annual = Σ quarters rules belong to the annual one only, so a
    quarterly 自查 does not list twelve lines that can never apply."""
    quarterly = {r.code for r in spec.rules_for(["quarter"], ["t5", "t6"])}
    annual = {r.code for r in spec.rules_for(["year"], ["t6", "t7"])}
    assert not {c for c in quarterly if c.startswith("T6-A")}
    assert {f"T6-A{i}" for i in range(1, 13)} <= annual and {"T6-P1", "T6-05"} <= quarterly & annual
