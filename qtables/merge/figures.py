"""The figures of a period from the ledger: each unit's current submission, derived cells and totals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence


from qtables.figures import TOTAL_KEY
from qtables.period import Period
from qtables.spec.registry import Registry, Unit
from qtables.spec import expr
from qtables.spec.expr import EvalError, Ref
from qtables.spec.model import Table
from qtables.status import OK_STATUSES as OK
from qtables.ledger.queries import decode
from qtables.ledger.store import Ledger


class _RowsEnv:
    """Evaluate a column expression on one row (bare names) over all rows (ranges)."""

    def __init__(self, rows: Sequence[dict[str, Any]], row: dict[str, Any] | None):
        self.rows, self.row = rows, row

    def value(self, ref: Ref) -> Any:
        if self.row is None or len(ref.parts) != 1:
            raise EvalError(ref.dotted)
        return self.row.get(ref.parts[0])

    def range(self, ref: Ref) -> Sequence[Any]:
        return [r.get(ref.parts[-1]) for r in self.rows]

    def row_values(self) -> Sequence[Any]:
        return list(self.row.values()) if self.row else []

    def row_number(self) -> int:
        return 0

    def choice_values(self, name: str) -> Sequence[str]:
        return ()


def eval_node(node, rows, row) -> Any:
    try:
        value = expr.evaluate(node, _RowsEnv(rows, row))
    except EvalError:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def derive_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Fill the derived columns of one row (a county, a unit's 合计 or the 全省合计)."""
    for col in table.columns:
        if col.formula is not None:
            row[col.id] = eval_node(col.formula, [row], row)
    return row


def total_row(table: Table, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Sums of additive columns, then ratios from the sums (never a sum or mean of ratios)."""
    total: dict[str, Any] = {}
    # Tables without a 合计 row in the template (附表6) sum every numeric input when merged.
    no_total_spec = not any(c.total for c in table.columns)
    for col in table.columns:
        if col.total == "sum" or (no_total_spec and col.is_input and col.is_numeric):
            total[col.id] = sum(v for r in rows if isinstance(v := r.get(col.id), (int, float)) and not isinstance(v, bool))
    for col in table.columns:
        node = col.total_formula or col.formula
        if node is not None:
            total[col.id] = eval_node(node, rows, total)
    return total


def unit_row(table: Table, tables: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any] | None:
    """A unit's figures on one line (its 合计): from its county rows, or the total it was imported with."""
    rows = tables.get(table.id, {})
    county = [v for k, v in rows.items() if k != TOTAL_KEY]
    if county:
        return total_row(table, county)
    if TOTAL_KEY in rows:
        return derive_row(table, dict(rows[TOTAL_KEY]))
    return None


@dataclass
class UnitData:
    unit: Unit
    submission: dict[str, Any] | None  # the current accepted submission row, or None
    tables: dict[str, dict[str, dict[str, Any]]]  # table -> row key -> column -> value


def current_submissions(ledger: Ledger, period: Period) -> dict[str, dict[str, Any]]:
    """Per unit, its current submission of the period's 附表 (a 考核评分表 alone only where there is no other)."""
    out: dict[str, dict[str, Any]] = {}
    for r in ledger.current_submissions(period.code):
        if r["unit_code"] not in out or out[r["unit_code"]]["tables"] in _SCORING_ONLY:
            out[r["unit_code"]] = dict(r)
    return out


_SCORING_ONLY = ("s2", "s3", "s2,s3", "s3,s2")


def unit_values(ledger: Ledger, submission_id: int) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for c in ledger.db.execute("SELECT table_id, row_key, column_id, value FROM cells WHERE submission_id = ?", (submission_id,)):
        out.setdefault(c["table_id"], {}).setdefault(c["row_key"], {})[c["column_id"]] = decode(c["value"])
    return out


def iter_units(ledger: Ledger, registry: Registry, period: Period) -> Iterable[UnitData]:
    """One unit at a time, so that memory does not grow with the number of units."""
    current = current_submissions(ledger, period)
    for unit in registry.units:
        sub = current.get(unit.code)
        # Every current accepted submission of the unit (附表, and the 考核组's 考核评分表) gives its tables.
        values = ledger.accepted_values(unit.code, period.code) or {}
        if sub is not None and sub["status"] in OK:
            yield UnitData(unit, sub, values)
        else:
            yield UnitData(unit, sub, {t: v for t, v in values.items() if t in ("s2", "s3")})
