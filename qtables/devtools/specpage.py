"""docs/spec.md: the spec as a statistician reads it — tables, columns and units, rules, materials, deviations."""

from __future__ import annotations

from qtables.spec.model import INSTRUCTIONS_LABEL, Spec, Table

KIND_TEXT = {"records": "明细表（逐项填写）", "keyed": "按单位分行（各县、区及本级）", "categories": "固定分类行", "scoring": "考核评分表"}
TYPE_TEXT = {"key": "（表头/序号）", "text": "文字", "integer": "整数", "decimal": "数值", "percent": "百分比", "date": "日期",
             "choice": "从列表选择"}
SET_TEXT = {"quarter": "季报", "year": "年报", "scoring": "考核评分（省厅考核组）"}
SEVERITY = {"E": "强制性", "W": "核实性", "I": "提示"}


def spec_page(spec: Spec) -> str:
    lines = [
        "# 规格说明：附表、审核规则与对《办法》的处理（自动生成，请勿手改）",
        "",
        f"由 `python -m qtables.devtools spec` 根据规格 `schemas/`（版本 {spec.version}）生成；"
        "`tests/test_generated_files.py` 检查本页与规格一致。",
        "",
        f"依据：{spec.title}。",
        "",
        "## 报送期限与材料",
        "",
    ]
    for name, rule in spec.deadlines.items():
        lines.append(f"* {SET_TEXT.get(name, name)}：{rule.get('text', '')}")
    for m in spec.materials:
        sets = "、".join(SET_TEXT.get(s, s) for s in m.get("sets", []))
        lines.append(f"* 随{sets}报送《{m['name']}》（{m['source']}：{m['quote']}）。")
    if spec.quality_index:
        q = spec.quality_index
        lines += ["", f"## {q['name']}（第七条；qtables 的定义，非《办法》原文）", "", q["note"], "",
                  "| 项 | 权重 | 方向 | 为什么这样算 |", "|---|---|---|---|"]
        lines += [f"| {c['label']} | {c['weight']:g} | {'越高越好' if c['direction'] == 'higher' else '越低越好'} | {c['why']} |"
                  for c in q["components"]]
    lines += ["", "## 与《办法》原文不同或增加之处", "", "| 位置 | 处理 | 理由 |", "|---|---|---|"]
    lines += [f"| {d['where']} | {d['what']} | {d['why']} |" for d in spec.deviations]
    for name, table_ids in spec.sets.items():
        lines += ["", f"## {SET_TEXT.get(name, name)}：" + "、".join(spec.table(t).name for t in table_ids)]
        for tid in table_ids:
            if not any(tid in ids for ids in list(spec.sets.values())[:list(spec.sets).index(name)]):
                lines += _table(spec, spec.table(tid))
    return "\n".join(lines) + "\n"


def _table(spec: Spec, table: Table) -> list[str]:
    title = table.title.replace("\n", "")
    out = ["", f"### {table.name}　{title}", "", f"工作表“{table.sheet}”；{KIND_TEXT.get(table.kind, table.kind)}。", ""]
    if table.notes:
        out += [f"《办法》原文：{table.notes}", ""]
    if table.instructions:
        out += [f"{INSTRUCTIONS_LABEL}{table.instructions}", ""]
    if table.schedule:
        out += [table.schedule, ""]
    if table.kind == "scoring":
        out += ["| 序号 | 考核对象 | 项目 | 分值 |", "|---|---|---|---|"]
        out += [f"| {it.group_no} | {it.group_label} | {it.label.replace(chr(10), '')} | {it.points:g}"
                + (f"（原文写“记{it.stated_points:g}分”）" if it.stated_points is not None and it.stated_points != it.points else "") + " |"
                for it in table.scoring_items]
    else:
        out += ["| 列 | 类型 | 单位 | 填写 |", "|---|---|---|---|"]
        for col in table.columns:
            if col.type == "key" and col.role not in ("label",):
                continue
            how = ("公式：`" + (col.formula_text or "") + "`") if col.formula_text else \
                "必填" if col.required else ("不填即为0" if col.blank == "zero" else "可空")
            if col.carry_from:
                how += "（接转：上期在建）"
            out.append(f"| {col.label} | {TYPE_TEXT.get(col.type, col.type)} | {col.unit or ''} | {how} |")
    rules = table.rules + [r for r in spec.workbook_rules if r.table == table.id]
    if rules:
        out += ["", "| 代码 | 类别 | 审核内容 |", "|---|---|---|"]
        seen = set()
        for rule in rules:
            if (rule.code, rule.message) in seen:
                continue
            seen.add((rule.code, rule.message))
            out.append(f"| {rule.code} | {SEVERITY[rule.severity]} | {rule.message} |")
    return out
