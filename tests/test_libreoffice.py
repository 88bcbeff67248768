"""The issued templates in a real client: LibreOffice opens, recalculates and re-saves them.

The 自查 sheet must evaluate, in LibreOffice's own formula engine, to ✓ on a
correct filling and to ✗ on the intended rule for each deliberately wrong
filling — and agree rule by rule with the Python runtime of the same spec.
"""

from __future__ import annotations

import copy
import subprocess
from datetime import timedelta

import pytest

import libreoffice
from filling import fill_with_openpyxl, python_verdicts, selfcheck_verdicts
from qtables.devtools import samplegen
from qtables.template.identity import IDENTITY_SHEET
from qtables.issue.workbook import IssueRequest, build_workbook
from qtables.template.names import tables_for
from qtables.template.layout import TableLayout
from qtables.period import Period

pytestmark = pytest.mark.libreoffice

UNIT = "410300"  # 洛阳市: 15 rows in 附表5
PERIOD = "2025Q3"


def _rule_key(spec, code, table_id, target=None):
    for rule in spec.rules_for(["quarter"], ["t1", "t2", "t3", "t4", "t5", "t6"]):
        if rule.code == code and rule.table == table_id and (target is None or rule.target == target):
            return (rule.code, spec.table(rule.table).name, rule.message)
    raise KeyError(code)


def _first(rows, pred):
    return next(i for i, r in enumerate(rows) if pred(r))


def _mutations(values):
    """(name, code, table, target, mutate) — each breaks one rule on purpose."""
    t5_new_total = sum(r["new_count"] for r in values["t5"])

    def filed_t4(v):
        return _first(v["t4"], lambda r: r.get("filed_date"))

    def no_filing(v):
        i = _first(v["t5"], lambda r: r["filed_count"] == 0) if any(r["filed_count"] == 0 for r in v["t5"]) else 0
        v["t5"][i].update(filed_count=0, filed_area=0, filed_cost=0, satisfaction_rate=90)

    return [
        ("满意率超过100", "T5-01", "t5", None, lambda v: v["t5"][0].update(satisfaction_rate=120)),
        ("无备案却填满意率", "T5-02", "t5", None, no_filing),
        ("有死亡无事故项数", "T5-04", "t5", None, lambda v: v["t5"][1].update(accident_deaths=1)),
        ("在建项数不平衡", "T5-05", "t5", None, lambda v: v["t5"][2].update(ucon_count=v["t5"][2]["ucon_count"] + 1)),
        ("项数填成文字", "V01", "t5", "carried_count", lambda v: v["t5"][0].update(carried_count="十二")),
        ("项数为负", "V01", "t5", "new_count", lambda v: v["t5"][3].update(new_count=-3)),
        ("备案早于竣工", "T4-04", "t4", None,
         lambda v: v["t4"][filed_t4(v)].update(filed_date=v["t4"][filed_t4(v)]["done_date"] - timedelta(days=5))),
        ("有备案日期无结论", "T4-05", "t4", None, lambda v: v["t4"][filed_t4(v)].pop("filed_conclusion")),
        ("记录晚于批准", "T1-01", "t1", None,
         lambda v: v["t1"][0].update(record_date=v["t1"][0]["approve_date"] + timedelta(days=3))),
        ("记录编号重复", "T1-02", "t1", None, lambda v: v["t1"].append(dict(v["t1"][0]))),
        ("注册号在建竣工重复", "T3-01", "t3", None, lambda v: v["t3"][0].update(reg_no=v["t4"][0]["reg_no"])),
        ("面积填成万㎡", "T3-02", "t3", None, lambda v: v["t3"][0].update(area=1.2)),
        ("在建明细少一行", "X-01", "t5", None, lambda v: v["t3"].pop()),
        ("大型公建多于公建", "T6-01", "t6", None,
         lambda v: v["t6"][3].update(new_count=v["t6"][2]["new_count"] + 1)),
        ("分类超过合计", "X-06", "t6", None, lambda v: v["t6"][0].update(new_count=t5_new_total + 1)),
        ("结构类型不在列表", "V06", "t3", "structure", lambda v: v["t3"][0].update(structure="木屋")),
        ("必填项为空", "V05", "t3", "name", lambda v: v["t3"][1].update(name=None)),
        ("竣工日期不在本季度", "T4-06", "t4", None,
         lambda v: v["t4"][0].update(done_date=Period.parse(PERIOD).start - timedelta(days=40))),
    ]


def differential_fillings(spec, workspace, root):
    """One issued template filled correctly and in each wrong way by another program (openpyxl, no cached
    values): [(case, file, Python verdicts)].  LibreOffice and Gnumeric recalculate the same files."""
    period = Period.parse(PERIOD)
    unit = workspace.registry.unit(UNIT)
    set_names, table_ids = tables_for(spec, period)
    good = samplegen.generate([TableLayout.for_unit(spec.table(t), unit) for t in table_ids], unit, period, seed=7)
    cases = [("正确填报", None, None, None, good.values)]
    for name, code, table, target, mutate in _mutations(good.values):
        values = copy.deepcopy(good.values)
        mutate(values)
        cases.append((name, code, table, target, values))
    # The blank template as `issue` writes it, with 附表3/附表4 only as long as the fillings need (a spreadsheet
    # then recalculates a fifth of the helper formulas; the identity carries the row counts).
    capacity = {t: max(20, max(len(c[4].get(t, [])) for c in cases) + 10) for t in ("t3", "t4")}
    blank = root / "blank.xlsx"
    build_workbook(blank, spec=spec, request=IssueRequest(unit, period, table_ids, set_names, capacity=capacity),
                   key=workspace.signing_key, password=workspace.protection_password)
    layouts = [TableLayout.for_unit(spec.table(t), unit, capacity.get(t)) for t in table_ids]
    filled = root / "filled"
    filled.mkdir()
    files = [
        fill_with_openpyxl(blank, filled / f"case{i:02d}.xlsx", layouts, case[4], good.line_values)
        for i, case in enumerate(cases)
    ]
    return [(case, path, python_verdicts(spec, unit, period, set_names, table_ids, case[4], capacity))
            for case, path in zip(cases, files)]


@pytest.fixture(scope="module")
def differential(spec, workspace, tmp_path_factory, lo_profile):
    """The differential fillings, recalculated by LibreOffice."""
    root = tmp_path_factory.mktemp("diff")
    cases = differential_fillings(spec, workspace, root)
    resaved = libreoffice.convert([path for _c, path, _p in cases], root / "lo", "xlsx", lo_profile)
    return [(case, path, py) for (case, _f, py), path in zip(cases, resaved)]


def test_correct_filling_is_all_ticks_in_libreoffice(differential):
    (_name, *_), path, py = differential[0]
    shown = selfcheck_verdicts(path)
    crosses = {k: v for k, v in shown.items() if v[0] == "✗"}
    assert crosses == {}
    assert sum(1 for v in shown.values() if v[0] == "✓") > 100
    assert all(count == 0 for count in py.values())


@pytest.mark.parametrize("index", range(1, 19))
def test_wrong_filling_crosses_the_intended_rule(differential, spec, index):
    (name, code, table, target, _values), path, py = differential[index]
    key = _rule_key(spec, code, table, target)
    shown = selfcheck_verdicts(path)
    assert shown[key][0] == "✗", f"{name}: {key} shows {shown[key]}"
    assert shown[key][1] >= 1
    assert shown[key][2].startswith(spec.table(table).name + "!")


def test_libreoffice_and_python_agree_rule_by_rule(differential):
    disagreements = []
    for (name, *_), path, py in differential:
        shown = selfcheck_verdicts(path)
        for key, (mark, count, _cell) in shown.items():
            if mark == "—":
                continue
            if key not in py:
                disagreements.append((name, key, "not evaluated in Python"))
            elif (count, mark) != (py[key], "✓" if py[key] == 0 else "✗"):
                disagreements.append((name, key, mark, count, py[key]))
    assert disagreements == []


def test_every_issued_workbook_reopens_and_keeps_its_identity(quarter_templates, annual_templates, workspace, tmp_path, lo_profile):
    """The annual workbooks of all 28 units and the quarterly ones of every third unit (省辖市 and 省直管县 among
    them) re-saved by LibreOffice keep identity, signature, hidden identity sheet
    and sheet protection; read with qtables' own reader and the package XML (no openpyxl load).  (A quarterly
    workbook takes LibreOffice ~1.5 s to recalculate; every third keeps the suite within its time.)"""
    import re
    import zipfile

    from qtables.check.checker import read_identity
    from qtables.read.workbook import read_workbook

    chosen = quarter_templates[::3] + annual_templates
    assert {i.unit.kind for i in quarter_templates[::3]} == {i.unit.kind for i in quarter_templates}
    sources = [i.path for i in chosen]
    resaved = libreoffice.convert(sources, tmp_path / "resaved", "xlsx", lo_profile)
    assert len(resaved) == len(sources) == 38
    for original, path in zip(chosen, resaved):
        book = read_workbook(path)
        from_sheet, from_props = read_identity(book)
        assert from_props is not None and from_props == from_sheet
        assert from_props.verify(workspace.signing_key)
        assert from_props.unit_code == original.unit.code
        assert book.visible[IDENTITY_SHEET] is False
        with zipfile.ZipFile(path) as zf:
            workbook_xml = zf.read("xl/workbook.xml").decode()
            rels = zf.read("xl/_rels/workbook.xml.rels").decode()
            rid = re.search(r'<sheet[^>]*name="附表6"[^>]*r:id="([^"]+)"', workbook_xml).group(1)
            target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="{rid}"', rels)
            part = "xl/" + (target.group(1) or target.group(2)).lstrip("/").removeprefix("xl/")
            assert "<sheetProtection" in zf.read(part).decode()


def test_blank_template_selfcheck_evaluates_in_libreoffice(quarter_templates, tmp_path, lo_profile):
    [path] = libreoffice.convert([quarter_templates[0].path], tmp_path, "xlsx", lo_profile)
    shown = selfcheck_verdicts(path)
    # Nothing typed yet: no rule may fail with an error, every evaluated rule shows ✓.
    assert {v[0] for v in shown.values()} <= {"✓", "—"}


def test_pdf_print_keeps_every_column_and_splits_only_the_wide_form(quarter_templates, tmp_path, lo_profile):
    [pdf] = libreoffice.convert([quarter_templates[0].path], tmp_path, "pdf", lo_profile)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    # 附表5 is too wide for readable type on one A4 page: it prints two pages wide at a group boundary, the row
    # labels repeated on the second (tests/test_paper.py holds the type at 7 pt or more).
    [t5] = [i for i, page in enumerate(pages) if "季度统计表" in page and "填表单位（盖章）" in page]
    assert "上季度接转工程" in pages[t5] and "经济损失" not in pages[t5]
    assert "经济损失" in pages[t5 + 1] and "名称" in pages[t5 + 1] and "市本级" in pages[t5 + 1]
    # On the page that starts each other table, its first and its last column are both printed.
    edges = {
        "分类统计表": ("住宅工程", "本季/年在建工程"),
        "竣工工程明细表": ("工程质量监督注册号", "结论"),
        "在建工程明细表": ("工程质量监督注册号", "备注"),
        "行政处罚记录表": ("记录编号", "处理情况"),
    }
    for title, (first, last) in edges.items():
        starts = [page for page in pages if title in page and first in page and "本工作簿包含" not in page]
        assert len(starts) == 1, f"{title} should start on exactly one page"
        assert first in starts[0] and last in starts[0], f"{title}: a label or column did not fit the page width"
    assert len(pages) < 60
