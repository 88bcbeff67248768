"""Cross-checks over the whole spec: every reference resolves, every rule's codes are unique, the scoring forms add up."""

from __future__ import annotations

import re
from typing import Any


from qtables.errors import SpecError
from qtables.spec import expr
from qtables.spec.model import (
    Rule,
    Spec,
    Table,
)


def resolve_all(spec: Spec, raw_tables: dict[str, tuple[str, dict[str, Any]]], index_file: str) -> None:
    """Check that every name an expression uses exists, and codes are unique."""
    codes: dict[str, str] = {}
    for tid, table in spec.tables.items():
        file = raw_tables[tid][0]
        for i, col in enumerate(table.columns):
            for key, node in (("formula", col.formula), ("total_formula", col.total_formula)):
                if node is not None:
                    check_refs(spec, table, node, (), file, f"/columns/{i}/{key}")
        custom = [r for r in table.rules if not r.pointer.startswith("(")]
        for i, rule in enumerate(custom):
            check_rule(spec, table, rule, file, f"/rules/{i}", codes)
    for i, rule in enumerate(spec.workbook_rules):
        if rule.table not in spec.tables:
            raise SpecError(f"规则引用了不存在的表 {rule.table}", file=index_file, pointer=f"/rules/{i}/table", code="S006")
        check_rule(spec, spec.tables[rule.table], rule, index_file, f"/rules/{i}", codes)


def check_rule(spec: Spec, table: Table, rule: Rule, file: str, ptr: str, codes: dict[str, str]) -> None:
    if rule.code in codes:
        raise SpecError(f"规则代码 {rule.code} 与 {codes[rule.code]} 重复", file=file, pointer=f"{ptr}/code", code="S007")
    codes[rule.code] = f"{file}#{ptr}"
    for key, node in (("assert", rule.assertion), ("when", rule.when), ("found", rule.found), ("expected", rule.expected)):
        if node is not None:
            check_refs(spec, table, node, rule.needs, file, f"{ptr}/{key}", scope=rule.scope)
    target = rule.target.split(".")
    ok = (
        (len(target) == 1 and table.has_column(target[0]))
        or (len(target) == 2 and target[0] == "total" and table.has_total and table.has_column(target[1]))
        or (len(target) == 2 and target[0] in {r.key for r in table.fixed_rows} and table.has_column(target[1]))
    )
    if not ok:
        raise SpecError(f"规则定位单元格 {rule.target} 在表 {table.name} 中不存在", file=file, pointer=f"{ptr}/target", code="S008")


def check_refs(
    spec: Spec,
    table: Table,
    node: expr.Node,
    needs: tuple[str, ...],
    file: str,
    ptr: str,
    *,
    scope: str = "row",
) -> None:
    for ref, as_range in expr.refs(node):
        problem = ref_problem(spec, table, ref, as_range, needs, scope)
        if problem:
            raise SpecError(f"表达式中的名称 {ref.dotted} {problem}", file=file, pointer=ptr, code="S002")
    for arg_node in oneof_lists(node):
        if arg_node not in spec.choices:
            raise SpecError(f"oneof() 引用了未定义的选项表 {arg_node}", file=file, pointer=ptr, code="S002")


def oneof_lists(node: expr.Node) -> list[str]:
    out: list[str] = []
    if isinstance(node, expr.Call):
        if node.name == "oneof" and isinstance(node.args[1], expr.Str):
            out.append(node.args[1].value)
        for a in node.args:
            out.extend(oneof_lists(a))
    elif isinstance(node, expr.Unary):
        out.extend(oneof_lists(node.operand))
    elif isinstance(node, expr.Binary):
        out.extend(oneof_lists(node.left) + oneof_lists(node.right))
    return out


def ref_problem(
    spec: Spec, table: Table, ref: expr.Ref, as_range: bool, needs: tuple[str, ...], scope: str
) -> str | None:
    p = ref.parts
    if p[0] == "period":
        return None if len(p) == 2 and p[1] in _PERIOD_CONSTANTS and not as_range else "应为 period.start 或 period.end"
    if p[0] == "prev":
        if "previous" not in needs:
            return "引用了上期数据，规则须声明 needs: [\"previous\"]"
        return None if len(p) == 2 and table.has_column(p[1]) else "引用的上期列不存在"
    if p[0] == "q":
        if "quarters" not in needs:
            return "引用了各季度数据，规则须声明 needs: [\"quarters\"]"
        return None if len(p) == 2 and _QUARTER_AGGREGATES.match(p[1]) else "应为 q.sum_<列>、q.part_<列>、q.q4_<列> 或 q.q1_<列>"
    if p[0] in ("total", "stated"):
        if len(p) != 2 or not table.has_total or not table.has_column(p[1]):
            return f"在表 {table.name} 的合计行中不存在"
        return None
    if p[0] in spec.tables:
        other = spec.tables[p[0]]
        if len(p) == 2:
            if not other.has_column(p[1]):
                return f"：表 {other.name} 没有列 {p[1]}"
            return None if as_range else "是整列，只能用在 sum()/count() 等区域函数中"
        if len(p) == 3:
            row = p[1]
            if row == "total" and other.has_total and other.has_column(p[2]):
                return None
            if row == "own" and other.kind == "keyed" and other.has_column(p[2]):
                return None  # the unit's own row (市本级), whatever its code
            if row in {r.key for r in other.fixed_rows} and other.has_column(p[2]):
                return None
            return f"：表 {other.name} 没有行 {row} 或列 {p[2]}"
        return "层级过多"
    if len(p) == 1:
        if not table.has_column(p[0]):
            return f"：表 {table.name} 没有这一列"
        if scope == "table" and not as_range:
            return "是逐行的列名，表级规则中只能用在区域函数里，或写成 total.<列>"
        return None
    return "无法解析"


def lint_scoring(spec: Spec) -> list[str]:
    """Inconsistencies in the regulation's own scoring forms (e.g. 记5分 against a 分值 of 4)."""
    out: list[str] = []
    for table in spec.tables.values():
        for g in table.groups:
            total = sum(it.points for it in g.items)
            if abs(total - g.points) > 1e-9:
                out.append(f"{table.title}：{g.label.split()[0]} 各项分值之和 {total:g} 与组分值 {g.points:g} 不一致")
            for it in g.items:
                if it.stated_points is not None and abs(it.stated_points - it.points) > 1e-9:
                    out.append(
                        f"{table.title}：“{it.label}”评分标准写明记{it.stated_points:g}分，但分值栏为{it.points:g}分（按分值栏评分）"
                    )
        if table.kind == "scoring":
            total = sum(g.points for g in table.groups)
            if abs(total - 100) > 1e-9:
                out.append(f"{table.title}：各组分值之和为 {total:g}，不是100分")
    return out


# Names usable in expressions besides column ids.
_PERIOD_CONSTANTS = {"start", "end"}


_QUARTER_AGGREGATES = re.compile(r"^(sum|part|q4|q1)_[a-z][a-z0-9_]*$")


def check_continuity(spec: Spec, index_file: str) -> None:
    """The continuity block names tables and columns that exist; its codes are new."""
    c = spec.continuity
    if not c:
        return
    for field_name in ("ongoing", "completed", "count_table"):
        if c[field_name] not in spec.tables:
            raise SpecError(f"continuity.{field_name} 引用了不存在的表 {c[field_name]}", file=index_file,
                            pointer=f"/continuity/{field_name}", code="S006")
    for tid in (c["ongoing"], c["completed"]):
        ids = {col.id for col in spec.table(tid).columns}
        for col in [c["key"], *c["compare"]]:
            if col not in ids:
                raise SpecError(f"continuity 引用了表 {tid} 中不存在的列 {col}", file=index_file, pointer="/continuity", code="S008")
    if c["count_column"] not in {col.id for col in spec.table(c["count_table"]).columns}:
        raise SpecError(f"continuity.count_column {c['count_column']} 不存在", file=index_file, pointer="/continuity/count_column",
                        code="S008")
    rule_codes = {r.code for t in spec.tables.values() for r in t.rules} | {r.code for r in spec.workbook_rules}
    for i, r in enumerate(c["rules"]):
        if r["code"] in rule_codes:
            raise SpecError(f"规则代码 {r['code']} 重复", file=index_file, pointer=f"/continuity/rules/{i}/code", code="S007")
        rule_codes.add(r["code"])
