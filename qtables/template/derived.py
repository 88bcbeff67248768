"""The template's formula cells computed in Python: derived columns, totals, subtotals, and a blank template's values.

``compute_derived`` fills the cells the template computes by formula (合计, 质量备案率, 小计 …)
exactly as the Excel formulas compiled from the same expressions do; ``blank_data`` is what a
freshly issued template holds.  The rules over these values are in ``rules``.
"""

from __future__ import annotations

import itertools
from typing import Any

from qtables.period import Period
from qtables.spec import expr
from qtables.spec.expr import EvalError
from qtables.spec.expr.compiled import compile_node, empty_row_form
from qtables.spec.memo import per_object
from qtables.spec.model import Spec
from qtables.template.layout import TableLayout
from qtables.template.rules import TableData, WorkbookData, _Env, _row_dependent, _safe


def compute_derived(data: WorkbookData) -> None:
    """Fill every formula cell (derived columns, totals, subtotals) in place."""
    for td in data.tables.values():
        table = td.table
        formulas = [(col.id, compile_node(col.formula)) for col in table.columns if col.formula is not None]
        if formulas and td.rows:
            env = _Env(data, table.id, 0, "row")
            same_empty = table.kind == "records" and not any(_row_dependent(empty_row_form(col.formula))
                                                              for col in table.columns if col.formula is not None)
            filled, empty = td.split_rows() if same_empty else (range(len(td.rows)), [])
            # Every empty row computes what the first does; where no formula reads another row (a range),
            # the order rows are computed in does not matter, so the empty ones are copied after the rest.
            if empty and any(_reads_range(col.formula) for col in table.columns if col.formula is not None):
                filled, empty = range(len(td.rows)), []
            rows = td.rows
            for i in itertools.chain(filled, empty[:1]):
                row = rows[i]
                env.at(i)
                for cid, fn in formulas:
                    try:
                        row[cid] = fn(env)
                    except EvalError:
                        row[cid] = None
            if len(empty) > 1:
                first_empty = {cid: rows[empty[0]][cid] for cid, _fn in formulas}
                for i in empty[1:]:
                    rows[i].update(first_empty)
        if table.kind == "scoring":
            _scoring_totals(td)
            continue
        if not table.has_total:
            continue
        total: dict[str, Any] = {}
        td.total = total
        for col in table.columns:
            if col.total == "sum":
                total[col.id] = sum(
                    v for v in td.column(col.id) if isinstance(v, (int, float)) and not isinstance(v, bool)
                )
        env = _Env(data, table.id, None, "total")
        for col in table.columns:
            node = col.total_formula or col.formula
            if node is not None:
                total[col.id] = _safe(node, env)


@per_object
def _reads_range(node: expr.Node) -> bool:
    """Whether a formula reads a whole column (so one row's value may depend on the others)."""
    return any(expr.uses_function(node, name) for name in ("sum", "count", "sumproduct", "filledweight", "counteq", "countbetween", "countbetweenif"))


@per_object
def derived_reads_other_period(spec: Spec) -> bool:
    """Whether any formula cell of the spec reads the previous period or the quarters."""
    nodes = [n for t in spec.tables.values() for c in t.columns for n in (c.formula, c.total_formula) if n is not None]
    return any(ref.parts[0] in ("prev", "q") for n in nodes for ref, _ in expr.refs(n))


def _scoring_totals(td: TableData) -> None:
    score_of = {layout_row.key: row.get("score") for layout_row, row in zip(td.layout.rows, td.rows)}
    first_in_group: set[str] = set()
    for group in td.table.groups:
        first_in_group.add(group.items[0].key)
    for layout_row, row in zip(td.layout.rows, td.rows):
        if layout_row.key in first_in_group:
            group = next(g for g in td.table.groups if g.items[0].key == layout_row.key)
            row["subtotal"] = sum(_num0(score_of[it.key]) for it in group.items)
        else:
            row["subtotal"] = None
        row["points"] = layout_row.points
    td.total = {
        "points": sum(_num0(r.points) for r in td.layout.rows),
        "score": sum(_num0(v) for v in score_of.values()),
        "subtotal": sum(_num0(r.get("subtotal")) for r in td.rows),
    }


def _num0(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def blank_data(spec: Spec, period: Period, layouts: list[TableLayout]) -> WorkbookData:
    """The values of a freshly issued template: labels only, every input blank."""
    tables: dict[str, TableData] = {}
    for layout in layouts:
        rows = []
        for i, r in enumerate(layout.rows):
            row: dict[str, Any] = {}
            for col in layout.table.columns:
                if col.role == "seq" and col.type == "key":
                    row[col.id] = i + 1
                elif col.role == "label":
                    row[col.id] = r.label
            rows.append(row)
        tables[layout.table.id] = TableData(layout, rows)
    return WorkbookData(spec, period, tables)
