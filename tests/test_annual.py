"""The annual 附表7 against its four quarters on every measure the forms carry, each at the cell that differs."""

from __future__ import annotations

import pytest

from test_periods import chained, problems, write  # noqa: F401 - the module-scoped chain fixture
from qtables.check.checker import check_file
from qtables.intake.run import make_context
from qtables.ledger.store import Ledger
from qtables.period import Period
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
