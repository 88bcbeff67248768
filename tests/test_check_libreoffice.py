"""qtables check against two real clients' verdicts and file formats.

* 54 filled workbooks (correct ones, and ones wrong in each rule) are recalculated
  and re-saved by LibreOffice, and again by Gnumeric (``ssconvert --recalc``);
  for every rule both runtimes evaluate, the 自查 verdict in each re-saved file
  and ``qtables check`` of that file agree.
* One filling written four ways — qtables' builder, openpyxl, and LibreOffice
  re-saving as .xlsx, .xls and .ods — gives the same findings.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

import gnumeric
import libreoffice
from builders import build_filled
from filling import fill_with_openpyxl, selfcheck_verdicts
from qtables.devtools import samplegen
from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.issue.run import issue_templates
from qtables.period import Period
from test_libreoffice import _mutations
from builders import layouts_for

pytestmark = pytest.mark.libreoffice

UNITS = ["410181", "410300", "419001"]


def _extra_mutations(values):
    return [
        ("数值带小数", lambda v: v["t5"][0].update(new_count=1.5)),
        ("单位造价异常", lambda v: v["t3"][0].update(cost=v["t3"][0]["cost"] * 10000)),
        ("备案率超过100", lambda v: v["t5"][0].update(filed_count=v["t5"][0]["done_count"] + 2)),
        ("在建面积每项过大", lambda v: v["t5"][0].update(ucon_area=v["t5"][0]["ucon_area"] * 10000)),
        ("不合格却备案", lambda v: v["t4"][next(i for i, r in enumerate(v["t4"]) if r.get("filed_date"))].update(acceptance="不合格")),
        ("处罚时间晚于期末", lambda v: v["t2"][0].update(date=Period.parse("2025Q3").end + timedelta(days=20))),
    ]


@pytest.fixture(scope="module")
def corpus(spec, workspace, tmp_path_factory):
    """The ≥ 50 differential fillings, written by qtables' builder (no spreadsheet has opened them)."""
    root = tmp_path_factory.mktemp("check-diff")
    files = []
    for u, unit_code in enumerate(UNITS):
        base, values = build_filled(root / f"{unit_code}_ok.xlsx", spec, workspace, unit_code, "2025Q3", seed=11 + u, tight=True)
        files.append(base)
        muts = [(n, m) for n, _c, _t, _g, m in _mutations(values) if n != "项数填成文字"] + _extra_mutations(values)
        for i, (name, mutate) in enumerate(muts):
            def apply(v, mutate=mutate):
                mutate(v)
            try:
                probe = copy.deepcopy(values)
                apply(probe)
            except (StopIteration, IndexError):
                continue  # this unit's filling has no row to break that way
            path, _ = build_filled(root / f"{unit_code}_{i:02d}.xlsx", spec, workspace, unit_code, "2025Q3", seed=11 + u, mutate=apply,
                                   tight=True)
            files.append(path)
    assert len(files) >= 50
    return root, files


@pytest.fixture(scope="module")
def resaved(corpus, lo_profile):
    root, files = corpus
    return libreoffice.convert(files, root / "lo", "xlsx", lo_profile)


@pytest.fixture(scope="module")
def gnumeric_resaved(corpus):
    root, files = corpus
    return gnumeric.recalc(files, root / "gnumeric")


def _check_counts(report, spec):
    """(code, table name, rule message) -> failures, as qtables check reports them."""
    out = {}
    for f in report.findings:
        cut = f.message.rfind(f"（{f.sheet}!")
        if cut > 0:
            key = (f.code, f.table, f.message[:cut])
            out[key] = out.get(key, 0) + 1
    return out


def test_selfcheck_and_qtables_check_agree_on_libreoffice_resaved_files(resaved, spec, workspace):
    _agree(resaved, spec, workspace)


@pytest.mark.gnumeric
def test_selfcheck_and_qtables_check_agree_on_gnumeric_recalculated_files(gnumeric_resaved, spec, workspace):
    """The same corpus opened, recalculated and saved by Gnumeric: its 自查 shows what qtables reports."""
    assert len(gnumeric_resaved) >= 50
    _agree(gnumeric_resaved, spec, workspace)


@pytest.mark.gnumeric
@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_gnumerics_saves_of_a_filling_give_the_same_findings(corpus, gnumeric_resaved, workspace, spec, tmp_path, fmt):
    """Gnumeric's .xlsx, .xls and .ods of one filling (a 在建项数 imbalance: a warning) read as the original."""
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key)
    _root, files = corpus
    original = next(p for p in files if any(f.code == "T5-05" for f in check_file(p, ctx).findings))
    [saved] = gnumeric.recalc([original], tmp_path, fmt)
    first = sorted((f.code, f.cell) for f in check_file(original, ctx).findings)
    again = sorted((f.code, f.cell) for f in check_file(saved, ctx).findings)
    assert again == first and any(code == "T5-05" for code, _ in first)


def _agree(files, spec, workspace):
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key)
    disagreements, crosses = [], 0
    for path in files:
        shown = selfcheck_verdicts(path)
        report = check_file(path, ctx)
        assert not [f for f in report.findings if f.code in ("D01", "S03", "S04", "S05", "I01", "I05", "F03")], (path.name, report.findings)
        counts = _check_counts(report, spec)
        for key, (mark, count, _cell) in shown.items():
            if mark == "—":
                continue
            got = counts.get(key, 0)
            crosses += mark == "✗"
            if (mark == "✗") != (got > 0) or count != got:
                disagreements.append((path.name, key[0], key[1], mark, count, got))
    assert disagreements == []
    assert crosses >= 50  # the wrong fillings really were wrong


def _signature(report):
    return sorted((f.code, f.sheet, f.cell) for f in report.findings if f.severity != "I")


def test_same_findings_whoever_wrote_the_file(spec, workspace, tmp_path, lo_profile):
    unit_code, period = "410300", Period.parse("2025Q3")
    unit = workspace.registry.unit(unit_code)
    set_names, table_ids, layouts = layouts_for(spec, unit, period)
    filling = samplegen.generate(layouts, unit, period, seed=21)
    values = copy.deepcopy(filling.values)
    values["t5"][0]["satisfaction_rate"] = 130
    values["t5"][2]["ucon_count"] += 1
    values["t3"][1]["area"] = 2.5
    values["t4"][0]["done_date"] = period.start - timedelta(days=30)
    values["t1"][0]["record_date"] = values["t1"][0]["approve_date"] + timedelta(days=2)
    built, _ = build_filled(tmp_path / "builder.xlsx", spec, workspace, unit_code, "2025Q3", seed=21,
                            mutate=lambda v: v.update(copy.deepcopy(values)))
    [blank] = issue_templates(workspace, period=period, out_dir=tmp_path / "blank", unit_codes=[unit_code])
    by_openpyxl = fill_with_openpyxl(blank.path, tmp_path / "openpyxl.xlsx", layouts, values, filling.line_values)
    outputs = {"builder": built, "openpyxl": by_openpyxl}
    for fmt in ("xlsx", "xls", "ods"):
        [out] = libreoffice.convert([built], tmp_path / f"lo-{fmt}", fmt, lo_profile)
        outputs[f"libreoffice.{fmt}"] = out
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key)
    reports = {name: check_file(path, ctx) for name, path in outputs.items()}
    expected = _signature(reports["builder"])
    assert {"T5-01", "T5-05", "T3-02", "T4-06", "T1-01"} <= {c for c, _, _ in expected}
    for name, report in reports.items():
        assert report.format == (name.split(".")[-1] if "." in name else "xlsx")
        assert _signature(report) == expected, name


def test_a_receipt_is_the_submission_edited_in_place_and_opens_in_libreoffice(spec, workspace, tmp_path, lo_profile):
    """The annotated receipt keeps every value, formula and the template identity of the submission, adds fills,
    notes and the 审核结果 sheet, and LibreOffice opens it and sees all of that."""
    import zipfile

    import openpyxl

    from qtables.receipt.workbook import RESULT_SHEET, write_receipt

    path, _ = build_filled(tmp_path / "提交.xlsx", spec, workspace, "410300", "2025Q3", seed=8,
                           mutate=lambda v: (v["t5"][0].update(satisfaction_rate=120), v["t3"][1].update(area=2.5)))
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key)
    report = check_file(path, ctx)
    receipt = write_receipt(report, tmp_path / "回执")
    original, edited = zipfile.ZipFile(path), zipfile.ZipFile(receipt)
    assert set(original.namelist()) < set(edited.namelist())
    changed = {n for n in original.namelist() if original.read(n) != edited.read(n)}
    sheets = {n for n in changed if n.startswith("xl/worksheets/")}
    assert changed - sheets == {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"}
    # The 附表 sheets (marked, their blank list rows hidden and filled rows sized for print) and the one that was the
    # selected tab; nothing else is rewritten — above all not the helper sheet, copied as its compressed bytes.
    assert len(sheets) <= 7 and all(original.getinfo(n).file_size < 1_000_000 for n in sheets), sheets
    before = openpyxl.load_workbook(path)
    after = openpyxl.load_workbook(receipt)
    assert after.sheetnames == [RESULT_SHEET] + before.sheetnames
    for ws in before.worksheets:
        other = after[ws.title]
        assert _cells(ws) == _cells(other), ws.title
        assert other.protection.sheet == ws.protection.sheet
    marked = after["附表5"]["T6"]
    assert marked.fill.fgColor.rgb.endswith("FFC7CE") and "T5-01" in marked.comment.text
    assert marked.number_format == before["附表5"]["T6"].number_format
    [resaved] = libreoffice.convert([receipt], tmp_path / "lo", "xlsx", lo_profile)
    seen = openpyxl.load_workbook(resaved)
    assert seen.sheetnames[0] == RESULT_SHEET
    assert seen["附表5"]["T6"].comment is not None and "T5-01" in seen["附表5"]["T6"].comment.text
    assert any(row[1] == "T5-01" for row in seen[RESULT_SHEET].iter_rows(min_row=7, values_only=True))
    again = check_file(resaved, ctx)
    assert again.identity == report.identity
    assert {(f.code, f.cell) for f in again.findings if f.severity == "E"} == {(f.code, f.cell) for f in report.findings if f.severity == "E"}


def _cells(ws):
    """Every cell's value or formula text (array formulas by their text and range)."""
    def shown(v):
        return (v.ref, v.text) if hasattr(v, "text") and hasattr(v, "ref") else v
    return [[shown(c.value) for c in row] for row in ws.iter_rows()]
