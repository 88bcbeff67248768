"""The Python runtime of the spec's rules over a workbook's figures.

A workbook's values are held as ``WorkbookData``: per table, one dict of
column values per data row (its formula cells filled by ``derived``).
``run_rules`` evaluates every rule and says, per rule and row, pass or fail
with the value found and expected; asked for failures only, a table's plain
row rules run in one generated loop (``spec.expr.rowgen``).
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from typing import Any, Sequence

from qtables.figures import TOTAL_KEY
from qtables.template.layout import TableLayout
from qtables.period import Period, excel_serial
from qtables.spec import expr
from qtables.spec.expr import EvalError, Ref
from qtables.spec.expr.compiled import compile_node
from qtables.spec.expr.rowgen import row_checker, table_checker
from qtables.spec.memo import per_object
from qtables.spec.model import Rule, Spec, Table


@dataclass
class TableData:
    layout: TableLayout
    rows: list[dict[str, Any]]
    total: dict[str, Any] = field(default_factory=dict)
    known_empty: frozenset[int] = frozenset()  # rows the reader already saw empty (a hint, not re-examined)
    # The 合计 row as the file holds it (``stated.x`` in a rule): a 合计 typed over, or written by another program,
    # differs from ``total`` (computed from the rows).  Empty when not read from a file; a cell without a cached
    # value reads as the computed total (a spreadsheet would recalculate it).
    stated: dict[str, Any] = field(default_factory=dict)
    _split: tuple[list[int], list[int]] | None = field(default=None, repr=False)

    @property
    def table(self):
        return self.layout.table

    def column(self, column_id: str) -> list[Any]:
        """A column's values for the aggregates (sum, count, counteq …), which do not depend on the order of the
        rows: a detail table's filled rows come first, then its empty rows — in an input column that an untyped
        cell leaves blank, one blank value repeated.  Every column of a table is in that same order, so two
        columns paired row by row (sumproduct, filledweight) still pair the same rows."""
        if self.table.kind == "records":
            filled, empty = self.split_rows()
            if len(empty) > 1:
                rows = self.rows
                head = [rows[i].get(column_id) for i in filled]
                if column_id in _blank_when_empty(self.table):
                    return head + [rows[empty[0]].get(column_id)] * len(empty)
                return head + [rows[i].get(column_id) for i in empty]
        return list(map(operator.methodcaller("get", column_id), self.rows))

    def split_rows(self) -> tuple[list[int], list[int]]:
        """Indexes of rows with any input typed, and of rows with none (computed once)."""
        if self._split is not None:
            return self._split
        inputs = self.table.input_ids
        rows = self.rows
        # Only the rows not already known to be empty are looked at (set arithmetic, then a few rows).
        known = self.known_empty
        unknown = sorted(set(range(len(rows))).difference(known)) if known else range(len(rows))
        filled, blank = [], []
        for i in unknown:
            row = rows[i]
            (filled if any(not expr._blank(row.get(c)) for c in inputs) else blank).append(i)
        empty = sorted(known.union(blank)) if blank else sorted(known)
        self._split = (filled, empty)
        return self._split


@per_object
def _blank_when_empty(table: Table) -> frozenset[str]:
    """The input columns an untyped cell leaves blank (not 0): on every empty row of a table they are all blank."""
    return frozenset(c.id for c in table.input_columns if not (c.blank == "zero" and c.is_numeric))


@dataclass
class WorkbookData:
    spec: Spec
    period: Period
    tables: dict[str, TableData]
    previous: dict[str, dict[str, dict[str, Any]]] | None = None  # table id -> row key -> values
    quarters: dict[str, dict[str, dict[str, Any]]] | None = None  # table id -> row key -> q.* values

    @property
    def available(self) -> set[str]:
        out = set()
        if self.previous:
            out.add("previous")
        if self.quarters:
            out.add("quarters")
        return out


class _Env:
    """Resolves references for one table, in a row, the total row, or table scope.

    One environment serves every row of a table: ``at(i)`` moves it (rules and
    derived cells are evaluated row after row without building a new object).
    """

    __slots__ = ("data", "td", "row", "mode", "own", "columns")

    def __init__(self, data: WorkbookData, table_id: str, row: int | None, mode: str,
                 columns: dict[tuple[str, str], list[Any]] | None = None):
        self.data = data
        self.td = data.tables[table_id]
        self.columns = columns  # a cache of whole columns, valid while the values do not change
        self.row = row
        self.mode = mode  # "row", "total" or "table"
        self.own: dict[str, Any] | None = None
        if mode == "row":
            self.own = self.td.rows[row]  # type: ignore[index]
        elif mode == "total":
            self.own = self.td.total

    def at(self, row: int) -> "_Env":
        self.row = row
        self.own = self.td.rows[row]
        return self

    def value(self, ref: Ref) -> Any:
        p = ref.parts
        if len(p) == 1:
            own = self.own
            if own is None:
                raise EvalError("表级规则不能直接引用逐行的列")
            return own.get(p[0])
        if p[0] == "total":
            return self.td.total.get(p[1])
        if p[0] == "stated":
            value = self.td.stated.get(p[1])
            return self.td.total.get(p[1]) if value is None else value
        if p[0] == "period":
            return excel_serial(self.data.period.start if p[1] == "start" else self.data.period.end)
        if p[0] == "prev":
            return self._row_keyed(self.data.previous, p[1])
        if p[0] == "q":
            return self._row_keyed(self.data.quarters, p[1])
        other = self.data.tables.get(p[0])
        if other is None:
            raise EvalError(f"本工作簿没有表 {p[0]}")
        if p[1] == "total":
            return other.total.get(p[2])
        key = other.layout.own_key if p[1] == "own" else p[1]
        if p[1] == "own" and key is None:
            return 0.0  # no row of the unit itself: nothing of its own
        for layout_row, values in zip(other.layout.rows, other.rows):
            if layout_row.key == key:
                return values.get(p[2])
        raise EvalError(f"表 {p[0]} 没有行 {p[1]}")

    def _row_keyed(self, source: dict | None, column_id: str) -> Any:
        if not source or self.mode == "table":
            raise EvalError("缺少上期或各季度数据")
        key = TOTAL_KEY if self.mode == "total" else self.td.layout.rows[self.row].key  # type: ignore[index]
        return source.get(self.td.table.id, {}).get(key, {}).get(column_id)

    def range(self, ref: Ref) -> Sequence[Any]:
        p = ref.parts
        td = self.td if len(p) == 1 else self.data.tables.get(p[0])
        if td is None:
            raise EvalError(f"本工作簿没有表 {p[0]}")
        column_id = p[0] if len(p) == 1 else p[1]
        if self.columns is None:
            return td.column(column_id)
        key = (td.table.id, column_id)
        got = self.columns.get(key)
        if got is None:
            got = self.columns[key] = td.column(column_id)
        return got

    def row_values(self) -> Sequence[Any]:
        if self.own is None:
            raise EvalError("表级规则不能直接引用逐行的列")
        own = self.own
        return [own.get(c) for c in self.td.table.input_ids]

    def row_number(self) -> int:
        return (self.row or 0) + 1

    def choice_values(self, name: str) -> Sequence[str]:
        return self.data.spec.choices[name].values


def _safe(node: expr.Node | None, env: _Env) -> Any:
    if node is None:
        return None
    try:
        return compile_node(node)(env)
    except EvalError:
        return None


@dataclass(slots=True)
class Result:
    rule: Rule
    status: str  # "pass", "fail" or "na" (needs data the workbook does not have)
    row: int | None = None  # index into the table's data rows (None: table scope)
    found: Any = None
    expected: Any = None
    error: str | None = None
    at_total: bool = False  # a row rule evaluated on the 合计 row (the other period is known only in total)


@per_object
def quarter_names(rule: Rule) -> frozenset[str]:
    """The q.* values a rule reads (sum_new_count, q1_carried_count …)."""
    nodes = [n for n in (rule.assertion, rule.when, rule.found, rule.expected) if n is not None]
    return frozenset(ref.parts[1] for n in nodes for ref, _r in expr.refs(n) if ref.parts[0] == "q" and len(ref.parts) == 2)


def run_rule(rule: Rule, data: WorkbookData, columns: dict | None = None, passes: bool = True,
             plain: tuple[list[int], bool] | None = None) -> list[Result]:
    """The rule's results: per row (or once for a table rule) pass, fail or na.  ``passes=False``: rows that
    pass get no result object (a workbook passes ~1,000 row checks; the checker reports failures only);
    ``plain``: a plain rule's failing rows and whether the first empty row fails, from its table's generated loop."""
    failing = plain[0] if plain is not None else None
    if rule.table not in data.tables:
        return []
    if set(rule.needs) - data.available:
        return [Result(rule, "na")]
    td = data.tables[rule.table]
    if rule.scope == "table":
        return [_one(rule, _Env(data, rule.table, None, "table", columns), None)]
    env = _Env(data, rule.table, None, "table", columns)
    other_period = "previous" if "previous" in rule.needs else "quarters" if "quarters" in rule.needs else None
    if other_period:
        # Row by row where the other period has the rows; on the 合计 row where it has only the total
        # (an imported master with one row per unit).  Rows it lacks are reported by the checker.
        source = data.previous if other_period == "previous" else data.quarters
        known = (source or {}).get(rule.table, {})
        if other_period == "quarters" and known and not quarter_names(rule) <= next(iter(known.values())).keys():
            return [Result(rule, "na")]  # the quarters at hand do not give what this rule compares (A00 says so)
        rows = [i for i, r in enumerate(td.layout.rows) if r.key in known]
        if rows:
            env.mode = "row"
            return _rows(rule, env, rows, passes)
        if TOTAL_KEY in known and td.table.has_total:
            return [dataclasses.replace(_one(rule, _Env(data, rule.table, None, "total", columns), None), at_total=True)]
        return [Result(rule, "na")]
    env.mode = "row"
    if td.table.kind != "records" or _uses_rownum(rule.assertion) or _uses_rownum(rule.when):
        return _rows(rule, env, range(len(td.rows)) if failing is None else failing, passes, failing_only=failing is not None)
    # Detail tables are mostly empty rows, and every empty row gets the same
    # verdict: evaluate the filled rows and one empty row; only if that one
    # fails are the other empty rows reported too (passes are not listed).
    filled, empty = td.split_rows()
    out = _rows(rule, env, filled if failing is None else failing, passes, filled=True, failing_only=failing is not None)
    if empty and (passes or (plain[1] if plain is not None else row_checker(rule.when, rule.assertion)(env, td.rows, empty[:1]))):
        first = _one(rule, env.at(empty[0]), empty[0])
        if passes or first.status == "fail":
            out.append(first)
        if first.status == "fail":
            out.extend(dataclasses.replace(first, row=i) for i in empty[1:])
    return out


@per_object
def _row_dependent(node: expr.Node) -> bool:
    """Whether a formula can differ between two rows with the same values (row number, other periods)."""
    return _uses_rownum(node) or any(ref.parts[0] in ("prev", "q") for ref, _ in expr.refs(node))


@per_object
def _uses_rownum(node: expr.Node | None) -> bool:
    return node is not None and expr.uses_function(node, "rownum")


def _one(rule: Rule, env: _Env, row: int | None) -> Result:
    when = compile_node(rule.when) if rule.when is not None else None
    return _verdict(rule, when, compile_node(rule.assertion), env, row)


def _verdict(rule: Rule, when: Any, assertion: Any, env: _Env, row: int | None, passes: bool = True) -> Result | None:
    """The rule on the row ``env`` stands on; a pass is None when ``passes`` is False."""
    truth = expr.truth
    try:
        ok = (when is not None and not truth(when(env))) or truth(assertion(env))
        error = None
    except EvalError as exc:
        ok, error = False, str(exc)
    if ok:
        return Result(rule, "pass", row) if passes else None
    return Result(rule, "fail", row, _safe(rule.found, env), _safe(rule.expected, env), error)


def _rows(rule: Rule, env: _Env, rows: Any, passes: bool = True, *, filled: bool = False, failing_only: bool = False) -> list[Result]:
    """The rule on each of the given rows (``filled``: rows known to hold input), the compiled expressions
    looked up once.  Failures only (``passes=False``): the rule's generated row checker finds the rows that
    do not pass (``failing_only``: ``rows`` are those already), and only those are evaluated again for their finding."""
    when = compile_node(rule.when) if rule.when is not None else None
    assertion = compile_node(rule.assertion)
    if not passes and not failing_only:
        rows = row_checker(rule.when, rule.assertion, filled=filled)(env, env.td.rows, rows)
    results = (_verdict(rule, when, assertion, env.at(i), i, passes) for i in rows)
    return [r for r in results if r is not None]


def run_rules(rules: list[Rule], data: WorkbookData, *, passes: bool = True) -> list[Result]:
    out: list[Result] = []
    columns: dict = {}  # whole columns, read once for every rule of this run
    failing = {} if passes else _plain_failures(rules, data, columns)
    for rule in rules:
        plain = failing.get(id(rule))
        if plain is not None and not plain[0] and not plain[1]:
            continue  # a plain rule that no row fails
        results = run_rule(rule, data, columns, passes, plain)
        out.extend(results if passes else (r for r in results if r.status != "pass"))
    return out


def _plain(rule: Rule, data: WorkbookData) -> bool:
    """A row rule evaluated on its table's own rows (filled rows of a detail table, every row of another)."""
    td = data.tables.get(rule.table)
    return (td is not None and rule.scope == "row" and not rule.needs
            and not (td.table.kind == "records" and (_uses_rownum(rule.assertion) or _uses_rownum(rule.when))))


def _plain_failures(rules: list[Rule], data: WorkbookData, columns: dict) -> dict[int, tuple[list[int], bool]]:
    """Every plain row rule's failing rows (and, for a detail table, whether its first empty row fails), each
    table's rules in one generated loop (rowgen)."""
    by_table: dict[str, list[Rule]] = {}
    for rule in rules:
        if _plain(rule, data):
            by_table.setdefault(rule.table, []).append(rule)
    out: dict[int, tuple[list[int], bool]] = {}
    for tid, group in by_table.items():
        td = data.tables[tid]
        records = td.table.kind == "records"
        rows = td.split_rows()[0] if records else range(len(td.rows))
        env = _Env(data, tid, None, "table", columns)
        env.mode = "row"  # moved from row to row by the generated loop
        tests = [(r.when, r.assertion) for r in group]
        bad = table_checker(tests, filled=records)(env, td.rows, rows)
        empty = td.split_rows()[1] if records else []
        # A detail table's empty rows all get the verdict of the first (see run_rule): asked of all rules at once.
        on_empty = table_checker(tests)(env, td.rows, empty[:1]) if empty else [[] for _ in group]
        out.update((id(rule), (failed, bool(e))) for rule, failed, e in zip(group, bad, on_empty))
    return out
