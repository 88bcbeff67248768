"""Load the declarative spec, validate it, and fail with the JSON pointer of a fault.

The spec is ``schemas/spec.json`` (version, table sets, choice lists,
cross-table rules) plus one ``schemas/tables/<id>.json`` per table.  Both are
validated by ``schemas/spec.schema.json``; then every expression is parsed and
every name it uses is resolved, so that a typo in a rule stops the load with
the file and pointer of the typo instead of surfacing as a wrong verdict later.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from qtables.errors import ExpressionError, SpecError
from qtables.spec import expr
from qtables.spec.model import (
    Choice,
    Column,
    FixedRow,
    Rule,
    ScoringGroup,
    ScoringItem,
    Spec,
    Table,
)

SCHEMA_FILE = "spec.schema.json"
INDEX_FILE = "spec.json"

# Names usable in expressions besides column ids.
_PERIOD_CONSTANTS = {"start", "end"}
_QUARTER_AGGREGATES = re.compile(r"^(sum|q4)_[a-z][a-z0-9_]*$")


def default_spec_dir() -> Path:
    """The spec shipped with qtables (works from a checkout and from a wheel)."""
    return Path(str(resources.files("qtables.schemas")))


def _pointer(path: Any) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("文件不存在", file=str(path), code="S003") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"无法读取（{exc.__class__.__name__}）", file=str(path), code="S003") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"不是合法的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}", file=str(path), code="S004"
        ) from None


class _Validator:
    def __init__(self, schema: dict[str, Any]):
        self.schema = schema

    def check(self, data: Any, definition: str, file: str) -> None:
        schema = {k: v for k, v in self.schema.items() if k != "anyOf"}
        schema["$ref"] = f"#/$defs/{definition}"
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(data), key=lambda e: (len(list(e.absolute_path)), str(e.absolute_path)))
        if errors:
            err = jsonschema.exceptions.best_match(errors) or errors[0]
            raise SpecError(_schema_message(err), file=file, pointer=_pointer(err.absolute_path), code="S005")


def _schema_message(err: jsonschema.ValidationError) -> str:
    v = err.validator
    if v == "required":
        missing = [p for p in err.validator_value if isinstance(err.instance, dict) and p not in err.instance]
        return f"缺少必填项 {', '.join(missing)}"
    if v == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {}))) if isinstance(err.instance, dict) else []
        return f"含有不认识的项 {', '.join(extra)}"
    if v == "enum":
        return f"取值 {json.dumps(err.instance, ensure_ascii=False)} 不在允许的范围 {err.validator_value} 内"
    if v == "type":
        return f"类型应为 {err.validator_value}，实际为 {json.dumps(err.instance, ensure_ascii=False)[:60]}"
    if v == "pattern":
        return f"取值 {json.dumps(err.instance, ensure_ascii=False)} 不符合格式 {err.validator_value}"
    return f"不符合规格结构（{v}）：{err.message[:200]}"


def load_spec(spec_dir: str | Path | None = None) -> Spec:
    """Load and validate the whole spec. Raises SpecError naming file and JSON pointer."""
    root = Path(spec_dir) if spec_dir is not None else default_spec_dir()
    if spec_dir is None:
        return _load_default()
    return _load(root)


@lru_cache(maxsize=1)
def _load_default() -> Spec:
    return _load(default_spec_dir())


def _load(root: Path) -> Spec:
    schema = _read_json(root / SCHEMA_FILE)
    validator = _Validator(schema)
    index_path = root / INDEX_FILE
    index = _read_json(index_path)
    validator.check(index, "index", str(index_path))
    digest = hashlib.sha256()
    digest.update(index_path.read_bytes())

    choices = {
        cid: Choice(cid, c["label"], tuple(c["values"])) for cid, c in index["choices"].items()
    }
    tables: dict[str, Table] = {}
    raw_tables: dict[str, tuple[str, dict[str, Any]]] = {}
    for i, tid in enumerate(index["tables"]):
        path = root / "tables" / f"{tid}.json"
        data = _read_json(path)
        validator.check(data, "table", str(path))
        digest.update(path.read_bytes())
        if data["id"] != tid:
            raise SpecError(f"表编号 {data['id']} 与文件名 {tid} 不一致", file=str(path), pointer="/id", code="S006")
        raw_tables[tid] = (str(path), data)
        tables[tid] = _build_table(data, str(path), choices)

    for name, ids in index["sets"].items():
        for j, tid in enumerate(ids):
            if tid not in tables:
                raise SpecError(
                    f"表组 {name} 引用了不存在的表 {tid}", file=str(index_path), pointer=f"/sets/{name}/{j}", code="S006"
                )

    workbook_rules = [
        _build_rule(r, str(index_path), f"/rules/{i}", r["table"]) for i, r in enumerate(index["rules"])
    ]
    spec = Spec(
        version=index["version"],
        title=index["title"],
        tables=tables,
        sets={k: tuple(v) for k, v in index["sets"].items()},
        choices=choices,
        workbook_rules=workbook_rules,
        warnings=[],
        raw_digest=digest.hexdigest(),
    )
    _resolve_all(spec, raw_tables, str(index_path))
    spec.warnings.extend(_lint_scoring(spec))
    return spec


def _parse(text: str, file: str, pointer: str) -> expr.Node:
    try:
        return expr.parse(text)
    except ExpressionError as exc:
        raise SpecError(exc.message, file=file, pointer=pointer, code="S002") from None


def _build_table(data: dict[str, Any], file: str, choices: dict[str, Choice]) -> Table:
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
                formula=_parse(c["formula"], file, f"{ptr}/formula") if "formula" in c else None,
                formula_text=c.get("formula"),
                total=c.get("total"),
                total_formula=_parse(c["total_formula"], file, f"{ptr}/total_formula")
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
                stated_points=_stated_points(it["standard"]),
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
        source_file=file,
    )
    table.rules.extend(_generic_rules(table))
    table.rules.extend(
        _build_rule(r, file, f"/rules/{i}", table.id) for i, r in enumerate(data["rules"])
    )
    return table


def _generic_rules(table: Table) -> list[Rule]:
    """Value rules implied by column types: numbers, dates, required fields, choice lists."""
    out: list[Rule] = []
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


def _build_rule(r: dict[str, Any], file: str, ptr: str, table_id: str) -> Rule:
    assertion = _parse(r["assert"], file, f"{ptr}/assert")
    found = _parse(r["found"], file, f"{ptr}/found") if "found" in r else None
    expected = _parse(r["expected"], file, f"{ptr}/expected") if "expected" in r else None
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
        when=_parse(r["when"], file, f"{ptr}/when") if "when" in r else None,
        when_text=r.get("when"),
        found=found,
        expected=expected,
        needs=tuple(r.get("needs", [])),
        sets=tuple(r.get("sets", [])),
        pointer=f"{file}#{ptr}",
    )


def _resolve_all(spec: Spec, raw_tables: dict[str, tuple[str, dict[str, Any]]], index_file: str) -> None:
    """Check that every name an expression uses exists, and codes are unique."""
    codes: dict[str, str] = {}
    for tid, table in spec.tables.items():
        file = raw_tables[tid][0]
        for i, col in enumerate(table.columns):
            for key, node in (("formula", col.formula), ("total_formula", col.total_formula)):
                if node is not None:
                    _check_refs(spec, table, node, (), file, f"/columns/{i}/{key}")
        custom = [r for r in table.rules if not r.pointer.startswith("(")]
        for i, rule in enumerate(custom):
            _check_rule(spec, table, rule, file, f"/rules/{i}", codes)
    for i, rule in enumerate(spec.workbook_rules):
        if rule.table not in spec.tables:
            raise SpecError(f"规则引用了不存在的表 {rule.table}", file=index_file, pointer=f"/rules/{i}/table", code="S006")
        _check_rule(spec, spec.tables[rule.table], rule, index_file, f"/rules/{i}", codes)


def _check_rule(spec: Spec, table: Table, rule: Rule, file: str, ptr: str, codes: dict[str, str]) -> None:
    if rule.code in codes:
        raise SpecError(f"规则代码 {rule.code} 与 {codes[rule.code]} 重复", file=file, pointer=f"{ptr}/code", code="S007")
    codes[rule.code] = f"{file}#{ptr}"
    for key, node in (("assert", rule.assertion), ("when", rule.when), ("found", rule.found), ("expected", rule.expected)):
        if node is not None:
            _check_refs(spec, table, node, rule.needs, file, f"{ptr}/{key}", scope=rule.scope)
    target = rule.target.split(".")
    ok = (
        (len(target) == 1 and table.has_column(target[0]))
        or (len(target) == 2 and target[0] == "total" and table.has_total and table.has_column(target[1]))
        or (len(target) == 2 and target[0] in {r.key for r in table.fixed_rows} and table.has_column(target[1]))
    )
    if not ok:
        raise SpecError(f"规则定位单元格 {rule.target} 在表 {table.name} 中不存在", file=file, pointer=f"{ptr}/target", code="S008")


def _check_refs(
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
        problem = _ref_problem(spec, table, ref, as_range, needs, scope)
        if problem:
            raise SpecError(f"表达式中的名称 {ref.dotted} {problem}", file=file, pointer=ptr, code="S002")
    for arg_node in _oneof_lists(node):
        if arg_node not in spec.choices:
            raise SpecError(f"oneof() 引用了未定义的选项表 {arg_node}", file=file, pointer=ptr, code="S002")


def _oneof_lists(node: expr.Node) -> list[str]:
    out: list[str] = []
    if isinstance(node, expr.Call):
        if node.name == "oneof" and isinstance(node.args[1], expr.Str):
            out.append(node.args[1].value)
        for a in node.args:
            out.extend(_oneof_lists(a))
    elif isinstance(node, expr.Unary):
        out.extend(_oneof_lists(node.operand))
    elif isinstance(node, expr.Binary):
        out.extend(_oneof_lists(node.left) + _oneof_lists(node.right))
    return out


def _ref_problem(
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
        return None if len(p) == 2 and _QUARTER_AGGREGATES.match(p[1]) else "应为 q.sum_<列> 或 q.q4_<列>"
    if p[0] == "total":
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


_STATED = re.compile(r"记\s*(\d+(?:\.\d+)?)\s*分")


def _stated_points(standard: str) -> float | None:
    found = [float(x) for x in _STATED.findall(standard)]
    return sum(found) if found else None


def _lint_scoring(spec: Spec) -> list[str]:
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
