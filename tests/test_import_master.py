"""import-master: the 接转 check works from the first quarter qtables is used."""

from __future__ import annotations

import openpyxl
from click.testing import CliRunner

from conftest import TEST_KEY
from qtables.devtools import samplegen
from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.cli import main
from qtables.intake.run import make_context
from qtables.period import Period
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import init_workspace
from builders import layouts_for
from officialsheets import Variant, write_official


def _q2_q3(spec, workspace, unit_code, tmp_path, mutate=None):
    """A unit's consistent Q2 and Q3 workbooks (projects carried over)."""
    unit = workspace.registry.unit(unit_code)
    fillings = {}
    previous = None
    for code in ("2025Q2", "2025Q3"):
        period = Period.parse(code)
        _s, _t, layouts = layouts_for(spec, unit, period)
        previous = fillings[code] = samplegen.generate(layouts, unit, period, seed=3, previous=previous)
    import copy

    from qtables.issue.workbook import IssueRequest, build_workbook
    from qtables.template.names import tables_for

    tmp_path.mkdir(parents=True, exist_ok=True)
    paths = {}
    for code, filling in fillings.items():
        period = Period.parse(code)
        sets, tids = tables_for(spec, period)
        values = copy.deepcopy(filling.values)
        if mutate and code == "2025Q3":
            mutate(values)
        paths[code] = tmp_path / f"{unit_code}_{code}.xlsx"
        build_workbook(paths[code], spec=spec, request=IssueRequest(unit, period, tids, sets, values=values), key=workspace.signing_key, password="pw")
    return paths


def test_importing_our_own_master_enables_the_carry_over_check(spec, workspace, tmp_path):
    from qtables.intake.run import intake
    from qtables.merge.master import merge

    source = init_workspace(tmp_path / "old", signing_key=TEST_KEY)
    q2 = {}
    for code in ("410300", "411729"):
        q2[code] = _q2_q3(spec, workspace, code, tmp_path)
        intake(source, [q2[code]["2025Q2"]], spec=spec)
    master = merge(source, spec, Period.parse("2025Q2"))
    fresh = init_workspace(tmp_path / "new", signing_key=TEST_KEY)
    refused = CliRunner().invoke(main, ["import-master", "--workspace", str(fresh.path), str(master), "--period", "2025Q2"])
    assert refused.exit_code == 2 and "U017" in refused.output and "郑州市" in refused.output  # 26 units absent: refused
    result = CliRunner().invoke(main, ["import-master", "--workspace", str(fresh.path), str(master), "--period", "2025Q2",
                                       "--allow-partial"])
    assert result.exit_code == 0, result.output
    assert "2 个单位" in result.output and "已记录的缺漏" in result.output
    ledger = Ledger(fresh.path)
    ctx = make_context(fresh, spec, ledger)
    good = check_file(q2["410300"]["2025Q3"], ctx)
    assert good.status == "accepted", [f.code for f in good.findings]
    bad_paths = _q2_q3(spec, workspace, "410300", tmp_path / "bad",
                       mutate=lambda v: v["t5"][3].update(carried_count=v["t5"][3]["carried_count"] + 2))
    bad = check_file(bad_paths["2025Q3"], ctx)
    p1 = [f for f in bad.findings if f.code == "T5-P1"]
    assert p1 and p1[0].cell == "C9"
    ledger.close()


def test_importing_the_official_layout_checks_units_without_county_rows(spec, workspace, tmp_path):
    paths = _q2_q3(spec, workspace, "411729", tmp_path)  # 新蔡县: a 省直管县 with one row
    q2 = check_file(paths["2025Q2"], CheckContext(spec, workspace.registry, workspace.signing_key))
    row = q2.data.tables["t5"].rows[0]
    t5 = spec.table("t5")
    # The official 附表5 as the seed prints it, filled for the province: one row per unit.
    official = write_official(tmp_path / "2025年第2季度附表5.xlsx", t5,
                              [("新蔡县", {c.id: row.get(c.id) for c in t5.columns}), ("郑州市", {c.id: 5 for c in t5.columns})],
                              Variant("办法原样"))
    fresh = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    result = CliRunner().invoke(main, ["import-master", "--workspace", str(fresh.path), str(official), "--period", "2025Q2",
                                       "--allow-partial"])
    assert result.exit_code == 0, result.output
    ledger = Ledger(fresh.path)
    ctx = make_context(fresh, spec, ledger)
    assert check_file(paths["2025Q3"], ctx).status == "accepted"
    wrong = _q2_q3(spec, workspace, "411729", tmp_path / "wrong",
                   mutate=lambda v: v["t5"][0].update(carried_count=v["t5"][0]["carried_count"] + 1))
    assert "T5-P1" in {f.code for f in check_file(wrong["2025Q3"], ctx).findings}
    ledger.close()
    junk = tmp_path / "junk.xlsx"
    openpyxl.Workbook().save(junk)
    result = CliRunner().invoke(main, ["import-master", "--workspace", str(fresh.path), str(junk), "--period", "2025Q2"])
    assert result.exit_code == 2 and "U015" in result.output
