"""The hidden _checks helper: as small as the rules allow, and every engine evaluates it.

A row rule's helper column is one shared formula (written once, expanded by
each engine) and ``rowfilled()`` is one column per table that the rules read,
where each rule used to carry its own array formula in every row.  Sharing is
only right if every engine moves the relative references row by row: the
cached results here are overwritten with "passes" before LibreOffice and
Gnumeric recalculate, so a 自查 ✗ can only come from the engine evaluating the
shared formulas itself.
"""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest

import gnumeric
import libreoffice
from builders import build_filled, layouts_for
from filling import python_verdicts, selfcheck_verdicts
from qtables.issue.selfcheck import ExcelContext
from qtables.period import Period
from qtables.template.names import CHECK_SHEET

UNIT, PERIOD = "410300", "2025Q3"


def _break(values):
    values["t5"][0]["satisfaction_rate"] = 120  # T5-01, a row rule of 附表5
    values["t3"][1]["name"] = None  # V05 on 附表3's 项目名称: `not rowfilled() or not isblank(name)`


def _sheet_part(path, sheet: str) -> str:
    with zipfile.ZipFile(path) as zf:
        names = dict(re.findall(r'<sheet name="([^"]+)" sheetId="\d+"[^>]*r:id="(rId\d+)"', zf.read("xl/workbook.xml").decode()))
        rels = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', zf.read("xl/_rels/workbook.xml.rels").decode()))
    return "xl/" + rels[names[sheet]]


def _helper_part(path) -> str:
    return _sheet_part(path, CHECK_SHEET)


def _with_cache_claiming_pass(path, out, edits=None):
    """The workbook with every cached 0 (fails) on _checks rewritten as 1 (passes); ``edits``: {(sheet, cell): number}
    typed into the package as a spreadsheet would save them (a locked, pre-filled cell changed by hand)."""
    part = _helper_part(path)
    patches: dict[str, list] = {}
    for (sheet, cell), value in (edits or {}).items():
        patches.setdefault(_sheet_part(path, sheet), []).append((cell, value))
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info)
            if info.filename == part:
                assert b"<v>0</v>" in blob or edits  # the broken rows are there to hide
                blob = blob.replace(b"<v>0</v>", b"<v>1</v>")
            for cell, value in patches.get(info.filename, []):
                blob, n = re.subn(rf'(<c r="{cell}"[^>]*>)<v>[^<]*</v>'.encode(), rb"\g<1><v>" + str(value).encode() + b"</v>", blob)
                assert n == 1, cell
            dst.writestr(info, blob)
    return out


def test_row_rules_share_one_formula_and_read_the_filled_column(spec, workspace, tmp_path):
    path, _ = build_filled(tmp_path / "full.xlsx", spec, workspace, UNIT, PERIOD, seed=3, tight=False)
    part = _helper_part(path)
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(part).decode()
        packed = zf.getinfo(part).compress_size
    masters = re.findall(r'<c r="([A-Z]+)(\d+)"><f t="shared" ref="([A-Z]+\d+:[A-Z]+\d+)" si="(\d+)">', xml)
    assert len(masters) >= 100  # 118 rules of which all but a handful are row rules
    assert sorted(int(si) for *_x, si in masters) == list(range(len(masters)))
    # Only the filled columns and the rules that must (duplicates across tables) count a range per row.
    counting = set(re.findall(r'<c r="([A-Z]+)\d+"><f t="array"[^>]*>IF\(SUMPRODUCT\(--\(LEN\(TRIM', xml))
    assert len(counting) == 4  # 附表1–4, the tables whose row rules ask rowfilled()
    # 2.5 MB inflated and 193 KB packed before; the whole workbook was 264 KB.
    assert len(xml) < 1_200_000 and packed < 100_000, (len(xml), packed)

    # openpyxl expands the shared formulas to the per-row formulas qtables would write (rows relative).
    set_names, table_ids, layouts = layouts_for(spec, workspace.registry.unit(UNIT), Period.parse(PERIOD))
    ws = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))[CHECK_SHEET]
    by_layout = {lay.table.id: lay for lay in layouts}
    ctx = ExcelContext(by_layout, Period.parse(PERIOD), False, frozenset(spec.tables))
    ctx.filled_cols = {tid: openpyxl.utils.column_index_from_string(col) - 1
                       for col, tid in ((c, ws[f"{c}1"].value.split(":")[0]) for c in sorted(counting))}
    rules = {f"{r.table}:{r.code}:{r.target}": r for r in spec.rules_for(set_names, table_ids)}
    compared = 0
    for col, row, _ref, _si in masters:
        rule = rules[ws[f"{col}1"].value]
        lay = by_layout[rule.table]
        rows = range(lay.first_data, lay.last_data + 1)
        expected = ctx.rule_cell_formulas(rule, rows)
        for r in (rows[0], rows[1], rows[-1]):
            got = ws[f"{col}{r + 1}"].value
            assert re.sub(r"\$(\d)", r"\1", expected[r - rows[0]]) == re.sub(r"\$(\d)", r"\1", got), (col, r)
            compared += 1
    assert compared == 3 * len(masters)


@pytest.mark.libreoffice
@pytest.mark.gnumeric
def test_both_engines_evaluate_the_shared_helper_not_its_cache(spec, workspace, tmp_path, lo_profile):
    path, values = build_filled(tmp_path / "broken.xlsx", spec, workspace, UNIT, PERIOD, seed=5, mutate=_break)
    lying = _with_cache_claiming_pass(path, tmp_path / "lying.xlsx")
    set_names, table_ids, _layouts = layouts_for(spec, workspace.registry.unit(UNIT), Period.parse(PERIOD))
    capacity = {t: max(20, len(values[t]) + 10) for t in ("t3", "t4")}  # as build_filled sizes them (tight)
    expected = python_verdicts(spec, workspace.registry.unit(UNIT), Period.parse(PERIOD), set_names, table_ids, values,
                               capacity)
    broken = {k for k, n in expected.items() if n}
    assert {k[0] for k in broken} >= {"T5-01", "V05"}
    [by_lo] = libreoffice.convert([lying], tmp_path / "lo", "xlsx", lo_profile)
    [by_gnumeric] = gnumeric.recalc([lying], tmp_path / "gnumeric")
    for engine, saved in (("LibreOffice", by_lo), ("Gnumeric", by_gnumeric)):
        shown = selfcheck_verdicts(saved)
        crossed = {k for k, (mark, _n, _cell) in shown.items() if mark == "✗"}
        assert crossed == broken, engine
        for key in broken:
            assert shown[key][1] == expected[key], (engine, key)


def test_a_shared_formula_is_refused_rather_than_written_wrong(tmp_path):
    """One cached number per row, inside the sheet: anything else would write a group no engine reads alike."""
    import xlsxwriter

    from qtables.issue.formats import FormulaWorksheet

    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    wb.worksheet_class = FormulaWorksheet
    ws = wb.add_worksheet()
    for rows, values in (((4, 6), [1, 0]), ((4, 5), [1, True]), ((4, 5), [1, "0"]), ((4, 1_048_576), [1, 1])):
        with pytest.raises(ValueError):
            ws.write_shared_formula(rows[0], rows[1], 0, "=B5+1", values)
    ws.write_shared_formula(4, 5, 0, "=B5+1", [3, 4.5])
    wb.close()
    with zipfile.ZipFile(tmp_path / "x.xlsx") as zf:
        xml = zf.read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="A5"><f t="shared" ref="A5:A6" si="0">B5+1</f><v>3</v></c>' in xml
    assert '<c r="A6"><f t="shared" si="0"/><v>4.5</v></c>' in xml
    assert openpyxl.load_workbook(tmp_path / "x.xlsx").active["A6"].value == "=B6+1"


@pytest.mark.libreoffice
@pytest.mark.gnumeric
def test_a_total_typed_over_is_crossed_in_the_selfcheck_as_check_rejects_it(spec, workspace, tmp_path, lo_profile):
    """An unprotected copy, or another program, leaves 附表5's 合计 as a number that is not the sum of the rows:
    check says D01 at that cell (退回); the 自查 under LibreOffice and Gnumeric crosses V07 (合计 = Σ rows)."""
    from qtables.check.checker import check_file
    from qtables.check.context import CheckContext
    from qtables.template.layout import TableLayout, a1

    path, values = build_filled(tmp_path / "filled.xlsx", spec, workspace, UNIT, PERIOD, seed=5)
    layout = TableLayout.for_unit(spec.table("t5"), workspace.registry.unit(UNIT))
    cell = a1(layout.total_row, layout.col("ucon_count"), abs_row=False, abs_col=False)
    stated = sum(r["ucon_count"] for r in values["t5"]) + 5
    part = _sheet_part(path, layout.sheet)
    typed = tmp_path / "typed_over.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(typed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info)
            if info.filename == part:
                blob, n = re.subn(rf'<c r="{cell}"([^>]*)><f>[^<]*</f><v>[^<]*</v></c>'.encode(),
                                  rb'<c r="' + cell.encode() + rb'"\1><v>' + str(stated).encode() + b"</v></c>", blob)
                assert n == 1
            dst.writestr(info, blob)
    report = check_file(typed, CheckContext(spec, workspace.registry, workspace.signing_key))
    assert report.status == "rejected"
    assert ("D01", cell) in {(f.code, f.cell) for f in report.findings}
    assert "V07" not in {f.code for f in report.findings}  # one problem, named once (at the cell)
    clean = check_file(path, CheckContext(spec, workspace.registry, workspace.signing_key))
    assert not {f.code for f in clean.findings} & {"D01", "V07"}
    [by_lo] = libreoffice.convert([typed], tmp_path / "lo", "xlsx", lo_profile)
    [by_gnumeric] = gnumeric.recalc([typed], tmp_path / "gnumeric")
    for engine, saved in (("LibreOffice", by_lo), ("Gnumeric", by_gnumeric)):
        shown = selfcheck_verdicts(saved)
        v07 = {k: v for k, v in shown.items() if k[0] == "V07" and k[1] == "附表5"}
        assert v07 and all(mark == "✗" for mark, _n, _c in v07.values()), (engine, v07)
        assert {mark for k, (mark, _n, _c) in shown.items() if k[0] == "V07" and k[1] != "附表5"} <= {"✓"}, engine
