"""import-master of hand-made 附表5/附表7: every variation imports exactly, or is refused naming the problem.

Zero silent mis-imports: each imported value is compared with the truth, unit by unit, column by column.
"""

from __future__ import annotations

import random

import pytest

from conftest import TEST_KEY
from officialsheets import REFUSED, Variant, variants, write_official
from qtables.errors import UsageError
from qtables.ledger.queries import decode
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import init_workspace
from qtables.merge.importer import import_master
from qtables.period import Period


def truth(table, registry, seed=11):
    rng = random.Random(seed)
    out = []
    for unit in registry.units:
        values = {}
        for col in table.columns:
            if col.type == "key":
                continue
            if col.type == "integer":
                values[col.id] = rng.randint(0, 2500)
            elif col.unit == "%":
                values[col.id] = round(rng.uniform(60, 100), 2)
            else:
                values[col.id] = round(rng.uniform(0, 9000), 2)
        out.append((unit.name, values))
    return out


def imported(ws, table_id):
    ledger = Ledger(ws.path)
    try:
        rows = ledger.db.execute(
            "SELECT s.unit_code, c.column_id, c.value FROM cells c JOIN submissions s ON s.id = c.submission_id WHERE c.table_id = ?",
            (table_id,)).fetchall()
        return {(r["unit_code"], r["column_id"]): decode(r["value"]) for r in rows}
    finally:
        ledger.close()


def check_variant(spec, tmp_path, table_id, period_code, variant: Variant, fmt_path=None):
    table = spec.table(table_id)
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    rows = truth(table, ws.registry)
    path = write_official(tmp_path / f"{variant.name}.xlsx", table, rows, variant)
    if fmt_path:
        path = fmt_path(path)
    period = Period.parse(period_code)
    if variant.name in REFUSED:
        with pytest.raises(UsageError) as err:
            import_master(ws, spec, path, period)
        assert REFUSED[variant.name] in err.value.message, err.value.message
        assert imported(ws, table_id) == {}
        return None
    plan = import_master(ws, spec, path, period)
    assert plan.problems == []
    got = imported(ws, table_id)
    by_name = {u.name: u for u in ws.registry.units}
    wrong = []
    for name, values in rows:
        for cid, want in values.items():
            have = got.get((by_name[name].code, cid))
            if have is None or abs(have - want) > 1e-9:
                wrong.append((name, cid, want, have))
    assert wrong == [], wrong[:5]
    return plan


@pytest.mark.parametrize("variant", variants(__import__("qtables.spec", fromlist=["load_spec"]).load_spec().table("t5")),
                         ids=lambda v: v.name)
def test_a_clerks_variation_of_the_official_table5_imports_exactly_or_is_refused(spec, tmp_path, variant):
    check_variant(spec, tmp_path, "t5", "2025Q2", variant)


@pytest.mark.parametrize("name", ["办法原样", "两组对调", "各组打乱", "一行表头（组与栏）", "曾用名与简称", "合计不符", "缺一组"])
def test_the_regulations_20_column_table7_imports_exactly(spec, tmp_path, name):
    table = spec.table("t7")
    assert len([c for c in table.columns if c.type != "key"]) == 20
    [variant] = [v for v in variants(table) if v.name == name]
    check_variant(spec, tmp_path, "t7", "2024", variant)


def test_dry_run_shows_the_mapping_and_imports_nothing(spec, tmp_path):
    from click.testing import CliRunner

    from qtables.cli import main

    table = spec.table("t5")
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    [v] = [v for v in variants(table) if v.name == "两组对调"]
    path = write_official(tmp_path / "x.xlsx", table, truth(table, ws.registry), v)
    result = CliRunner().invoke(main, ["import-master", "--workspace", str(ws.path), str(path), "--period", "2025Q2", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "本季度在建工程 / 项数→F列" in result.output and "本季度新注册工程 / 项数→I列" in result.output
    assert "→长垣市" in result.output and "未导入" in result.output
    assert imported(ws, "t5") == {}


def test_allow_partial_records_the_gaps_in_the_ledger(spec, tmp_path):
    table = spec.table("t5")
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    [v] = [v for v in variants(table) if v.name == "少了一行"]
    path = write_official(tmp_path / "x.xlsx", table, truth(table, ws.registry), v)
    plan = import_master(ws, spec, path, Period.parse("2025Q2"), allow_partial=True)
    assert [u.name for u in plan.absent] == ["开封市"] and len(plan.rows) == 27
    ledger = Ledger(ws.path)
    [(gaps,)] = ledger.db.execute("SELECT gaps FROM imports").fetchall()
    assert "开封市" in gaps
    ledger.close()


def test_an_imported_period_is_shown_as_imported_never_late(spec, tmp_path):
    from qtables.status import period_status

    table = spec.table("t5")
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    path = write_official(tmp_path / "x.xlsx", table, truth(table, ws.registry), variants(table)[0])
    import_master(ws, spec, path, Period.parse("2025Q2"))
    summary = period_status(ws, spec, Period.parse("2025Q2"))
    assert summary["late"] == 0 and all(u["imported"] and u["on_time"] is None for u in summary["units"])


@pytest.mark.libreoffice
@pytest.mark.parametrize("engine, fmt", [("libreoffice", "xls"), ("libreoffice", "ods"), ("gnumeric", "xls"), ("gnumeric", "ods")])
def test_the_official_layout_saved_by_another_program_imports_exactly(spec, tmp_path, lo_profile, engine, fmt):
    import gnumeric
    import libreoffice

    def resave(path):
        if engine == "libreoffice":
            return libreoffice.convert([path], tmp_path / "lo", fmt, lo_profile)[0]
        return gnumeric.recalc([path], tmp_path / "gn", fmt)[0]

    [variant] = [v for v in variants(spec.table("t5")) if v.name == "两组对调"]
    plan = check_variant(spec, tmp_path, "t5", "2025Q2", variant, fmt_path=resave)
    assert plan.file.suffix == f".{fmt}"


def test_a_units_own_old_format_table_is_taken_in_only_on_request_with_its_findings(spec, tmp_path):
    """import-master --unit: the clerk's decision; recorded as 导入 with every finding the table's rules find."""
    from click.testing import CliRunner

    from qtables.cli import main
    from qtables.status import period_status

    table = spec.table("t5")
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    unit = ws.registry.unit("411729")  # 新蔡县: one row
    values = {c.id: 1 for c in table.columns if c.type != "key"}
    values.update(satisfaction_rate=120.0)  # T5-01
    path = write_official(tmp_path / "新蔡县自制附表5.xlsx", table, [(unit.name, values)], Variant("办法原样", total="none"))
    result = CliRunner().invoke(main, ["import-master", "--workspace", str(ws.path), str(path), "--period", "2025Q3",
                                       "--unit", unit.code])
    assert result.exit_code == 0, result.output
    ledger = Ledger(ws.path)
    [sub] = ledger.db.execute("SELECT * FROM submissions").fetchall()
    codes = [r["code"] for r in ledger.findings_of(sub["id"])]
    ledger.close()
    assert sub["status"] == "rejected" and "T5-01" in codes and sub["filename"].startswith("导入：")
    st = next(u for u in period_status(ws, spec, Period.parse("2025Q3"))["units"] if u["code"] == unit.code)
    assert st["imported"] and st["status"] == "rejected"


def test_a_citys_own_table_with_county_rows_is_matched_to_its_counties(spec, tmp_path):
    table = spec.table("t5")
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    city = ws.registry.unit("410300")
    rows = [(rk.label, {c.id: i + 1 for c in table.columns if c.type == "integer"}) for i, rk in enumerate(city.rows())]
    path = write_official(tmp_path / "洛阳自制.xlsx", table, rows, Variant("办法原样"))
    plan = import_master(ws, spec, path, Period.parse("2025Q3"), unit_code=city.code)
    assert plan.problems == [] and set(plan.rows[city.code]) == {rk.code for rk in city.rows()}
    assert plan.rows[city.code][city.rows()[2].code]["ucon_count"] == 3


def _exact(ws, spec, table_id, rows, path, period_code):
    plan = import_master(ws, spec, path, Period.parse(period_code))
    assert plan.problems == [] and not plan.unmatched
    got = imported(ws, table_id)
    by_name = {u.name: u for u in ws.registry.units}
    wrong = [(name, cid, want, got.get((by_name[name].code, cid))) for name, values in rows for cid, want in values.items()
             if got.get((by_name[name].code, cid)) is None or abs(got[(by_name[name].code, cid)] - want) > 1e-9]
    assert wrong == [], wrong[:5]
    assert len({code for code, _c in got}) == 28
    return plan


@pytest.mark.parametrize("table_id, period_code", [("t5", "2025Q2"), ("t7", "2024")])
@pytest.mark.parametrize("form", [
    dict(),  # the 办法 as printed: groups over rows 1–2, leaves on row 3, "1 郑州市", footer spread, 填表说明 under it
    dict(seq_in_name=False), dict(spread_footer=False), dict(group_rows=1), dict(group_rows=1, leaf_rows=2),
    dict(group_rows=2, leaf_rows=2), dict(explanation=False, footer=False),
], ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "办法原样")
def test_the_regulations_printed_form_imports_every_unit_exactly(spec, tmp_path, table_id, period_code, form):
    from officialsheets import write_printed

    table = spec.table(table_id)
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    rows = truth(table, ws.registry)
    path = write_printed(tmp_path / "printed.xlsx", table, rows, **form)
    _exact(ws, spec, table_id, rows, path, period_code)


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_the_printed_form_saved_as_xls_and_ods_by_libreoffice_imports_exactly(spec, tmp_path, lo_profile, fmt):
    import libreoffice
    from officialsheets import write_printed

    table = spec.table("t5")
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    rows = truth(table, ws.registry)
    [path] = libreoffice.convert([write_printed(tmp_path / "printed.xlsx", table, rows)], tmp_path / "lo", fmt, lo_profile)
    assert _exact(ws, spec, "t5", rows, path, "2025Q2").file.suffix == f".{fmt}"


def test_a_line_under_the_table_that_is_not_a_note_is_named_in_the_refusal(spec, tmp_path):
    """Anything still unrecognised is named: a row the classifier does not know is refused with its row number."""
    from officialsheets import write_printed

    table = spec.table("t5")
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    rows = truth(table, ws.registry) + [("某某新区", dict(truth(table, ws.registry)[0][1]))]
    path = write_printed(tmp_path / "printed.xlsx", table, rows)
    with pytest.raises(UsageError) as err:
        import_master(ws, spec, path, Period.parse("2025Q2"))
    assert "某某新区" in err.value.message and imported(ws, "t5") == {}


@pytest.mark.parametrize("table_id, period_code", [("t5", "2025Q2"), ("t7", "2024")])
def test_a_city_master_of_its_counties_in_the_printed_form_imports_row_by_row(spec, tmp_path, table_id, period_code):
    """郑州市's own workspace starts mid-year from its printed 附表5 (or 附表7) of its counties: every county row exact."""
    from officialsheets import write_printed

    table = spec.table(table_id)
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY, root_unit="410100")
    city = init_workspace(tmp_path / "prov", signing_key=TEST_KEY).registry.unit("410100")
    counties = list(ws.registry.units)
    assert {u.code for u in counties} == {c.code for c in city.children}
    rng = random.Random(3)
    rows = [(u.name, {c.id: (rng.randint(0, 300) if c.type == "integer" else round(rng.uniform(0, 900), 2))
                      for c in table.columns if c.type != "key"}) for u in counties]
    path = write_printed(tmp_path / "郑州市各县.xlsx", table, rows)
    plan = import_master(ws, spec, path, Period.parse(period_code))
    assert plan.problems == [] and not plan.unmatched
    got = imported(ws, table_id)
    for name, values in rows:
        code = next(u.code for u in counties if u.name == name)
        assert {cid: got.get((code, cid)) for cid in values} == values, name
