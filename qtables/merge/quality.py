"""质量指数 (第七条 “定期发布质量指数，量化质量水平”): each unit's score from the spec's ``quality_index`` — qtables'
own definition, documented in docs/spec.md — with the weights of ``[quality_index]`` in qtables.toml when given.

Each component is scored 0–100: a rate as it is (capped at 100), a count per 100 在建 as 100 − penalty × value (not
below 0), 按时 as 100 or 0.  The index is the weighted mean of the components the unit has data for; a missing one
is left out, the others' weights renormalised, and the gap said (``missing``).  Figures are the master's
(``merge.figures``), so the index, the master's sheet and the report cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qtables.spec import Spec


@dataclass
class Score:
    code: str
    name: str
    index: float | None
    parts: dict[str, float | None] = field(default_factory=dict)  # component id -> 0–100 score (None: no data)
    missing: list[str] = field(default_factory=list)  # component labels without data
    rank: int | None = None
    change: float | None = None  # vs the previous period's index, points


def components(spec: Spec, config: dict[str, Any]) -> list[dict[str, Any]]:
    """The spec's components with the workspace's weights (``[quality_index] filing = 0.4`` …)."""
    weights = config.get("quality_index", {}) or {}
    return [dict(c, weight=float(weights.get(c["id"], c["weight"]))) for c in (spec.quality_index or {}).get("components", [])]


def _measure(measure: str, row: dict[str, Any], bad_records: int, timing: str | None) -> float | None:
    ongoing = row.get("ucon_count")
    if measure == "filing_rate":
        return _num(row.get("filing_rate_count"))
    if measure == "satisfaction_rate":
        return _num(row.get("satisfaction_rate"))
    if measure in ("accidents_per_100", "bad_records_per_100"):
        if not isinstance(ongoing, (int, float)) or ongoing <= 0:
            return None
        count = _num(row.get("accident_count")) if measure == "accidents_per_100" else bad_records
        return None if count is None else count / ongoing * 100
    if measure == "on_time":
        if not timing or timing in ("—", "导入"):
            return None
        return 100.0 if timing.startswith("按时") else 0.0
    raise ValueError(measure)  # pragma: no cover - the schema allows only the measures above


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def score_of(comp: dict[str, Any], value: float | None) -> float | None:
    if value is None:
        return None
    if comp["measure"] in ("accidents_per_100", "bad_records_per_100"):
        return max(0.0, 100.0 - float(comp.get("penalty", 1)) * value)
    return max(0.0, min(100.0, value))


def scores(spec: Spec, config: dict[str, Any], rows: dict[str, dict[str, Any]], names: dict[str, str],
           bad_records: dict[str, int], timing: dict[str, str]) -> list[Score]:
    """Every unit with figures, ranked (1 = best); ties share a rank."""
    comps = components(spec, config)
    out = []
    for code, row in rows.items():
        parts = {c["id"]: score_of(c, _measure(c["measure"], row, bad_records.get(code, 0), timing.get(code))) for c in comps}
        have = [c for c in comps if parts[c["id"]] is not None and c["weight"] > 0]
        weight = sum(c["weight"] for c in have)
        index = round(sum(c["weight"] * parts[c["id"]] for c in have) / weight, 1) if weight else None
        out.append(Score(code, names[code], index, parts, [c["label"] for c in comps if parts[c["id"]] is None]))
    ranked = sorted((s for s in out if s.index is not None), key=lambda s: -s.index)
    for s in ranked:
        s.rank = 1 + sum(1 for o in ranked if o.index > s.index)
    return sorted(out, key=lambda s: (s.rank is None, s.rank or 0, s.code))


@dataclass
class UnitFigures:
    """What the index reads of a period: each unit's 合计 row, its name and its count of 附表1 records."""

    rows: dict[str, dict[str, Any]]
    names: dict[str, str]
    bad_records: dict[str, int]


def unit_figures(spec: Spec, ledger, registry, period) -> UnitFigures:
    """The master's figures of ``period`` (``iter_units`` and ``unit_row``), as the index reads them."""
    from qtables.figures import TOTAL_KEY
    from qtables.merge.figures import iter_units, unit_row

    table = spec.table("t7" if period.kind == "year" else "t5")
    out = UnitFigures({}, {}, {})
    for data in iter_units(ledger, registry, period):
        row = unit_row(table, data.tables) if table.id in data.tables else None
        if row is not None:
            out.rows[data.unit.code], out.names[data.unit.code] = row, data.unit.name
            out.bad_records[data.unit.code] = sum(1 for k in data.tables.get("t1", {}) if k != TOTAL_KEY)
    return out


def ranked(spec: Spec, config: dict[str, Any], now: UnitFigures, before: UnitFigures | None,
           timing_now: dict[str, str], timing_before: dict[str, str]) -> list[Score]:
    """Each unit's index and rank for ``now``, with its change vs ``before`` (the previous period)."""
    out = scores(spec, config, now.rows, now.names, now.bad_records, timing_now)
    if before is not None and before.rows:
        earlier = {s.code: s.index for s in scores(spec, config, before.rows, before.names, before.bad_records, timing_before)}
        for s in out:
            if s.index is not None and earlier.get(s.code) is not None:
                s.change = round(s.index - earlier[s.code], 1)
    return out


def period_scores(spec: Spec, config: dict[str, Any], ledger, registry, period, timing_of) -> list[Score]:
    """The 质量指数 of every unit with accepted figures for ``period``, with the change vs the previous period's index;
    ``timing_of(period)``: unit code -> 按时 text."""
    now, before = unit_figures(spec, ledger, registry, period), unit_figures(spec, ledger, registry, period.previous())
    return ranked(spec, config, now, before, timing_of(period), timing_of(period.previous()) if before.rows else {})
