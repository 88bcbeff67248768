"""Building the spec model from its JSON: tables, columns, rows, the rules implied by column types, and explicit rules."""

from __future__ import annotations

import re
from typing import Any


from qtables.errors import ExpressionError, SpecError
from qtables.spec import expr
from qtables.spec.model import (
    Choice,
    Column,
    FixedRow,
    Rule,
    ScoringGroup,
    ScoringItem,
    Table,
)


def parse(text: str, file: str, pointer: str) -> expr.Node:
    try:
        return expr.parse(text)
    except ExpressionError as exc:
        raise SpecError(exc.message, file=file, pointer=pointer, code="S002") from None


def build_table(data: dict[str, Any], file: str, choices: dict[str, Choice]) -> Table:
    columns: list[Column] = []
    seen: set[str] = set()
    for i, c in enumerate(data["columns"]):
        ptr = f"/columns/{i}"
        if c["id"] in seen:
            raise SpecError(f"列编号 {c['id']} 重复", file=file, pointer=f"{ptr}/id", code="S006")
        seen.add(c["id"])
        if c["type"] == "choice" and c.get("choices") not in choices:
            raise SpecError(f"选项表 {c.get('choices')} 未定义", file=file, pointer=f"{ptr}/choices", code="S006")
        columns.append(
            Column(
                id=c["id"],
                header=tuple(c["header"]),
                aliases=tuple(c.get("aliases", ())),
                type=c["type"],
                role=c.get("role"),
                unit=c.get("unit"),
                decimals=c.get("decimals"),
                required=c.get("required", False),
                blank=c.get("blank", "missing"),
                min=c.get("min"),
                max=c.get("max"),
                choices=c.get("choices"),
                strict=c.get("strict", True),
                formula=parse(c["formula"], file, f"{ptr}/formula") if "formula" in c else None,
                formula_text=c.get("formula"),
                total=c.get("total"),
                total_formula=parse(c["total_formula"], file, f"{ptr}/total_formula")
                if "total_formula" in c
                else None,
                total_formula_text=c.get("total_formula"),
                carry_from=c.get("carry_from"),
                width=c.get("width"),
            )
        )
    ids = {c.id for c in columns}
    for i, c in enumerate(columns):
        if c.carry_from and c.carry_from not in ids:
            raise SpecError(f"carry_from 引用了不存在的列 {c.carry_from}", file=file, pointer=f"/columns/{i}/carry_from", code="S006")

    rows = data.get("rows", {})
    kind = data["kind"]
    if kind == "records" and "capacity" not in rows:
        raise SpecError("明细表须给出 rows/capacity", file=file, pointer="/rows", code="S006")
    if kind == "categories" and "fixed" not in rows:
        raise SpecError("分类表须给出 rows/fixed", file=file, pointer="/rows", code="S006")
    if kind == "keyed" and rows.get("source") != "units":
        raise SpecError("按单位分行的表须给出 rows/source = units", file=file, pointer="/rows", code="S006")
    if kind == "scoring" and "groups" not in data:
        raise SpecError("考核评分表须给出 groups", file=file, pointer="", code="S006")

    groups: list[ScoringGroup] = []
    for g in data.get("groups", []):
        items = tuple(
            ScoringItem(
                key=it["key"],
                label=it["label"],
                standard=it["standard"],
                points=float(it["points"]),
                group_no=g["no"],
                group_label=g["label"],
                stated_points=stated_points(it["standard"]),
                not_for=it.get("not_for"),
            )
            for it in g["items"]
        )
        groups.append(ScoringGroup(no=g["no"], label=g["label"], points=float(g["points"]), items=items))

    table = Table(
        id=data["id"],
        name=data["name"],
        sheet=data.get("sheet", data["name"]),
        title=data["title"],
        kind=kind,
        periods=tuple(data["periods"]),
        columns=tuple(columns),
        rules=[],
        capacity=rows.get("capacity", 0),
        row_source=rows.get("source"),
        fixed_rows=tuple(FixedRow(r["key"], r["label"]) for r in rows.get("fixed", [])),
        groups=tuple(groups),
        total_label=data.get("total_row") or ("合计" if kind == "scoring" else None),
        top_line=tuple(data.get("top_line", [])),
        bottom_line=tuple(data.get("bottom_line", [])),
        notes=data.get("notes", ""),
        schedule=data.get("schedule", ""),
        instructions=data.get("instructions", ""),
        source_file=file,
    )
    table.rules.extend(generic_rules(table))
    table.rules.extend(
        build_rule(r, file, f"/rules/{i}", table.id) for i, r in enumerate(data["rules"])
    )
    return table


def generic_rules(table: Table) -> list[Rule]:
    """Value rules implied by column types: numbers, dates, required fields, choice lists; and the 合计 row as
    stated equal to the sum of the rows (V07: the 自查 sees a 合计 typed over a formula, as check's D01 does)."""
    out: list[Rule] = []
    summed = [c.id for c in table.columns if c.total == "sum"] if table.has_total else []
    if summed:
        text = " and ".join(f"approx(stated.{x}, sum({x}), 0.005)" for x in summed)
        out.append(Rule(code="V07", severity="E", scope="table", table=table.id, target=f"total.{summed[0]}",
                        assertion=expr.parse(text), assertion_text=text,
                        message="合计行应等于各行之和（合计单元格被改写过，或由其他程序写入了数值）",
                        pointer="(由合计行生成)"))
    records = table.kind == "records"
    for col in table.input_columns:
        x = col.id
        made: list[tuple[str, str, str]] = []
        if col.type == "integer":
            made.append(("V01", f"isblank({x}) or (isnumber({x}) and {x} >= 0 and isint({x}))", "应填写不小于0的整数"))
        elif col.type == "decimal":
            made.append(("V02", f"isblank({x}) or (isnumber({x}) and {x} >= 0)", "应填写不小于0的数值"))
        elif col.type == "percent":
            made.append(("V03", f"isblank({x}) or isnumber({x})", "应填写数值（百分数，不带%号）"))
        elif col.type == "date":
            made.append(("V04", f"isblank({x}) or (isnumber({x}) and {x} >= 36526 and {x} < 73051)", "应填写有效日期（如 2025-09-30）"))
        elif col.type == "choice" and col.strict:
            made.append(("V06", f"isblank({x}) or oneof({x}, '{col.choices}')", "应从下拉列表中选择"))
        if col.required and records:
            made.append(("V05", f"not rowfilled() or not isblank({x})", "为必填项，本行已填写其他内容但此项为空"))
        for code, text, msg in made:
            out.append(
                Rule(
                    code=code,
                    severity="E",
                    scope="row",
                    table=table.id,
                    target=x,
                    assertion=expr.parse(text),
                    assertion_text=text,
                    message=f"“{col.label}”{msg}",
                    pointer=f"(由列 {x} 的类型生成)",
                )
            )
    return out


def build_rule(r: dict[str, Any], file: str, ptr: str, table_id: str) -> Rule:
    assertion = parse(r["assert"], file, f"{ptr}/assert")
    found = parse(r["found"], file, f"{ptr}/found") if "found" in r else None
    expected = parse(r["expected"], file, f"{ptr}/expected") if "expected" in r else None
    if found is None and expected is None and isinstance(assertion, expr.Binary) and assertion.op in expr.COMPARISONS:
        found, expected = assertion.left, assertion.right
    return Rule(
        code=r["code"],
        severity=r["severity"],
        scope=r["scope"],
        table=r.get("table", table_id),
        target=r["target"],
        assertion=assertion,
        assertion_text=r["assert"],
        message=r["message"],
        when=parse(r["when"], file, f"{ptr}/when") if "when" in r else None,
        when_text=r.get("when"),
        found=found,
        expected=expected,
        needs=tuple(r.get("needs", [])),
        sets=tuple(r.get("sets", [])),
        pointer=f"{file}#{ptr}",
    )


def pointer(path: Any) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""


_STATED = re.compile(r"记\s*(\d+(?:\.\d+)?)\s*分")


def stated_points(standard: str) -> float | None:
    found = [float(x) for x in _STATED.findall(standard)]
    return sum(found) if found else None
