"""The forms and rules say what the 办法 says (issue 12): one test per point, each quoting the text it follows.

The 办法 is shared/seeds/003_f18776f61bdaee82.txt (《河南省建设工程质量分析报告制度管理暂行办法》 with 附表1–7 and
附件2/附件3).  Where the spec departs from it, docs/spec.md says so and why (tests/test_generated_files.py).
"""

from __future__ import annotations

from datetime import date

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from builders import build_filled
from mailfixtures import docx_bytes, python_eml
from qtables.check import materials
from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.errors import WorkspaceError
from qtables.intake.run import intake
from qtables.issue.run import issue_templates
from qtables.ledger.workspace import init_workspace, open_workspace
from qtables.period import Period
from qtables.status import deadline, period_status, render
from qtables.template.layout import TableLayout
from qtables.template.names import GUIDE_SHEET


def _codes(path, spec, workspace):
    report = check_file(path, CheckContext(spec, workspace.registry, workspace.signing_key))
    return report, {(f.code, f.cell) for f in report.findings}


def test_t7_has_exactly_the_regulations_columns(spec):
    """附表7《河南省建设工程质量监督年度统计表》：上年度接转、本年度新注册、截止到年底在建、截止到年底竣工各有项数、面积、造价；
    本年度备案工程只有“项数”“面积（万㎡）”；然后是本年度质量备案率、用户满意率和本年度发生工程质量事故。"""
    t7 = spec.table("t7")
    values = [c for c in t7.columns if c.type != "key" and c.role != "label"]
    assert len(values) == 20
    filed = [c for c in values if c.header[0] == "本年度备案工程"]
    assert [c.header[-1].replace("\n", "") for c in filed] == ["项数", "面积（万㎡）"]
    assert not any(c.header[0] == "本年度备案工程" and "造价" in c.header[-1] for c in t7.columns)


@pytest.mark.parametrize("rate, filed, expect", [
    (None, 3, "T5-14"),  # 备案 on the row, 满意率 blank: refused
    (None, 0, None),  # nothing filed: blank is right
    (0, 0, None),  # "没有发生的填 0": 0 is accepted too
    (85, 0, "T5-02"),  # a rate with nothing filed is impossible
])
def test_satisfaction_rate_follows_its_definition(spec, workspace, tmp_path, rate, filed, expect):
    """附表5 填表说明 4：“用户满意率：用户评价为满意的工程（项数）/已办理质量备案手续的工程”。
    With 备案 the rate is required; without, blank or 0 are both right; a rate without 备案 is an error."""
    def mutate(v):
        row = v["t5"][0]
        row.update(filed_count=filed, satisfaction_rate=rate)
        if filed == 0:
            row.update(filed_area=0, filed_cost=0)
        else:
            row["done_count"] = max(row["done_count"], filed)
    path, _ = build_filled(tmp_path / "f.xlsx", spec, workspace, "410300", "2025Q3", seed=3, mutate=mutate)
    report, codes = _codes(path, spec, workspace)
    layout = TableLayout.for_unit(spec.table("t5"), workspace.registry.unit("410300"))
    cell = f"{chr(65 + layout.col('satisfaction_rate'))}{layout.first_data + 1}"
    rate_codes = {c for c, at in codes if at == cell}
    assert ({expect} if expect else set()) == rate_codes & {"T5-02", "T5-14"}, report.findings


def test_total_satisfaction_is_weighted_over_the_rows_that_state_a_rate(spec, workspace, tmp_path):
    """合计行的用户满意率 = Σ(满意率×备案项数) / Σ备案项数, over the rows that state a rate: a blank is not 0."""
    def mutate(v):
        v["t5"][0].update(filed_count=0, filed_area=0, filed_cost=0, satisfaction_rate=None)
        v["t5"][1].update(satisfaction_rate=90)
    path, values = build_filled(tmp_path / "w.xlsx", spec, workspace, "410300", "2025Q3", seed=4, mutate=mutate)
    report, _ = _codes(path, spec, workspace)
    rows = [r for r in values["t5"] if r.get("satisfaction_rate") is not None and r["filed_count"]]
    expected = sum(r["satisfaction_rate"] * r["filed_count"] for r in rows) / sum(r["filed_count"] for r in rows)
    assert abs(report.data.tables["t5"].total["satisfaction_rate"] - expected) < 1e-9


def test_a_failed_acceptance_is_not_a_completed_project(spec, workspace, tmp_path):
    """“竣工工程：已办理监督注册手续，已通过竣工验收的工程”——附表4 上竣工验收结论为“不合格”的工程没有通过竣工验收，
    不能作为竣工工程报送（强制性 T4-07）。"""
    path, _ = build_filled(tmp_path / "bad.xlsx", spec, workspace, "410300", "2025Q3", seed=5,
                           mutate=lambda v: v["t4"][0].update(acceptance="不合格", filed_date=None, filed_conclusion=None))
    report, codes = _codes(path, spec, workspace)
    assert any(c == "T4-07" for c, _ in codes)
    assert report.status == "rejected"
    # And the cross-table count follows the definition: 附表4 without its 不合格 row no longer matches 附表5's
    # 竣工 count, which still counted it; the row would pass X-04 only once 附表5 stops counting it.
    assert any(c == "X-04" for c, _ in codes)
    clean, _ = build_filled(tmp_path / "ok.xlsx", spec, workspace, "410300", "2025Q3", seed=5)
    assert not any(c == "X-04" for c, _ in _codes(clean, spec, workspace)[1])


def test_deadlines_come_from_the_regulation_and_a_workspace_may_extend_them(spec, tmp_path):
    """第五条 “于每季度末向上级主管部门上报”；第十一条 “在每年12月20日前向省厅上报年度工程质量分析报告”。"""
    ws = init_workspace(tmp_path / "ws")
    assert deadline(ws, Period.parse("2025Q3"), spec) == date(2025, 9, 30)
    assert deadline(ws, Period.parse("2025"), spec) == date(2025, 12, 20)
    text = (tmp_path / "ws" / "qtables.toml").read_text(encoding="utf-8").replace("quarter_grace_days = 0", "quarter_grace_days = 10")
    (tmp_path / "ws" / "qtables.toml").write_text(text, encoding="utf-8")
    assert deadline(open_workspace(tmp_path / "ws"), Period.parse("2025Q3"), spec) == date(2025, 10, 10)


def test_the_analysis_report_is_a_required_material(spec, tmp_path):
    """第五条 “按季度统计分析本地工程质量总体状况，并于每季度末向上级主管部门上报工程质量分析报告”；第十条 列出其内容
    （附表1–6 与《工程质量运行态势分析报告》）。A unit whose 附表 pass but whose report has not come stays on the 催报 list,
    and the reply says what is missing; a Word report counts, a stamped scan of the 附表 does not."""
    ws = init_workspace(tmp_path / "ws")
    a, _ = build_filled(tmp_path / "a.xlsx", spec, ws, "410100", "2025Q3", seed=1)
    b, _ = build_filled(tmp_path / "b.xlsx", spec, ws, "410300", "2025Q3", seed=2)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.eml").write_bytes(python_eml("a@example.gov.cn", [(a.name, a.read_bytes()),
                                                                  ("郑州市2025年第三季度工程质量分析报告.docx", docx_bytes())]))
    (inbox / "b.eml").write_bytes(python_eml("b@example.gov.cn", [(b.name, b.read_bytes()), ("附表盖章扫描件.pdf", b"%PDF-1.4 scan")]))
    intake(ws, [inbox], spec=spec)
    summary = period_status(ws, spec, Period.parse("2025Q3"))
    units = {u["code"]: u for u in summary["units"]}
    assert units["410100"]["materials"] == {"工程质量分析报告": "已收"}
    assert units["410300"]["materials"] == {"工程质量分析报告": "未收"}
    chase = {c["code"]: c for c in summary["chase"]}
    assert "410100" not in chase and chase["410300"]["missing_materials"] == ["工程质量分析报告"]
    assert "未收《工程质量分析报告》" in render(summary)
    replies = {p.name.split("_")[1]: p.read_bytes().decode("utf-8", "replace") for p in (ws.path / "outbox").glob("*.eml")}
    from email import message_from_string, policy
    body = message_from_string(replies["410300"], policy=policy.default).get_body(("plain",)).get_content()
    assert "尚未收到的报送材料" in body and "工程质量分析报告" in body and "第五条" in body
    body_a = message_from_string(replies["410100"], policy=policy.default).get_body(("plain",)).get_content()
    assert "尚未收到的报送材料" not in body_a




def test_a_stamped_pdf_is_not_the_report_unless_its_name_says_so(spec):
    period = Period.parse("2025Q3")
    got = materials.received(spec, period, [("扫描件.pdf", b"%PDF-1.4"), ("附表.pdf", b"%PDF-1.4")])
    assert got == {"工程质量分析报告": []}
    got = materials.received(spec, period, [("第三季度质量分析报告.pdf", b"%PDF-1.4")])
    assert got == {"工程质量分析报告": ["第三季度质量分析报告.pdf"]}
    assert materials.received(spec, period, [("报告.wps", b"\xd0\xcf\x11\xe0")])["工程质量分析报告"] == ["报告.wps"]


def test_scoring_forms_are_issued_to_the_assessment_group_with_the_regulations_dates(spec, workspace, tmp_path):
    """附件2 三（一）“于11月30日前将全年活动情况书面上报”，（二）“省厅成立考核组，在12月份……按照《考核评分表》……计分”；
    附件3 五 “次年第一季度对本年度工作情况进行考核”。The scoring forms are the 考核组's, one workbook per assessed unit."""
    issued = issue_templates(workspace, period=Period.parse("2025"), out_dir=tmp_path, scoring=True, unit_codes=["410100"])
    book = CalamineWorkbook.from_path(str(issued[0].path))
    assert "附表7" not in book.sheet_names and "考核评分表（附件2）" in book.sheet_names
    s2 = "\n".join(str(v) for row in book.get_sheet_by_name("考核评分表（附件2）").to_python() for v in row if v)
    s3 = "\n".join(str(v) for row in book.get_sheet_by_name("考核评分表（附件3）").to_python() for v in row if v)
    assert "11月30日前" in s2 and "12月份" in s2 and "次年第一季度" in s3
    assert "记5分" in s2 and "分值栏为4分" in s2  # 带班制度: the text says 5, the 分值 column 4


def test_form_metadata_and_the_annual_period_label(spec, annual_templates, quarter_templates):
    """Official statistical forms carry 表号 and 制定机关; a year is written “2025年度”."""
    wb = openpyxl.load_workbook(annual_templates[0].path)
    texts = [str(c.value) for row in wb["附表7"].iter_rows(max_row=6) for c in row if c.value]
    assert any("表号" in t and "制定机关" in t for t in texts)
    assert "2025年度" in texts
    q = openpyxl.load_workbook(quarter_templates[0].path)
    assert any("表号" in str(c.value) for row in q["附表5"].iter_rows(max_row=6) for c in row if c.value)


def test_registry_states_its_vintage_and_a_workspace_adds_functional_zones(spec, tmp_path):
    """功能区（如郑州航空港经济综合实验区）不是行政区划，《办法》的名录里没有；工作区可把它加为所在市的一行，有自己的代码，
    不再并入市本级。"""
    ws = init_workspace(tmp_path / "ws")
    assert "行政区划" in ws.registry.vintage and "民政部" in ws.registry.origin
    cfg = tmp_path / "ws" / "qtables.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + '\n[[zones]]\ncity = "410100"\ncode = "410173"\nname = "郑州航空港经济综合实验区"\n',
                   encoding="utf-8")
    ws = open_workspace(tmp_path / "ws")
    zhengzhou = ws.registry.unit("410100")
    rows = [r.label for r in zhengzhou.rows()]
    assert rows[-1] == "郑州航空港经济综合实验区" and "市本级" in rows
    assert TableLayout.for_unit(spec.table("t5"), zhengzhou).row_of("410173")
    # The city's own workspace collects from the zone as from a county.
    city = init_workspace(tmp_path / "city", root_unit="410100")
    text = (tmp_path / "city" / "qtables.toml").read_text(encoding="utf-8")
    (tmp_path / "city" / "qtables.toml").write_text(
        text + '\n[[zones]]\ncity = "410100"\ncode = "410173"\nname = "郑州航空港经济综合实验区"\n', encoding="utf-8")
    city = open_workspace(tmp_path / "city")
    assert city.registry.unit("410173").kind == "zone"
    cfg.write_text(cfg.read_text(encoding="utf-8") + '\n[[zones]]\ncity = "410100"\ncode = "410102"\nname = "重复"\n', encoding="utf-8")
    with pytest.raises(WorkspaceError) as exc:
        open_workspace(tmp_path / "ws")
    assert exc.value.code == "W005" and "410102" in str(exc.value)


def test_the_guide_quotes_the_regulations_notes_and_keeps_qtables_own_apart(spec, quarter_templates):
    """附表5 的“填表说明：1、在建工程：……”是《办法》原文，照录在“制度原文”标题下；qtables 加的提示（如附表3“全部在建工程”、
    附表4“二者须同时填写”、附表6“单体面积2万平方米以上”）在另一标题下，并注明不是原文。"""
    wb = openpyxl.load_workbook(quarter_templates[0].path)
    texts = [str(c.value) for row in wb[GUIDE_SHEET].iter_rows() for c in row if c.value]
    verbatim = texts.index(next(t for t in texts if t.startswith("附一：制度原文")))
    own = texts.index(next(t for t in texts if t.startswith("附二：qtables")))
    assert verbatim < own
    assert any(t == f"附表5：{spec.table('t5').notes}" for t in texts[verbatim:own])
    assert spec.table("t5").notes.startswith("填表说明：1、在建工程：已办理监督注册手续")
    quoted = "\n".join(texts[verbatim:own])
    assert "全部在建工程" not in quoted and "二者须同时填写" not in quoted and "单体面积" not in quoted
    added = "\n".join(texts[own:])
    assert "全部在建工程" in added and "二者须同时填写" in added and "单体面积2万平方米以上" in added
    # Under each table the same separation: the 办法's note, then qtables' marked as such.
    notes = [str(c.value) for row in wb["附表3"].iter_rows() for c in row if c.value and "填报提示" in str(c.value)]
    assert notes and notes[0].startswith("填报提示（qtables，非制度原文）")
