"""What the data say for one period, for the drafted 分析报告: the same figures as the master (``merge.figures``:
each unit's accepted current submission, its 合计 by ``unit_row``, sums and ratios by ``total_row``), read in one
snapshot of the ledger, with the comparisons the report writes (vs the previous period and the same period last
year, like for like) and every unit left out named with why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from qtables.figures import TOTAL_KEY
from qtables.ledger.store import Ledger
from qtables.merge.figures import iter_units, total_row, unit_row
from qtables.period import Period
from qtables.spec import Spec
from qtables.spec.model import Table
from qtables.spec.registry import Registry, Unit
from qtables.merge.quality import UnitFigures, ranked
from qtables.status import STATUS_TEXT, period_status, timing


@dataclass
class PeriodFigures:
    period: Period
    table: Table  # 附表5 (quarter) or 附表7 (year)
    rows: dict[str, dict[str, Any]]  # unit code -> its 合计 row
    units: dict[str, Unit]
    records: dict[str, dict[str, list[dict[str, Any]]]]  # table -> unit code -> rows (附表1–4)
    categories: dict[str, list[dict[str, Any]]]  # 附表6 row key -> the units' rows

    def total(self, codes: list[str] | None = None) -> dict[str, Any]:
        picked = [r for c, r in self.rows.items() if codes is None or c in codes]
        return total_row(self.table, picked) if picked else {}

    def for_index(self) -> UnitFigures:
        return UnitFigures(self.rows, {c: u.name for c, u in self.units.items()},
                           {c: len(rows) for c, rows in self.records["t1"].items()})


@dataclass
class Facts:
    period: Period
    scope: str
    now: PeriodFigures
    previous: PeriodFigures | None
    last_year: PeriodFigures | None
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (unit name, why)
    status: dict[str, Any] = field(default_factory=dict)
    quality: list[Any] = field(default_factory=list)  # merge.quality.Score per unit, ranked

    @property
    def total(self) -> dict[str, Any]:
        return self.now.total()

    def change(self, other: PeriodFigures | None, column: str) -> tuple[float, float, float | None, int] | None:
        """(now, then, % change or None, units compared) over the units with figures in both periods."""
        if other is None:
            return None
        common = sorted(set(self.now.rows) & set(other.rows))
        if not common:
            return None
        a, b = self.now.total(common).get(column), other.total(common).get(column)
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return None
        return a, b, (a - b) / b * 100 if b else None, len(common)


def period_figures(ledger: Ledger, registry: Registry, spec: Spec, period: Period) -> PeriodFigures:
    table = spec.table("t7" if period.kind == "year" else "t5")
    rows, units, records, categories = {}, {}, {t: {} for t in ("t1", "t2", "t3", "t4")}, {}
    for data in iter_units(ledger, registry, period):
        if table.id not in data.tables:
            continue
        row = unit_row(table, data.tables)
        if row is None:
            continue
        rows[data.unit.code], units[data.unit.code] = row, data.unit
        for t in records:
            records[t][data.unit.code] = [v for k, v in data.tables.get(t, {}).items() if k != TOTAL_KEY]
        for key, values in data.tables.get("t6", {}).items():
            categories.setdefault(key, []).append(values)
    return PeriodFigures(period, table, rows, units, records, categories)


def same_period_last_year(period: Period) -> Period:
    return Period(period.year - 1, period.quarter)


def gather(ws, spec: Spec, period: Period, ledger: Ledger) -> Facts:
    """Everything the report writes from data (read by the caller inside ``ledger.reading()``)."""
    registry = ws.registry
    now = period_figures(ledger, registry, spec, period)
    before = period_figures(ledger, registry, spec, period.previous())
    year_ago = period_figures(ledger, registry, spec, same_period_last_year(period))
    status = period_status(ws, spec, period, ledger=ledger)
    excluded = []
    for u in status["units"]:
        if u["code"] in now.rows:
            continue
        why = "未报送" if u["status"] == "missing" else f"{STATUS_TEXT.get(u['status'], u['status'])}，未计入"
        excluded.append((u["name"], why))
    scope = "全省" if registry.root.kind == "province" else registry.root.name
    # The index from the figures just read (not a second pass over the ledger); 按时 from this status and the previous one's.
    quality = ranked(spec, ws.config, now.for_index(), before.for_index(), {u["code"]: u.get("timing") or "" for u in status["units"]},
                     timing(ws, spec, before.period, ledger) if before.rows else {})
    return Facts(period, scope, now, before if before.rows else None, year_ago if year_ago.rows else None, excluded, status,
                 quality)


def responsible_counts(records: dict[str, list[dict[str, Any]]], column: str = "unit") -> Counter:
    return Counter(str(r.get(column) or "（未填）") for rows in records.values() for r in rows)


def structure_counts(records: dict[str, list[dict[str, Any]]]) -> Counter:
    return Counter(str(r.get("structure") or "（未填）") for rows in records.values() for r in rows)


def distinct(records: dict[str, list[dict[str, Any]]], column: str) -> int:
    return len({str(r.get(column)).strip() for rows in records.values() for r in rows if r.get(column)})
