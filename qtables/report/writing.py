"""The report's content, part by part: what the data answer written out, what only people can write left as a marked
placeholder 【待填写：…】 with the questions the 办法 asks there.  Blocks are plain records the document writer
lays out: ("p", text) a paragraph, ("todo", text) a placeholder, ("table", caption, header, rows), ("chart", caption,
charts.ChartData)."""

from __future__ import annotations

from typing import Any

from qtables.merge.quality import Score
from qtables.report.facts import Facts, distinct, responsible_counts, structure_counts

Block = tuple

TODO = {
    1: "本地建筑业企业总体情况（企业数量、资质结构、市场行为），由汇总单位据企业资质、信用平台材料填写。",
    3: "对建设、勘察、设计、施工、监理等参建各方质量行为的监督情况及存在的主要问题（第十四条）。",
    4: "对实体工程质量监督采取的具体措施（抽查、检测、巡查等）及效果。",
    5: "当地治理工程质量通病的阶段性目标、主要通病种类及治理情况、取得的效果。",
    7: "工程质量监督管理工作中存在的突出问题（可参考上文数据中变化较大的指标和被退回、逾期的单位）。",
    8: "工程质量新技术、新工艺推广应用情况。",
    10: "工程质量监督执法情况（执法检查次数、责令整改、移交处罚等），上文行政处罚记录可作依据。",
    11: "进一步做好工程质量监督管理工作的对策建议。",
}


def num(value: Any, decimals: int = 2) -> str:
    """A figure as the master prints it: whole numbers whole, others to 2 decimals."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "—"
    if float(value) == int(value):
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}"


def rate(value: Any) -> str:
    """A rate in a table column: always to 2 decimals, as the master's rate columns (50.00 beside 62.50, not 50)."""
    return f"{value:.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "—"


def trend(change: tuple | None, what: str, unit: str = "") -> str:
    """"比上季度增加 12 项（增长 3.4%）" for a like-for-like change; empty when there is nothing to compare."""
    if change is None:
        return ""
    now, then, pct, n = change
    delta = now - then
    word = "增加" if delta > 0 else "减少" if delta < 0 else "持平"
    if word == "持平":
        return f"{what}持平"
    text = f"{what}{word} {num(abs(delta))}{unit}"
    if pct is not None:
        text += f"（{'增长' if delta > 0 else '下降'} {abs(pct):.1f}%）"
    return text + f"，按两期均有数据的 {n} 个单位可比口径"


def title(facts: Facts) -> str:
    return f"{facts.period.label}{facts.scope}建设工程质量运行态势分析报告（初稿）"


def summary(facts: Facts) -> list[Block]:
    s = facts.status
    lines = [("p", f"本报告由 qtables 根据台账中各单位{facts.period.label}通过审核的报表自动起草，数据与汇总表一致；标有"
                   f"【待填写】的段落须由汇总单位补写，定稿前请删除全部【】标记。应报 {s['expected']} 个单位，已收 {s['received']} 个，"
                   f"通过审核并计入本报告的 {len(facts.now.rows)} 个。")]
    if facts.excluded:
        lines.append(("p", "以下单位没有通过审核的数据，未计入本报告各项合计："
                      + "；".join(f"{name}（{why}）" for name, why in facts.excluded) + "。"))
    return lines


def part1(facts: Facts) -> list[Block]:
    ongoing = facts.now.records["t3"]
    return [("p", f"{facts.period.label}在建工程（附表3）涉及施工单位 {distinct(ongoing, 'builder')} 家、监理单位 "
                  f"{distinct(ongoing, 'supervisor')} 家。"), ("todo", TODO[1])]


def part2(facts: Facts, charts: dict[str, Any]) -> list[Block]:
    t = facts.total
    quarter = facts.period.kind == "quarter"
    span = "本季度" if quarter else "本年度"
    prev = "上季度" if quarter else "上年度"
    out: list[Block] = [("p", f"{facts.scope}{span}在建工程 {num(t.get('ucon_count'))} 项，面积 {num(t.get('ucon_area'))} 万㎡，造价 "
                             f"{num(t.get('ucon_cost'))} 万元；新注册 {num(t.get('new_count'))} 项；竣工 {num(t.get('done_count'))} 项，面积 "
                             f"{num(t.get('done_area'))} 万㎡；质量备案 {num(t.get('filed_count'))} 项。质量备案率（项数）"
                             f"{num(t.get('filing_rate_count'))}%，（面积）{num(t.get('filing_rate_area'))}%；用户满意率 "
                             f"{num(t.get('satisfaction_rate'))}%。")]
    changes = [trend(facts.change(facts.previous, "ucon_count"), f"在建工程项数比{prev}", " 项"),
               trend(facts.change(facts.previous, "done_count"), f"竣工工程项数比{prev}", " 项"),
               trend(facts.change(facts.last_year, "ucon_count"), "在建工程项数比上年同期", " 项"),
               trend(facts.change(facts.last_year, "done_count"), "竣工工程项数比上年同期", " 项")]
    said = [c for c in changes if c]
    out.append(("p", "；".join(said) + "。" if said else f"台账中没有{prev}或上年同期的数据，本期不作比较。"))
    rows = sorted(facts.now.rows.items(), key=lambda kv: -(kv[1].get("ucon_count") or 0))
    left_out = "、".join(name for name, _why in facts.excluded)
    unlisted = f"（不含{left_out}，见上文）" if left_out else ""  # units without accepted figures, never silently
    out.append(("table", f"{facts.period.label}各单位工程质量监督统计（按在建项数排序）{unlisted}",
                ["名次", "单位", "在建项数", "竣工项数", "备案项数", "备案率（项数，%）", "满意率（%）"],
                [[str(i), facts.now.units[c].name, num(r.get("ucon_count")), num(r.get("done_count")), num(r.get("filed_count")),
                  rate(r.get("filing_rate_count")), rate(r.get("satisfaction_rate"))] for i, (c, r) in enumerate(rows, 1)]
                + [["", "合计", num(t.get("ucon_count")), num(t.get("done_count")), num(t.get("filed_count")),
                    rate(t.get("filing_rate_count")), rate(t.get("satisfaction_rate"))]]))
    out.append(("chart", f"各单位在建与竣工工程项数{unlisted}", charts.get("units")))
    categories = _categories(facts)
    if categories:
        out.append(("table", f"{facts.period.label}分类统计（附表6）", ["类别", "新注册项数", "竣工项数"], categories))
    structures = structure_counts(facts.now.records["t3"])
    if structures:
        out.append(("p", "在建工程按结构类型：" + "、".join(f"{k} {v} 项" for k, v in structures.most_common()) + "。"))
    timing = {}
    for u in facts.status["units"]:
        timing.setdefault(u.get("timing") or "—", []).append(u["name"])
    out.append(("p", "报送及时性：" + "；".join(f"{k} {len(v)} 个" + (f"（{'、'.join(v)}）" if k not in ("按时", "—") and len(v) <= 8 else "")
                                         for k, v in timing.items()) + "。"))
    return out


def _categories(facts: Facts) -> list[list[str]]:
    """附表6's categories summed over the units, in the order the rows came."""
    rows = []
    for key, values in facts.now.categories.items():
        label = next((r.get("category") for r in values if r.get("category")), key)
        total = {c: sum(v.get(c) or 0 for v in values if isinstance(v.get(c), (int, float))) for c in ("new_count", "done_count")}
        rows.append([str(label).replace("\n", ""), num(total["new_count"]), num(total["done_count"])])
    return rows


def part6(facts: Facts, public: bool) -> list[Block]:
    bad, fines = facts.now.records["t1"], facts.now.records["t2"]
    n_bad, n_fine = sum(map(len, bad.values())), sum(map(len, fines.values()))
    out: list[Block] = [("p", f"{facts.period.label}共记录责任主体及相关责任人员不良行为 {n_bad} 条（附表1），行政处罚 {n_fine} 起（附表2）。")]
    by_area = [[facts.now.units[c].name, str(len(bad.get(c, []))), str(len(fines.get(c, [])))] for c in facts.now.rows
               if bad.get(c) or fines.get(c)]
    if by_area:
        out.append(("table", "各单位不良行为记录与行政处罚", ["单位", "不良行为（条）", "行政处罚（起）"], by_area))
    kinds = responsible_counts(fines, "penalty")
    if kinds:
        out.append(("p", "行政处罚按处罚内容：" + "、".join(f"{k} {v} 起" for k, v in kinds.most_common()) + "。"))
    if not public and (bad or fines):
        top = responsible_counts({**{f"b{k}": v for k, v in bad.items()}, **{f"f{k}": v for k, v in fines.items()}})
        out.append(("p", "记录较多的责任单位：" + "、".join(f"{k}（{v}）" for k, v in top.most_common(5)) + "。"))
    elif public:
        out.append(("p", "（公开版：按《办法》第十五条向社会公开的是工程质量总体状况，不列企业和个人名称。）"))
    return out


def part9(facts: Facts) -> list[Block]:
    t = facts.total
    hit = [(facts.now.units[c].name, r) for c, r in facts.now.rows.items() if (r.get("accident_count") or 0) > 0]
    text = (f"{facts.period.label}发生工程质量事故 {num(t.get('accident_count'))} 起，死亡 {num(t.get('accident_deaths'))} 人，"
            f"直接经济损失 {num(t.get('accident_loss'))} 万元")
    text += ("；发生在" + "、".join(f"{n}（{num(r.get('accident_count'))} 起）" for n, r in hit) + "。") if hit else "。"
    return [("p", text), ("todo", "工程质量投诉的受理、处理情况（台账中没有投诉数据）。")]


def annual(facts: Facts, i: int) -> list[Block]:
    if i == 1:
        t = facts.total
        return [("p", f"{facts.period.label}上年度接转工程 {num(t.get('carried_count'))} 项，本年度新注册 {num(t.get('new_count'))} 项，"
                      f"竣工 {num(t.get('done_count'))} 项，质量备案 {num(t.get('filed_count'))} 项，年底在建 {num(t.get('ucon_count'))} 项（附表7）。")]
    if i == 2:
        rows = _categories(facts)
        return [("table", f"{facts.period.label}分类统计（附表6）", ["类别", "新注册项数", "竣工项数"], rows)] if rows else \
            [("p", "台账中没有本年度附表6数据。")]
    return [("todo", "本年度质量分析工作中机制建立、政策制定及活动开展情况（第十一条）。")]


def quality(facts: Facts, scores: list[Score], components: list[dict[str, Any]], note: str) -> list[Block]:
    rows = [[str(s.rank or "—"), s.name, num(s.index, 1) if s.index is not None else "—",
             ("—" if s.change is None else f"{s.change:+.1f}")] + [num(s.parts.get(c["id"]), 1) if s.parts.get(c["id"]) is not None
                                                                   else "—" for c in components] for s in scores]
    weights = "、".join(f"{c['label']} {c['weight']:g}" for c in components)
    return [("p", f"{note}本期各项权重：{weights}。"),
            ("table", f"{facts.period.label}各单位质量指数", ["名次", "单位", "质量指数", "比上期"] + [c["label"] for c in components], rows)]
