"""Truth across periods: 接转 from the ledger at every level, annual = Σ quarters, project continuity, pre-fill."""

from __future__ import annotations

import copy
import re
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from builders import layouts_for
from conftest import TEST_KEY
from officialsheets import Variant, write_official
from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.cli import main
from qtables.devtools import samplegen
from qtables.intake.run import intake, make_context
from qtables.issue.run import issue_templates
from qtables.issue.workbook import IssueRequest, build_workbook
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import init_workspace
from qtables.period import Period
from qtables.template.layout import TableLayout
from qtables.template.names import tables_for

UNIT = "410300"  # 洛阳市: a city with county rows
QUARTERS = ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]


def chain(spec, registry, unit_code: str, seed: int = 7) -> dict[str, samplegen.Filling]:
    """Four consistent quarters (projects carried over) and the annual 附表7 made from them."""
    unit = registry.unit(unit_code)
    out, previous = {}, None
    for code in QUARTERS:
        period = Period.parse(code)
        _s, _t, layouts = layouts_for(spec, unit, period)
        previous = out[code] = samplegen.generate(layouts, unit, period, seed=seed, previous=previous)
    out["2025"] = annual_from(spec, unit, [out[q] for q in QUARTERS])
    return out


def annual_from(spec, unit, quarters: list[samplegen.Filling]) -> samplegen.Filling:
    period = Period.parse("2025")
    _s, _t, layouts = layouts_for(spec, unit, period)
    annual = samplegen.generate(layouts, unit, period, seed=1)
    rows = []
    for i in range(len(quarters[0].values["t5"])):
        qs = [q.values["t5"][i] for q in quarters]
        row = dict(annual.values["t7"][i])
        for prefix in ("new", "done", "filed"):
            row[f"{prefix}_count"] = sum(q[f"{prefix}_count"] for q in qs)
            row[f"{prefix}_area"] = round(sum(q[f"{prefix}_area"] for q in qs), 2)
            row[f"{prefix}_cost"] = round(sum(q[f"{prefix}_cost"] for q in qs), 2)
        for col in ("accident_count", "accident_deaths", "accident_loss"):
            row[col] = sum(q.get(col) or 0 for q in qs)
        for col in ("count", "area", "cost"):
            row[f"carried_{col}"] = qs[0][f"carried_{col}"]
            row[f"ucon_{col}"] = qs[3][f"ucon_{col}"]
        stated = [(q["satisfaction_rate"], q["filed_count"]) for q in qs if q.get("satisfaction_rate") is not None and q["filed_count"]]
        weight = sum(w for _r, w in stated)
        row["satisfaction_rate"] = (round(sum(r * w for r, w in stated) / weight, 2) if weight else 90.0) if row["filed_count"] else None
        rows.append(row)
    annual.values["t7"] = rows
    categories = []  # 附表6 of the year: Σ quarters for the flows, Q4 for 在建
    for i in range(len(quarters[0].values["t6"])):
        qs = [q.values["t6"][i] for q in quarters]
        row = dict(qs[3])
        for prefix in ("new", "done", "filed"):
            row[f"{prefix}_count"] = sum(q.get(f"{prefix}_count") or 0 for q in qs)
            row[f"{prefix}_area"] = round(sum(q.get(f"{prefix}_area") or 0 for q in qs), 2)
            row[f"{prefix}_cost"] = round(sum(q.get(f"{prefix}_cost") or 0 for q in qs), 2)
        categories.append(row)
    annual.values["t6"] = categories
    return annual


def write(path, spec, workspace, unit_code, code, filling, mutate=None):
    unit = workspace.registry.unit(unit_code)
    period = Period.parse(code)
    sets, tids = tables_for(spec, period)
    values = copy.deepcopy(filling.values)
    if mutate:
        mutate(values)
    request = IssueRequest(unit, period, tids, sets, values=values, line_values=filling.line_values)
    build_workbook(path, spec=spec, request=request, key=workspace.signing_key, password="pw")
    return path


def problems(report):
    return sorted({f.code for f in report.findings if f.severity in ("E", "W")})


@pytest.fixture(scope="module")
def chained(spec, tmp_path_factory):
    """A workspace whose ledger holds 洛阳市's four quarters, clean."""
    root = tmp_path_factory.mktemp("chain")
    ws = init_workspace(root / "ws", signing_key=TEST_KEY)
    fillings = chain(spec, ws.registry, UNIT)
    files = {}
    for code in QUARTERS:
        files[code] = write(root / f"{UNIT}_{code}.xlsx", spec, ws, UNIT, code, fillings[code])
        intake(ws, [files[code]], spec=spec)
    return ws, fillings, files, root


def test_a_clean_chain_has_no_errors_or_warnings_and_says_what_it_compared(spec, chained):
    ws, fillings, files, root = chained
    ledger = Ledger(ws.path)
    ctx = make_context(ws, spec, ledger)
    first = check_file(files["2025Q1"], ctx)
    assert problems(first) == [] and {"P00", "P04"} <= {f.code for f in first.findings}  # no 2024 data: said, not silent
    for code in QUARTERS[1:]:
        report = check_file(files[code], ctx)
        assert problems(report) == [], (code, [(f.code, f.message) for f in report.findings])
        assert not {"P00", "P04"} & {f.code for f in report.findings}
        assert report.previous is not None and report.previous.period == Period.parse(code).previous()
    annual = check_file(write(root / "annual.xlsx", spec, ws, UNIT, "2025", fillings["2025"]), ctx)
    assert problems(annual) == [], [(f.code, f.message) for f in annual.findings]
    assert "A00" not in {f.code for f in annual.findings}
    ledger.close()


def test_each_break_of_the_carry_over_is_caught_at_its_cell_naming_its_source(spec, chained, tmp_path):
    ws, fillings, files, _root = chained
    ledger = Ledger(ws.path)
    ctx = make_context(ws, spec, ledger)
    for column, code in (("carried_count", "T5-P1"), ("carried_area", "T5-P2"), ("carried_cost", "T5-P3")):
        def bump(v, column=column):
            v["t5"][2][column] = round(v["t5"][2][column] + 3, 2)
        report = check_file(write(tmp_path / f"{column}.xlsx", spec, ws, UNIT, "2025Q3", fillings["2025Q3"], bump), ctx)
        layout = TableLayout.for_unit(spec.table("t5"), ws.registry.unit(UNIT))
        hits = [f for f in report.findings if f.code == code]
        assert len(hits) == 1 and hits[0].severity == "E"
        assert hits[0].cell == f"{chr(65 + layout.col(column))}{layout.first_data + 3}"
        assert hits[0].source.startswith("2025年第2季度 第1版") and "对照：2025年第2季度" in hits[0].message
    ledger.close()


def test_annual_identities_against_the_four_quarters(spec, chained, tmp_path):
    ws, fillings, _files, _root = chained
    ledger = Ledger(ws.path)
    ctx = make_context(ws, spec, ledger)
    cases = {
        "T7-A1": lambda r: r.update(new_count=r["new_count"] + 1, ucon_count=r["ucon_count"] + 1),
        "T7-A2": lambda r: r.update(ucon_count=r["ucon_count"] + 2),
        "T7-A3": lambda r: r.update(done_count=r["done_count"] + 1, ucon_count=r["ucon_count"] - 1),
        "T7-A11": lambda r: r.update(filed_area=round(r["filed_area"] + 0.5, 2)),  # 面积: its own rule, at its cell
        "T7-A15": lambda r: r.update(accident_loss=(r["accident_loss"] or 0) + 7),
        "T7-A17": lambda r: r.update(carried_cost=round(r["carried_cost"] + 9, 2)),
    }
    for code, change in cases.items():
        report = check_file(write(tmp_path / f"{code}.xlsx", spec, ws, UNIT, "2025", fillings["2025"],
                                  lambda v, change=change: change(v["t7"][1])), ctx)
        hits = [f for f in report.findings if f.code == code]
        assert hits and hits[0].cell.endswith(str(TableLayout.for_unit(spec.table("t7"), ws.registry.unit(UNIT)).first_data + 2)), (
            code, [(f.code, f.cell) for f in report.findings])
        assert hits[0].severity == ("E" if code == "T7-A17" else "W")
    ledger.close()


def test_missing_quarters_are_a_coded_note(spec, workspace, tmp_path):
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    fillings = chain(spec, ws.registry, "411729")
    intake(ws, [write(tmp_path / "q1.xlsx", spec, ws, "411729", "2025Q1", fillings["2025Q1"])], spec=spec)
    ledger = Ledger(ws.path)
    report = check_file(write(tmp_path / "y.xlsx", spec, ws, "411729", "2025", fillings["2025"]), make_context(ws, spec, ledger))
    [note] = [f for f in report.findings if f.code == "A00"]
    assert "第2季度" in note.message and "第4季度" in note.message and note.severity == "I"
    assert not any(f.code.startswith("T7-A") for f in report.findings)
    ledger.close()


def test_project_continuity(spec, chained, tmp_path):
    ws, fillings, _files, _root = chained
    ledger = Ledger(ws.path)
    ctx = make_context(ws, spec, ledger)
    q3 = fillings["2025Q3"]
    q2_ongoing = {p.reg_no for p in fillings["2025Q2"].projects if p.under_construction}
    carried = [i for i, r in enumerate(q3.values["t3"]) if r["reg_no"] in q2_ongoing]
    gone = q3.values["t3"][carried[0]]["reg_no"]

    def vanish(v):
        del v["t3"][carried[0]]

    def appear(v):
        row = dict(v["t4"][0]) if v["t4"] else dict(v["t3"][0], done_date=Period.parse("2025Q3").end, acceptance="合格")
        row["reg_no"] = "410300-2025-9999"
        v["t4"].append(row)

    def rename(v):
        v["t3"][carried[1]]["name"] = "改名后的工程"
        v["t3"][carried[1]]["builder"] = "另一家施工单位有限公司"

    vanished = check_file(write(tmp_path / "vanish.xlsx", spec, ws, UNIT, "2025Q3", q3, vanish), ctx)
    [pc1] = [f for f in vanished.findings if f.code == "PC-01"]
    assert gone in pc1.message and pc1.severity == "W"
    appeared = check_file(write(tmp_path / "appear.xlsx", spec, ws, UNIT, "2025Q3", q3, appear), ctx)
    [pc2] = [f for f in appeared.findings if f.code.startswith("PC-")]
    assert pc2.code == "PC-02" and "410300-2025-9999" in pc2.message
    renamed = check_file(write(tmp_path / "rename.xlsx", spec, ws, UNIT, "2025Q3", q3, rename), ctx)
    [pc3] = [f for f in renamed.findings if f.code == "PC-03"]
    assert "改名后的工程" in pc3.message and "另一家施工单位有限公司" in pc3.message
    ledger.close()


def test_issue_prefills_and_locks_carry_over_from_the_ledger(spec, chained, tmp_path):
    ws, fillings, _files, _root = chained
    [issued] = issue_templates(ws, period=Period.parse("2025Q4"), out_dir=tmp_path, unit_codes=[UNIT], spec=spec)
    wb = openpyxl.load_workbook(issued.path)
    layout = TableLayout.for_unit(spec.table("t5"), ws.registry.unit(UNIT))
    sheet = wb[layout.sheet]
    for i, row in enumerate(fillings["2025Q3"].values["t5"]):
        cell = sheet.cell(row=layout.first_data + i + 1, column=layout.col("carried_count") + 1)
        assert cell.value == row["ucon_count"] and cell.protection.locked
    guide = " ".join(str(c.value) for c in wb["填表说明"]["A"] if c.value)
    assert "已按2025年第3季度 第1版" in guide and "预填并锁定" in guide
    blank = init_workspace(tmp_path / "empty", signing_key=TEST_KEY)
    [plain] = issue_templates(blank, period=Period.parse("2025Q4"), out_dir=tmp_path / "plain", unit_codes=[UNIT], spec=spec)
    wb = openpyxl.load_workbook(plain.path)
    cell = wb[layout.sheet].cell(row=layout.first_data + 1, column=layout.col("carried_count") + 1)
    assert cell.value is None and not cell.protection.locked
    assert "未预填" in " ".join(str(c.value) for c in wb["填表说明"]["A"] if c.value)


def test_a_one_row_import_still_checks_the_total_row_of_a_city(spec, workspace, tmp_path):
    """After import-master of a master with one row per unit, a city's 合计 接转 is checked (hard error)."""
    unit = workspace.registry.unit(UNIT)
    fillings = chain(spec, workspace.registry, UNIT)
    q2 = check_file(write(tmp_path / "q2.xlsx", spec, workspace, UNIT, "2025Q2", fillings["2025Q2"]),
                    CheckContext(spec, workspace.registry, workspace.signing_key))
    q2_total = q2.data.tables["t5"].total
    t5 = spec.table("t5")
    official = write_official(tmp_path / "附表5.xlsx", t5, [(unit.name, dict(q2_total))], Variant("办法原样"))
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    result = CliRunner().invoke(main, ["import-master", "--workspace", str(ws.path), str(official), "--period", "2025Q2",
                                       "--allow-partial"])
    assert result.exit_code == 0, result.output
    ledger = Ledger(ws.path)
    ctx = make_context(ws, spec, ledger)
    clean = check_file(write(tmp_path / "q3.xlsx", spec, ws, UNIT, "2025Q3", fillings["2025Q3"]), ctx)
    assert "T5-P1" not in problems(clean)
    off = check_file(write(tmp_path / "q3off.xlsx", spec, ws, UNIT, "2025Q3", fillings["2025Q3"],
                           lambda v: v["t5"][1].update(carried_count=v["t5"][1]["carried_count"] + 1)), ctx)
    layout = TableLayout.for_unit(t5, unit)
    [p1] = [f for f in off.findings if f.code == "T5-P1"]
    assert p1.severity == "E" and off.status == "rejected"
    assert p1.cell == f"{chr(65 + layout.col('carried_count'))}{layout.total_row + 1}" and "合计" in p1.message
    ledger.close()


@pytest.mark.libreoffice
def test_the_prefilled_templates_selfcheck_catches_a_changed_carry_over_in_libreoffice(spec, chained, tmp_path, lo_profile):
    """Q4 issued from the ledger's Q3: LibreOffice's recalculated 自查 shows T5-P1 ✓ when 接转 is left as
    pre-filled, and ✗ on the one row where it was changed, as qtables check says."""
    import libreoffice
    from filling import fill_with_openpyxl, selfcheck_verdicts

    ws, fillings, _files, _root = chained
    unit = ws.registry.unit(UNIT)
    [issued] = issue_templates(ws, period=Period.parse("2025Q4"), out_dir=tmp_path / "issued", unit_codes=[UNIT], spec=spec)
    _s, _t, layouts = layouts_for(spec, unit, Period.parse("2025Q4"))
    q4 = fillings["2025Q4"]
    inputs = {tid: [{k: v for k, v in row.items() if not k.startswith("carried_")} for row in rows] if tid == "t5" else rows
              for tid, rows in q4.values.items()}
    clean = fill_with_openpyxl(issued.path, tmp_path / "clean.xlsx", layouts, inputs, q4.line_values)
    changed_values = copy.deepcopy(inputs)
    changed_values["t5"][2]["carried_count"] = q4.values["t5"][2]["carried_count"] + 1
    changed = fill_with_openpyxl(issued.path, tmp_path / "changed.xlsx", layouts, changed_values, q4.line_values)
    # fill_with_openpyxl writes input columns only; 接转 is locked now, so write the change by hand.
    wb = openpyxl.load_workbook(changed)
    layout = TableLayout.for_unit(spec.table("t5"), unit)
    wb[layout.sheet].cell(row=layout.first_data + 3, column=layout.col("carried_count") + 1).value = changed_values["t5"][2]["carried_count"]
    wb.save(changed)
    out = libreoffice.convert([clean, changed], tmp_path / "lo", "xlsx", lo_profile)
    shown = {name: {k: v for k, v in selfcheck_verdicts(p).items() if k[0] == "T5-P1"} for name, p in zip(("clean", "changed"), out)}
    [(mark, count, _cell)] = shown["clean"].values()
    assert (mark, count) == ("✓", 0)
    [(mark, count, cell)] = shown["changed"].values()
    assert (mark, count) == ("✗", 1) and cell.endswith(f"{layout.first_data + 3}")
    ledger = Ledger(ws.path)
    report = check_file(out[1], make_context(ws, spec, ledger))
    assert [f.cell for f in report.findings if f.code == "T5-P1"] == [f"{chr(65 + layout.col('carried_count'))}{layout.first_data + 3}"]
    ledger.close()


def test_detail_capacity_follows_the_previous_size_and_check_reads_it(spec, tmp_path):
    """A unit with more 在建 projects than the spec's 300 rows gets enough rows to satisfy X-01."""
    from qtables.issue.run import detail_capacity

    assert detail_capacity(300, 0) == 300 and detail_capacity(300, 400) == 550 and detail_capacity(300, 1761) == 2300
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    unit = ws.registry.unit("411729")
    period = Period.parse("2025Q3")
    sets, tids = tables_for(spec, period)
    layouts = [TableLayout.for_unit(spec.table(t), unit, 1000 if t in ("t3", "t4") else None) for t in tids]
    filling = samplegen.generate(layouts, unit, period, seed=2, projects_per_row=(500, 600))
    assert len(filling.values["t3"]) > 300
    request = IssueRequest(unit, period, tids, sets, values=filling.values, line_values=filling.line_values,
                           capacity={"t3": 1000, "t4": 1000})
    path = tmp_path / "big.xlsx"
    build_workbook(path, spec=spec, request=request, key=ws.signing_key, password="pw")
    report = check_file(path, CheckContext(spec, ws.registry, ws.signing_key))
    assert report.identity.capacities == {"t3": 1000, "t4": 1000}
    assert problems(report) == [], [(f.code, f.message) for f in report.findings if f.severity in "EW"]
    guide = " ".join(str(c.value) for c in openpyxl.load_workbook(path)["填表说明"]["A"] if c.value)
    assert "各预留 1000 行" in guide


@pytest.mark.libreoffice
def test_an_annual_templates_selfcheck_checks_the_quarters_live_in_libreoffice(spec, chained, tmp_path, lo_profile):
    """Issued when the four quarters are in the ledger, the annual template carries them on a hidden sheet:
    LibreOffice's 自查 shows every T7-A identity ✓ on a consistent filling and ✗ on the one broken, as check does."""
    import libreoffice
    from filling import fill_with_openpyxl, selfcheck_verdicts

    ws, fillings, _files, _root = chained
    unit = ws.registry.unit(UNIT)
    period = Period.parse("2025")
    [issued] = issue_templates(ws, period=period, out_dir=tmp_path / "issued", unit_codes=[UNIT], spec=spec)
    assert "_quarters_t7" in openpyxl.load_workbook(issued.path).sheetnames
    _s, _t, layouts = layouts_for(spec, unit, period)
    annual = fillings["2025"]
    broken = copy.deepcopy(annual.values)
    broken["t7"][1]["new_count"] += 1
    files = [fill_with_openpyxl(issued.path, tmp_path / f"{n}.xlsx", layouts, v, annual.line_values)
             for n, v in (("clean", annual.values), ("broken", broken))]
    clean, bad = libreoffice.convert(files, tmp_path / "lo", "xlsx", lo_profile)
    shown = {k: v for k, v in selfcheck_verdicts(clean).items() if k[0].startswith("T7-A")}
    assert len(shown) == 18 and all(mark == "✓" for mark, _n, _c in shown.values()), shown
    wrong = {k[0]: v for k, v in selfcheck_verdicts(bad).items() if k[0].startswith("T7-A") and v[0] == "✗"}
    assert set(wrong) == {"T7-A1"} and wrong["T7-A1"][1] == 1
    ledger = Ledger(ws.path)
    report = check_file(bad, make_context(ws, spec, ledger))
    ledger.close()
    assert sorted({f.code for f in report.findings if f.code.startswith("T7-A")}) == ["T7-A1"]


@pytest.mark.libreoffice
@pytest.mark.gnumeric
def test_shared_helper_formulas_read_the_previous_and_quarters_sheets_in_both_engines(spec, chained, tmp_path, lo_profile):
    """The pre-filled Q4 workbook and the annual one as qtables' writer makes them — the helper's shared formulas
    as issued, not expanded by openpyxl — with every cached helper result overwritten as "passes": LibreOffice and
    Gnumeric still cross T5-P1 on the changed 接转 row (read from the hidden _prev_ sheet) and T7-A1 on the broken
    annual row (read from the hidden _quarters_ sheet), and nothing else of either family."""
    import gnumeric
    import libreoffice
    from filling import selfcheck_verdicts
    from qtables.issue.run import ledger_previous, quarters_for
    from test_helper_sheet import _helper_part, _with_cache_claiming_pass

    ws, fillings, _files, _root = chained
    unit = ws.registry.unit(UNIT)
    ledger = Ledger(ws.path)
    try:
        q4, year = Period.parse("2025Q4"), Period.parse("2025")
        rows, _note, _ucon = ledger_previous(ledger)(unit, q4, "t5")
        quarters = quarters_for(ledger, unit, year, "t7")
    finally:
        ledger.close()
    assert rows and quarters
    # 接转 is written from the previous period, locked: the unit changes it by hand in the sheet.
    t5 = TableLayout.for_unit(spec.table("t5"), unit)
    carried = (t5.sheet, f"{chr(65 + t5.col('carried_count'))}{t5.first_data + 3}")
    edits = {carried: rows[unit.rows()[2].code]["ucon_count"] + 1}
    broken = copy.deepcopy(fillings["2025"].values)
    broken["t7"][1]["new_count"] += 1
    made = []
    for name, period, values, extra in (("q4", q4, fillings["2025Q4"].values, {"previous": {"t5": rows}}),
                                        ("annual", year, broken, {"quarters": quarters})):
        sets, tids = tables_for(spec, period)
        request = IssueRequest(unit, period, tids, sets, values=values, line_values=fillings[period.code].line_values, **extra)
        path = tmp_path / f"{name}.xlsx"
        build_workbook(path, spec=spec, request=request, key=ws.signing_key, password="pw")
        with zipfile.ZipFile(path) as zf:
            helper = zf.read(_helper_part(path)).decode()
        hidden = "'_prev_t5'!" if name == "q4" else "'_quarters_t7'!"
        assert any(hidden in f for f in re.findall(r'<f t="shared" ref="[^"]+" si="\d+">([^<]+)</f>', helper))
        made.append(_with_cache_claiming_pass(path, tmp_path / f"{name}-lying.xlsx", edits if name == "q4" else None))
    for engine, saved in (("LibreOffice", libreoffice.convert(made, tmp_path / "lo", "xlsx", lo_profile)),
                          ("Gnumeric", gnumeric.recalc(made, tmp_path / "gnumeric"))):
        q4_shown, annual_shown = (selfcheck_verdicts(p) for p in saved)
        crossed = {k[0]: n for k, (mark, n, _c) in q4_shown.items() if k[0].startswith("T5-P") and mark == "✗"}
        assert crossed == {"T5-P1": 1}, (engine, crossed)
        crossed = {k[0]: n for k, (mark, n, _c) in annual_shown.items() if k[0].startswith("T7-A") and mark == "✗"}
        assert crossed == {"T7-A1": 1}, (engine, crossed)


@pytest.mark.libreoffice
@pytest.mark.gnumeric
def test_an_annual_template_issued_before_q4_checks_what_the_quarters_at_hand_allow_in_both_engines(spec, tmp_path, lo_profile):
    """Issued at the 12月20日 deadline with Q1–Q3 in the ledger: the hidden sheet carries the partial sums, and
    LibreOffice's and Gnumeric's 自查 tick T7-B*/T7-A6 on a consistent filling and cross T7-B1 where the year's
    新注册 is less than Q1–Q3's — as check does; the Σ-of-four rules say they wait for Q4."""
    import gnumeric
    import libreoffice
    from filling import fill_with_openpyxl, selfcheck_verdicts

    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    fillings = chain(spec, ws.registry, UNIT)
    for code in QUARTERS[:3]:
        intake(ws, [write(tmp_path / f"{code}.xlsx", spec, ws, UNIT, code, fillings[code])], spec=spec)
    unit, period = ws.registry.unit(UNIT), Period.parse("2025")
    [issued] = issue_templates(ws, period=period, out_dir=tmp_path / "issued", unit_codes=[UNIT], spec=spec)
    _s, _t, layouts = layouts_for(spec, unit, period)
    annual = fillings["2025"]
    broken = copy.deepcopy(annual.values)
    broken["t7"][1]["new_count"] = 0
    files = [fill_with_openpyxl(issued.path, tmp_path / f"{n}.xlsx", layouts, v, annual.line_values)
             for n, v in (("clean", annual.values), ("broken", broken))]
    by_lo = libreoffice.convert(files, tmp_path / "lo", "xlsx", lo_profile)
    by_gn = gnumeric.recalc(files, tmp_path / "gn")
    ledger = Ledger(ws.path)
    report = check_file(by_lo[1], make_context(ws, spec, ledger))
    ledger.close()
    assert "T7-B1" in {f.code for f in report.findings} and "T7-A1" not in {f.code for f in report.findings}
    for engine, (clean, bad) in (("LibreOffice", by_lo), ("Gnumeric", by_gn)):
        shown = {k[0]: v for k, v in selfcheck_verdicts(clean).items() if k[0].startswith(("T7-B", "T7-A"))}
        assert all(shown[f"T7-B{i}"][0] == "✓" for i in range(1, 12)) and shown["T7-A6"][0] == "✓", (engine, shown)
        assert shown["T7-A1"][0] not in ("✓", "✗"), (engine, shown["T7-A1"])  # waits for Q4, said so
        crossed = {k[0] for k, v in selfcheck_verdicts(bad).items() if v[0] == "✗" and k[0].startswith("T7-")}
        assert "T7-B1" in crossed and not crossed & {f"T7-A{i}" for i in range(1, 19)}, (engine, crossed)
