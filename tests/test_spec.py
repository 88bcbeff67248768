"""The spec: every table of seed 003, as printed; and a broken spec fails with its JSON pointer."""

from __future__ import annotations

import json
import shutil

import pytest

from qtables.errors import SpecError
from qtables.spec import load_spec
from qtables.spec.loader import default_spec_dir


def test_every_table_of_the_seed_is_specified(spec):
    assert [t.name for t in spec.tables.values()] == [
        "附表1", "附表2", "附表3", "附表4", "附表5", "附表6", "附表7", "附件2附表", "附件3附表"]
    assert spec.table("t5").title == "河南省建设工程质量监督季度统计表"
    assert spec.table("t7").title == "河南省建设工程质量监督年度统计表"
    assert spec.table("s3").title == "河南省保障性安居工程质量监督工作考核评分表"


def test_headers_are_as_the_seed_prints_them(spec):
    t5 = spec.table("t5")
    groups = []
    for col in t5.columns:
        if len(col.header) == 2 and col.header[0] not in groups:
            groups.append(col.header[0])
    assert groups == ["上季度接转工程", "本季度新注册工程", "本季度在建工程", "本季度竣工工程", "本季度质量备案\n工程",
                      "季度质量\n备案率（%）", "本季度发生工程质量事故"]
    assert [c.header[-1] for c in t5.columns][-3:] == ["项数", "死亡人数", "经济损失（万元）"]
    assert len(t5.columns) == 23
    assert [c.header for c in spec.table("t1").columns][3:5] == [("责  任  人", "姓名"), ("责  任  人", "职务")]
    assert [r.label for r in spec.table("t6").fixed_rows][3] == "大型公共建筑工程（2万平方米以上）"
    assert [c.label for c in spec.table("t4").columns][-4:] == ["竣工日期", "竣工验收结论", "备案日期", "备案结论"]


def test_units_blank_meaning_and_choices(spec):
    t5 = spec.table("t5")
    assert t5.column("new_area").unit == "万㎡" and t5.column("new_area").blank == "zero"
    assert spec.table("t3").column("area").unit == "㎡"
    assert t5.column("satisfaction_rate").blank == "missing"
    assert spec.table("t4").column("acceptance").choices == "acceptance_conclusion"
    assert "合格" in spec.choices["acceptance_conclusion"].values
    assert "钢结构" in spec.choices["structure_type"].values


def test_scoring_forms_carry_items_and_points(spec):
    s2, s3 = spec.table("s2"), spec.table("s3")
    assert [g.points for g in s2.groups] == [50, 20, 15, 5, 10]
    assert sum(i.points for i in s2.scoring_items) == 100
    assert sum(i.points for i in s3.scoring_items) == 100
    assert len(s2.scoring_items) == 26 and len(s3.scoring_items) == 20
    on_duty = next(i for i in s2.scoring_items if i.label == "带班制度")
    assert (on_duty.points, on_duty.stated_points) == (4, 5)
    assert any("带班制度" in w for w in spec.warnings)


def test_design_catalogue_rules_are_present(spec):
    codes = {r.code for t in spec.tables.values() for r in t.rules} | {r.code for r in spec.workbook_rules}
    for code in ["T5-01", "T5-04", "T5-05", "T5-09", "T5-10", "T5-11", "T5-P1", "T7-P1", "T7-A1", "T7-A2",
                 "T6-01", "X-01", "X-02", "X-04", "X-05", "X-06", "T3-01", "T4-01", "T4-04", "T4-05",
                 "T1-01", "T1-02", "S2-01", "S2-02"]:
        assert code in codes, code
    severities = {r.code: r.severity for t in spec.tables.values() for r in t.rules}
    assert severities["T5-P1"] == "E" and severities["T5-05"] == "W" and severities["T5-09"] == "W"


@pytest.fixture
def spec_copy(tmp_path):
    target = tmp_path / "schemas"
    shutil.copytree(default_spec_dir(), target)
    return target


def _edit(path, change):
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_a_copy_of_the_spec_loads(spec_copy):
    assert load_spec(spec_copy).version == load_spec().version


@pytest.mark.parametrize(
    "file, change, pointer, code",
    [
        ("tables/t5.json", lambda d: d["columns"][3].update(type="number"), "/columns/3/type", "S005"),
        ("tables/t5.json", lambda d: d["rules"][4].update({"assert": "ucon_count = carried_count +"}), "/rules/4/assert", "S002"),
        ("tables/t5.json", lambda d: d["rules"][4].update({"assert": "ucon_cnt = 1"}), "/rules/4/assert", "S002"),
        ("tables/t3.json", lambda d: d["columns"][3].update(choices="no_such_list"), "/columns/3/choices", "S006"),
        ("tables/t6.json", lambda d: d["rules"][0].update(code="T6-02"), "/rules/1/code", "S007"),
        ("spec.json", lambda d: d["rules"][0].update(target="total.nothing"), "/rules/0/target", "S008"),
        ("spec.json", lambda d: d["sets"]["quarter"].append("t9"), "/sets/quarter/6", "S006"),
        ("tables/t7.json", lambda d: d.pop("columns"), "", "S005"),
        ("tables/t5.json", lambda d: d["rules"][13].pop("needs"), "/rules/13/assert", "S002"),
    ],
)
def test_a_broken_spec_fails_with_file_and_pointer(spec_copy, file, change, pointer, code):
    _edit(spec_copy / file, change)
    with pytest.raises(SpecError) as info:
        load_spec(spec_copy)
    assert info.value.code == code
    assert info.value.file.endswith(file.split("/")[-1])
    assert info.value.pointer == pointer
    assert "规格文件有误" in info.value.message


def test_invalid_json_names_line_and_column(spec_copy):
    (spec_copy / "tables" / "t2.json").write_text('{"id": "t2",\n  "name": }', encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(spec_copy)
    assert info.value.code == "S004" and "第 2 行" in info.value.message


def test_the_validated_spec_is_cached_by_content_and_a_change_or_a_damaged_cache_is_noticed(tmp_path, monkeypatch):
    from qtables.spec.loader import default_spec_dir

    monkeypatch.setenv("QTABLES_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "spec"
    shutil.copytree(default_spec_dir(), root)
    first = load_spec(root)
    [cached] = (tmp_path / "cache").glob("spec-*.pickle")
    again = load_spec(root)
    assert again.raw_digest == first.raw_digest and again.table("t5").title == first.table("t5").title
    # A changed file is a different key: validated and built again, never served stale.
    t5 = root / "tables" / "t5.json"
    t5.write_text(t5.read_text(encoding="utf-8").replace("河南省建设工程质量监督季度统计表", "改过的标题"), encoding="utf-8")
    assert load_spec(root).table("t5").title == "改过的标题"
    assert len(list((tmp_path / "cache").glob("spec-*.pickle"))) == 2
    # A damaged cache file is ignored (and rewritten).
    t5.write_text(t5.read_text(encoding="utf-8").replace("改过的标题", "河南省建设工程质量监督季度统计表"), encoding="utf-8")
    cached.write_bytes(b"not a pickle")
    assert load_spec(root).table("t5").title == first.table("t5").title
    monkeypatch.setenv("QTABLES_CACHE", "off")
    assert load_spec(root).raw_digest == first.raw_digest
