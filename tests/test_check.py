"""qtables check: what it finds in returned workbooks, where, and with which exit code."""

from __future__ import annotations

import hashlib
import json
import io
import os
import random
import shutil
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

from builders import build_filled
from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.check.verdicts import previous_from_report
from qtables.cli import main
from qtables.receipt.workbook import RESULT_SHEET, write_receipt

# The shared corpus sits beside the checkout (../shared), as it does in CI.
CORPUS = Path(os.environ.get("QTABLES_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus" / "excel-made"))


@pytest.fixture(scope="module")
def ctx(spec, workspace):
    return CheckContext(spec, workspace.registry, workspace.signing_key)


@pytest.fixture(scope="module")
def good(spec, workspace, tmp_path_factory):
    path, values = build_filled(tmp_path_factory.mktemp("good") / "巩义市.xlsx", spec, workspace, "410181", "2025Q3")
    return path


# Coded notes that a comparison with another period could not run (no ledger in most tests);
# the tests of those comparisons look for them explicitly.
PERIOD_NOTES = {"P00", "P04", "A00"}


def codes(report):
    return sorted({f.code for f in report.findings} - PERIOD_NOTES)


def test_a_correct_filling_is_accepted_without_findings(good, ctx):
    report = check_file(good, ctx)
    assert report.status == "accepted" and report.exit_code == 0
    # Without a ledger, the comparisons with the previous period cannot run, and the report says so.
    assert sorted(f.code for f in report.findings) == ["P00", "P04"] and {f.severity for f in report.findings} == {"I"}
    assert report.identity.unit_code == "410181"


@pytest.mark.parametrize(
    "mutate, code, cell",
    [
        (lambda v: v["t5"][0].update(satisfaction_rate=120), "T5-01", "T6"),
        (lambda v: v["t5"][0].update(accident_deaths=2), "T5-04", "U6"),
        (lambda v: v["t5"][0].update(ucon_count=v["t5"][0]["ucon_count"] + 5), "T5-05", "I6"),
        (lambda v: v["t5"][0].update(new_count="十二"), "N01", "F6"),
        (lambda v: v["t5"][0].update(new_count=2.5), "V01", "F6"),
        (lambda v: v["t3"][0].update(area=1.2), "T3-02", "E5"),
        (lambda v: v["t3"][0].update(cost=v["t3"][0]["cost"] * 10000), "T3-03", "F5"),
        (lambda v: v["t3"].append(dict(v["t3"][0])), "T3-01", "B5"),
        (lambda v: v["t3"][0].update(structure="木结构房"), "V06", "D5"),
        (lambda v: v["t3"][0].update(name=None), "V05", "C5"),
        (lambda v: v["t1"][0].update(record_date="2025年13月1日"), "N02", "I6"),
        (lambda v: v["t6"][3].update(new_count=99), "T6-01", "B9"),
    ],
)
def test_each_wrong_filling_is_found_at_its_cell(spec, workspace, ctx, tmp_path, mutate, code, cell):
    path, _ = build_filled(tmp_path / "x.xlsx", spec, workspace, "410181", "2025Q3", mutate=mutate)
    report = check_file(path, ctx)
    hits = [f for f in report.findings if f.code == code]
    assert hits, codes(report)
    assert hits[0].cell == cell
    assert hits[0].message and hits[0].sheet.startswith("附表")
    assert report.exit_code == (0 if all(f.severity in "WI" for f in report.findings) else 1)


def test_a_warning_is_satisfied_by_a_real_explanation_and_not_by_boilerplate(spec, workspace, ctx, tmp_path):
    bump = lambda v: v["t5"][0].update(ucon_count=v["t5"][0]["ucon_count"] + 1, ucon_area=v["t5"][0]["ucon_area"])
    explained, _ = build_filled(tmp_path / "a.xlsx", spec, workspace, "410181", "2025Q3", mutate=bump,
                                notes={"t5:T5-05:ucon_count": "1项工程因规划调整撤销监督注册，尚未办理注销，下季度核减"})
    report = check_file(explained, ctx)
    [w] = [f for f in report.findings if f.code == "T5-05"]
    assert w.explained and "规划调整" in w.note
    boiler, _ = build_filled(tmp_path / "b.xlsx", spec, workspace, "410181", "2025Q3", mutate=bump,
                             notes={"t5:T5-05:ucon_count": "已核实。"})
    report = check_file(boiler, ctx)
    assert "C01" in codes(report)
    assert not [f for f in report.findings if f.code == "T5-05"][0].explained


def test_another_units_template_another_period_and_a_forged_signature(spec, workspace, good, tmp_path):
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key, expected_unit="410100", expected_period="2025Q2")
    assert {"I02", "I03"} <= set(codes(check_file(good, ctx)))
    forged, _ = build_filled(tmp_path / "f.xlsx", spec, workspace, "410181", "2025Q3", key=b"some other key")
    report = check_file(forged, CheckContext(spec, workspace.registry, workspace.signing_key))
    assert codes(report) == ["I01"] and report.exit_code == 1


def _tamper(src: Path, dst: Path, edit) -> Path:
    wb = openpyxl.load_workbook(src)
    edit(wb)
    wb.save(dst)
    return dst


@pytest.mark.parametrize(
    "edit, code",
    [
        (lambda wb: setattr(wb["附表5"], "title", "附表五"), "S01"),
        (lambda wb: wb.remove(wb["附表4"]), "S01"),
        (lambda wb: wb.create_sheet("我的草稿"), "S02"),
        (lambda wb: wb["附表5"].cell(row=5, column=3, value="项目数"), "S03"),
        (lambda wb: wb["附表5"].cell(row=6, column=2, value="巩义"), "S04"),
        (lambda wb: wb["附表5"].insert_rows(6), "S05"),
        (lambda wb: wb["附表5"].insert_cols(3), "S05"),
        (lambda wb: wb["附表3"].delete_rows(8), "S05"),
        (lambda wb: wb["_qtables"].cell(row=3, column=2, value="410100"), "I05"),
        (lambda wb: wb["_qtables"].cell(row=7, column=2, value="2024.9"), "I05"),
        (lambda wb: wb["附表5"].cell(row=7, column=3, value=999), "D01"),
    ],
)
def test_structural_tampering_is_a_coded_finding(good, ctx, tmp_path, edit, code):
    report = check_file(_tamper(good, tmp_path / "t.xlsx", edit), ctx)
    assert code in codes(report), codes(report)


def test_an_older_spec_version_is_a_warning(spec, workspace, tmp_path, good):
    import dataclasses

    older = dataclasses.replace(spec) if dataclasses.is_dataclass(spec) else spec
    older.version, saved = "2024.1", spec.version
    try:
        path, _ = build_filled(tmp_path / "old.xlsx", older, workspace, "410181", "2025Q3")
    finally:
        older.version = saved
    report = check_file(path, CheckContext(spec, workspace.registry, workspace.signing_key))
    assert codes(report) == ["I04"] and report.status == "accepted_with_warnings"


def test_carry_over_is_checked_against_the_previous_submission(spec, workspace, tmp_path):
    q2, _ = build_filled(tmp_path / "q2.xlsx", spec, workspace, "410300", "2025Q2", seed=5)
    q3, _ = build_filled(tmp_path / "q3.xlsx", spec, workspace, "410300", "2025Q3", seed=6)
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key)
    prev = check_file(q2, ctx)
    ctx.history[("410300", "2025Q2")] = previous_from_report(prev, "q2.xlsx")
    report = check_file(q3, ctx)
    p1 = [f for f in report.findings if f.code == "T5-P1"]
    assert p1 and p1[0].expected == prev.data.tables["t5"].rows[int(p1[0].cell[1:]) - 6]["ucon_count"]
    assert p1[0].source.startswith("文件 q2.xlsx") and "对照：文件 q2.xlsx" in p1[0].message
    # Without a previous period the rule cannot run, and the report says so (P00), never silently.
    alone = check_file(q3, CheckContext(spec, workspace.registry, workspace.signing_key))
    assert "T5-P1" not in codes(alone) and [f.code for f in alone.findings if f.code == "P00"] == ["P00"]


def test_every_corpus_workbook_is_not_a_template(ctx):
    if not CORPUS.is_dir():
        # A fresh clone with nothing beside it; CI has shared/ beside the checkout, so there it runs.
        pytest.skip(f"the Excel-made corpus is not at {CORPUS} (put shared/ beside the checkout or set QTABLES_CORPUS)")
    files = sorted(CORPUS.glob("*.xls*"))
    assert len(files) > 900, f"the Excel-made corpus is expected at {CORPUS} (set QTABLES_CORPUS)"
    seen = {}
    for path in files:
        report = check_file(path, ctx)
        assert report.exit_code == 2, path.name
        [finding] = [f for f in report.findings if f.severity == "F"]
        assert {f.code for f in report.findings} - {finding.code} <= {"M01"}  # .xlsm files also say their macros are ignored
        seen[finding.code] = seen.get(finding.code, 0) + 1
    assert set(seen) <= {"F05", "F03"} and seen["F05"] > 900


def test_members_inflated_straight_from_the_package_equal_what_zipfile_reads():
    """check/package.py inflates members from the package's bytes (the prescan's heads, the extent guard's sheets):
    on every Excel-made package, each member equals zipfile's reading of it, whole and as a 2 KB head."""
    import zipfile

    from qtables.read.package import _inflate

    if not CORPUS.is_dir():
        pytest.skip(f"the Excel-made corpus is not at {CORPUS} (put shared/ beside the checkout or set QTABLES_CORPUS)")
    compared = 0
    for path in sorted(CORPUS.glob("*.xls[xm]")):
        data = path.read_bytes()
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            continue
        for info in zf.infolist():
            expected = zf.read(info)
            assert _inflate(zf, info, len(expected) + 1, data) == expected, (path.name, info.filename)
            assert _inflate(zf, info, 2048, data) == expected[:2048], (path.name, info.filename)
            compared += 1
    assert compared > 5000


def test_the_receipt_editor_rewrites_excel_made_packages_or_hands_them_to_openpyxl():
    """The package editor on every third of the ~990 workbooks Excel made (a third keeps the suite short): each result opens in openpyxl and calamine with the
    审核结果 sheet first, every sheet kept and the note on the marked cell; a package it does not rewrite
    (notes already on the sheet …) comes back as None for the openpyxl fallback — never an exception."""
    import io

    from python_calamine import CalamineWorkbook

    from qtables.receipt import package as receiptpkg
    from qtables.read.sheetxml import ResultSheet

    if not CORPUS.is_dir():
        pytest.skip(f"the Excel-made corpus is not at {CORPUS} (put shared/ beside the checkout or set QTABLES_CORPUS)")
    result = ResultSheet(name="审核结果", rows=[(1, [("审核结果：退回", "title")], 22),
                                               (7, [(1, "top"), ("强制性", "sev-E"), ("=HYPERLINK(\"x\")", "wrap")], 30)],
                         widths=[5, 7, 56], merges=["A2:H2"], freeze_row=6, title_rows="$6:$6")
    edited = handed_over = 0
    for path in sorted(CORPUS.glob("*.xlsx"))[::3]:
        data = path.read_bytes()
        names = CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names
        marks = receiptpkg.Marks({names[0]: {"C4": ("E", "【强制性 T5-01】问题 <&> “引号”"), "A1": ("W", "核实")}})
        out = receiptpkg.patch(data, marks, result)
        if out is None:
            handed_over += 1
            continue
        wb = openpyxl.load_workbook(io.BytesIO(out))
        assert wb.sheetnames == ["审核结果"] + names, path.name
        assert wb["审核结果"]["C7"].value == '=HYPERLINK("x")' and wb["审核结果"]["C7"].data_type == "s"
        assert any(c.comment is not None and "问题 <&>" in c.comment.text for row in wb[names[0]].iter_rows() for c in row), path.name
        CalamineWorkbook.from_filelike(io.BytesIO(out)).get_sheet_by_name(names[0]).to_python()
        edited += 1
    assert edited > 280 and handed_over < 35


def test_broken_and_disguised_files(good, ctx, tmp_path):
    data = good.read_bytes()
    cases = {
        "empty.xlsx": (b"", "F04"),
        "truncated.xlsx": (data[: len(data) // 2], "F03"),
        "random.xlsx": (random.Random(1).randbytes(5000), "F01"),
        "scan.xlsx": (b"%PDF-1.4\n" + b"x" * 100, "F01"),
        "report.xlsx": ("第一季度工程质量分析报告\n".encode("gbk") * 50, "F01"),
        "data.csv": ("序号,项数\n1,12\n".encode("utf-8"), "F01"),
    }
    for name, (content, code) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        report = check_file(path, ctx)
        assert [f.code for f in report.findings] == [code], name
        assert report.exit_code == 2
    renamed = tmp_path / "巩义市.pdf"
    shutil.copy(good, renamed)
    assert check_file(renamed, ctx).status == "accepted"  # content decides, not the name


def test_an_encrypted_workbook_asks_to_remove_the_password(ctx, tmp_path):
    from olewriter import write_ole

    # An OLE container with the streams Office writes for a password-protected package.
    path = tmp_path / "加密.xlsx"
    write_ole(path, {"EncryptionInfo": b"\x04\x00\x04\x00" + b"\x00" * 60, "EncryptedPackage": b"\x00" * 6000})
    report = check_file(path, ctx)
    assert [f.code for f in report.findings] == ["F02"] and "密码" in report.findings[0].message


def test_receipt_marks_cells_lists_findings_and_leaves_the_original_alone(spec, workspace, ctx, tmp_path):
    path, _ = build_filled(tmp_path / "r.xlsx", spec, workspace, "410181", "2025Q3",
                           mutate=lambda v: (v["t5"][0].update(satisfaction_rate=120), v["t3"][0].update(name="=HYPERLINK(\"http://x\",\"点我\")")))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    mode = os.stat(path).st_mode
    report = check_file(path, ctx)
    receipt = write_receipt(report, tmp_path / "out")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before and os.stat(path).st_mode == mode
    wb = openpyxl.load_workbook(receipt)
    assert wb.sheetnames[0] == RESULT_SHEET
    cell = wb["附表5"]["T6"]
    assert cell.comment is not None and "T5-01" in cell.comment.text
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    listed = [r for r in wb[RESULT_SHEET].iter_rows(min_row=7, values_only=True)]
    assert any(r[1] == "T5-01" and r[2] == "强制性" and r[3] == "附表5!T6" for r in listed)  # 代码 · 级别 · 位置
    # A submitted formula-looking string stays text in the original sheet and the receipt.
    assert wb["附表3"]["C5"].data_type == "s"


def test_check_command_json_and_exit_codes(good, spec, workspace, tmp_path):
    runner = CliRunner()
    bad, _ = build_filled(tmp_path / "bad.xlsx", spec, workspace, "410181", "2025Q3",
                          mutate=lambda v: v["t5"][0].update(satisfaction_rate=150))
    env = {"QTABLES_WORKSPACE": str(workspace.path)}
    ok = runner.invoke(main, ["check", str(good), "--out", str(tmp_path / "r")], env=env)
    assert ok.exit_code == 0 and "【通过】" in ok.output
    result = runner.invoke(main, ["check", str(good), str(bad), "--json", "--out", str(tmp_path / "r")], env=env)
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert [p["status"] for p in payload] == ["accepted", "rejected"]
    finding = next(f for f in payload[1]["findings"] if f["code"] == "T5-01")
    assert {"code", "severity", "table", "sheet", "cell", "message", "expected", "found"} <= set(finding)
    assert finding["cell"] == "T6" and finding["found"] == 150
    junk = tmp_path / "x.xlsx"
    junk.write_bytes(b"not a workbook")
    result = runner.invoke(main, ["check", str(junk), "--no-receipts"], env=env)
    assert result.exit_code == 2 and "F01" in result.output and "Traceback" not in result.output


def _rewrite_package(src: Path, dst: Path, edit_sheet) -> Path:
    """Copy an xlsx, passing every worksheet's XML (and the shared strings) through edit_sheet."""
    import re
    import zipfile
    from xml.sax.saxutils import escape

    with zipfile.ZipFile(src) as zin:
        shared = []
        if "xl/sharedStrings.xml" in zin.namelist():
            xml = zin.read("xl/sharedStrings.xml").decode("utf-8")
            shared = [re.sub(r"<[^>]+>", "", si) for si in re.findall(r"<si>(.*?)</si>", xml, re.S)]
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                data = zin.read(item.filename)
                if item.filename.startswith("xl/worksheets/sheet"):
                    data = edit_sheet(data.decode("utf-8"), shared, escape).encode("utf-8")
                zout.writestr(item, data)
    return dst


def test_inline_strings_and_a_wrong_dimension_read_the_same(good, ctx, tmp_path, spec, workspace):
    import re

    bad, _ = build_filled(tmp_path / "b.xlsx", spec, workspace, "410181", "2025Q3",
                          mutate=lambda v: (v["t5"][0].update(satisfaction_rate=120), v["t3"][0].update(area=1.2)))

    def inline(xml, shared, escape):
        def swap(m):
            attrs, index = m.group(1), int(m.group(2))
            return f'<c{attrs} t="inlineStr"><is><t>{escape(shared[index])}</t></is></c>'
        xml = re.sub(r'<c([^>]*?) t="s"(?:[^>]*)><v>(\d+)</v></c>', swap, xml)
        return re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1"/>', xml)

    rewritten = _rewrite_package(bad, tmp_path / "inline.xlsx", inline)
    import zipfile

    with zipfile.ZipFile(rewritten) as zf:
        sheet_xml = zf.read("xl/worksheets/sheet6.xml").decode("utf-8")
    assert 't="inlineStr"' in sheet_xml and '<dimension ref="A1"/>' in sheet_xml
    expected = sorted((f.code, f.sheet, f.cell) for f in check_file(bad, ctx).findings)
    assert sorted((f.code, f.sheet, f.cell) for f in check_file(rewritten, ctx).findings) == expected
    assert {"T5-01", "T3-02"} <= {c for c, _, _ in expected}


def test_blank_signature_lines_are_noted_once_per_table_at_the_first_blank_cell(spec, workspace, tmp_path):
    """统计员/批准人/报送日期 (附表2: 填表人/批准人/填表日期) left blank: an N04 note per table, the figures still checked."""
    import copy

    from builders import layouts_for
    from qtables.devtools import samplegen
    from qtables.issue.workbook import IssueRequest, build_workbook
    from qtables.template.layout import a1
    from qtables.period import Period
    from qtables.template.lines import line_slots

    unit, period = workspace.registry.unit("410300"), Period.parse("2025Q3")
    set_names, table_ids, layouts = layouts_for(spec, unit, period)
    filling = samplegen.generate(layouts, unit, period, seed=2)
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key)
    lines = copy.deepcopy(filling.line_values)
    lines["t5"].pop("批准人")
    lines["t3"] = {}
    path = tmp_path / "lines.xlsx"
    build_workbook(path, spec=spec, request=IssueRequest(unit, period, table_ids, set_names, values=filling.values,
                   line_values=lines), key=workspace.signing_key, password="pw")
    report = check_file(path, ctx)
    notes = {f.table: f for f in report.findings if f.code == "N04"}
    assert set(notes) == {"附表3", "附表5"} and report.status != "unreadable"
    t5 = next(lay for lay in layouts if lay.table.id == "t5")
    slot = line_slots(t5, t5.table.bottom_line, with_period=False)[t5.table.bottom_line.index("批准人")]
    assert notes["附表5"].cell == a1(t5.bottom_row, slot[2], abs_row=False, abs_col=False) and "“批准人”" in notes["附表5"].message
    assert "“统计员”、“批准人”、“报送日期”" in notes["附表3"].message
    full = tmp_path / "full.xlsx"
    build_workbook(full, spec=spec, request=IssueRequest(unit, period, table_ids, set_names, values=filling.values,
                   line_values=filling.line_values), key=workspace.signing_key, password="pw")
    assert "N04" not in {f.code for f in check_file(full, ctx).findings}


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_signature_lines_are_read_by_their_labels_wherever_a_layout_put_them(data):
    """The checker finds 统计员/批准人/报送日期 by their labels, so a template issued before the lines moved (附表5's
    lines now keep out of the columns a two-page print repeats) is read alike: labels at any columns in order,
    each value in any cell before the next label, blanks and 'label:' with an ASCII colon too."""
    from qtables.template.lines import line_values

    items = ("统计员", "批准人", "报送日期")
    ncols = data.draw(st.integers(min_value=6, max_value=24))
    cols = sorted(data.draw(st.lists(st.integers(0, ncols - 2), min_size=3, max_size=3, unique=True)))
    row: dict[int, object] = {}
    expected: dict[str, object] = {}
    for i, (label, col) in enumerate(zip(items, cols)):
        row[col] = label + data.draw(st.sampled_from(["：", ":", " ：", ""]))
        end = cols[i + 1] if i + 1 < len(cols) else ncols
        value = data.draw(st.one_of(st.none(), st.sampled_from(["张三", "李 四", "   "]), st.floats(45000, 47000)))
        if col + 1 >= end:
            value = None  # no room for a value before the next label
        if value is not None:
            row[data.draw(st.integers(col + 1, end - 1))] = value
        expected[label] = value if not (isinstance(value, str) and not value.strip()) else None
    slots = [(c, c, c + 1, c + 1) for c in range(3)]  # where a different layout would have put them
    found = line_values(lambda r, c: row.get(c), 0, ncols, items, slots)
    assert {label: value for label, (value, _col) in found.items()} == expected


def test_one_figure_typed_wrong_is_one_problem_with_its_consequences_listed(spec, workspace, tmp_path):
    """在建项数 typed as 2.5 breaks V01 (整数) and T5-05 (接转+新注册−竣工) at the same cell: the receipt's 审核结果 and
    the reply list one problem, the second rule under it — not two things to fix."""
    import openpyxl

    from qtables.check.findings import grouped
    from qtables.intake.mail import build_reply
    from qtables.receipt.workbook import RESULT_SHEET, write_receipt

    def typo(values):
        values["t5"][0]["ucon_count"] = values["t5"][0]["ucon_count"] + 0.5

    path, _values = build_filled(tmp_path / "typo.xlsx", spec, workspace, "410300", "2025Q3", seed=4, mutate=typo)
    report = check_file(path, CheckContext(spec, workspace.registry, workspace.signing_key))
    at_cell = [f for f in report.findings if f.code in ("V01", "T5-05")]
    assert len(at_cell) == 2 and at_cell[0].cell == at_cell[1].cell
    [(lead, follow)] = [(f, c) for f, c in grouped(report.findings) if f.cell == at_cell[0].cell]
    assert lead.code == "V01" and [c.code for c in follow] == ["T5-05"]
    receipt = write_receipt(report, tmp_path / "out", original=path)
    rows = [[c for c in r if c is not None] for r in openpyxl.load_workbook(receipt)[RESULT_SHEET].iter_rows(values_only=True)]
    problem_rows = [r for r in rows if len(r) > 3 and r[1] in ("V01", "T5-05")]
    assert [r[1] for r in problem_rows] == ["V01"] and "[T5-05]" in problem_rows[0][4]
    assert any("连带结果" in str(c) for r in rows for c in r)
    sub = {"unit_code": "410300", "period": "2025Q3", "status": report.status, "filename": "typo.xlsx", "version": 1,
           "sender": "a@b.cn"}
    body = build_reply(workspace, sub, report, None).text
    assert body.count("[T5-05]") == 1 and "同一单元格还因此不符合：[T5-05]" in body


@pytest.mark.parametrize("unit_code", ["410300", "411729", "419001"])  # a city with 市本级, a 省直管县, 济源 (one row each)
def test_county_projects_of_table6_are_the_total_less_the_units_own_row(spec, workspace, tmp_path, unit_code):
    path, _ = build_filled(tmp_path / "clean.xlsx", spec, workspace, unit_code, "2025Q3", seed=6)
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key)
    assert "X-20" not in {f.code for f in check_file(path, ctx).findings}

    def more(values):
        row = next(i for i, r in enumerate(spec.table("t6").fixed_rows) if r.key == "county")
        values["t6"][row]["ucon_count"] = (values["t6"][row].get("ucon_count") or 0) + 2

    bad, _ = build_filled(tmp_path / "bad.xlsx", spec, workspace, unit_code, "2025Q3", seed=6, mutate=more)
    assert "X-20" in {f.code for f in check_file(bad, ctx).findings}
