"""Header layouts a clerk's hand-made 附表5/附表7 may have, generated: each imports every value exactly, or is refused
naming its problem — never a wrong value, never a silent partial import.

The grids are what the guarded readers hand over (a merged label in its top-left cell, blanks elsewhere), so the
header tree and the row classification are exercised directly; test_import_variants reads real files.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtables.read.headers import find_header
from qtables.merge.importer import ImportPlan, _header_problem, _read_rows
from qtables.spec import load_spec
from qtables.spec.registry import load_registry

SPEC = load_spec()
REGISTRY = load_registry()
NOTES = ["统计员：张伟", "批准人：", "报送日期：2025年7月5日", "填表人：李娜", "填表日期：2025-07-05", "注：面积单位为万平方米。",
         "填表说明：1、在建工程：已办理监督注册手续但未进行竣工验收的工程。", "2、竣工工程：已通过竣工验收的工程。",
         "单位（公章）：", "说明：本表数据截至季度末。"]


def _groups(table):
    out = []
    for col in table.columns:
        if col.type == "key":
            continue
        if out and out[-1][0] == col.header[0] and len(col.header) > 1:
            out[-1][1].append(col)
        else:
            out.append((col.header[0], [col]))
    return out


def _noise(rng: random.Random, text: str) -> str:
    """Line breaks and spaces anywhere inside a label, full-width brackets or half-width ones."""
    text = text.replace("\n", rng.choice(["", "\n", " "]))
    if rng.random() < 0.3 and len(text) > 2:
        i = rng.randrange(1, len(text))
        text = text[:i] + rng.choice(["\n", " ", "\u3000"]) + text[i:]
    if rng.random() < 0.3:
        text = text.replace("（", "(").replace("）", ")")
    return text


@st.composite
def layouts(draw):
    table = SPEC.table(draw(st.sampled_from(["t5", "t7"])))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    groups = _groups(table)
    if draw(st.booleans()):
        rng.shuffle(groups)
    damage = draw(st.sampled_from([None] * 6 + ["drop_group", "duplicate_group", "wrong_unit"]))
    if damage == "drop_group":
        groups = groups[:2] + groups[3:]
    elif damage == "duplicate_group":
        groups = groups + [groups[0]]
    group_rows = [rng.choice([1, 1, 2, 2, 3]) for _ in groups]
    leaf_rows = draw(st.sampled_from([1, 1, 2]))
    depth = max(group_rows) + leaf_rows
    merged = draw(st.booleans())
    title = draw(st.integers(0, 3))
    seq_in_name = draw(st.booleans())
    beside = draw(st.booleans())  # a column of other text (备注) right of the block
    width = 2 + sum(len(c) for _g, c in groups) + (1 if beside else 0)
    grid: list[list] = []
    for t in range(title):
        grid.append([["河南省建设工程质量监督统计表", "填表单位（盖章）：", "（单位：万㎡、万元）"][t % 3]] + [None] * (width - 1))
    top = len(grid)
    block = [[None] * width for _ in range(depth)]
    block[0][0] = _noise(rng, "市、县（市）序号" if seq_in_name else "序号")
    if not seq_in_name:
        block[0][1] = _noise(rng, "市、县（市）名称")
    c = 2
    wrong_done = False
    for (group, cols), rows in zip(groups, group_rows):
        label = _noise(rng, group)
        leafless = len(cols) == 1 and len(cols[0].header) == 1
        span = range(c, c + len(cols))
        for k in span:
            if merged and k != c:
                continue
            block[0][k] = label
        if not leafless:
            for k, col in zip(span, cols):
                leaf = col.header[-1]
                if damage == "wrong_unit" and not wrong_done and "万㎡" in leaf:
                    leaf, wrong_done = leaf.replace("万㎡", "㎡"), True
                if leaf_rows == 2 and "\n" in leaf:
                    a, b = leaf.split("\n", 1)
                    block[rows][k], block[rows + 1][k] = a, b
                else:
                    block[rows][k] = _noise(rng, leaf)
        c += len(cols)
    if beside:
        block[0][width - 1] = "备注"
    grid += block
    values: dict[str, dict[str, float]] = {}
    columns = [col for _g, cols in groups for col in cols]
    for n, unit in enumerate(REGISTRY.units, start=1):
        row: list = [f"{n} {unit.name}" if seq_in_name else n, None if seq_in_name else unit.name]
        vals = {}
        for col in columns:
            v = rng.randint(0, 900) if col.type == "integer" else round(rng.uniform(0, 999), 2)
            vals[col.id] = v
            row.append(v)
        if beside:
            row.append(rng.choice([None, "已核实", "含功能区"]))
        values[unit.name] = vals
        grid.append(row)
    grid.append([None, "合计"] + [round(sum(values[u.name][col.id] for u in REGISTRY.units), 6) for col in columns]
                + ([None] if beside else []))
    for line in rng.sample(NOTES, k=rng.randint(0, 4)):
        spread = rng.random() < 0.5 and line.startswith("统计员")
        grid.append(["统计员：", None, None, None, "批准人：", None, None, "报送日期："] + [None] * (width - 8) if spread
                    else [line] + [None] * (width - 1))
    return table, grid, values, damage, top


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(layouts())
def test_a_generated_header_layout_imports_exactly_or_is_refused_naming_the_problem(case):
    table, grid, values, damage, _top = case
    match = find_header(grid, table)
    assert match is not None
    if damage is not None:
        assert not match.complete, damage
        text = _header_problem(match, table, "x.xlsx")
        assert {"drop_group": "缺少", "duplicate_group": "有歧义", "wrong_unit": "单位不符"}[damage] in text
        return
    assert match.complete, _header_problem(match, table, "x.xlsx")
    plan = ImportPlan(None, table, "Sheet1", "official", match)  # type: ignore[arg-type]
    _read_rows(plan, grid, list(REGISTRY.units), REGISTRY.units)
    assert plan.problems == [], plan.problems
    by_name = {u.name: u for u in REGISTRY.units}
    for name, vals in values.items():
        unit = by_name[name]
        [got] = plan.rows[unit.code].values()
        assert got == vals, name
