"""Earlier periods as the checks need them: the previous period's 在建 (for 接转), the four quarters
of a year (for the annual identities), and where each figure came from.

"Previous" follows the 办法: a quarter's 接转 is the previous quarter's 在建; the first quarter's and the
annual 附表7's 接转 is the previous year-end's 在建 — last year's fourth-quarter 附表5, or, when that is
not in the ledger, last year's 附表7 (a stand-in, said so).  Only accepted, current submissions count;
an imported master counts as accepted.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from qtables.figures import Figures, Previous, ProjectHistory, Quarters, project_key
from qtables.ledger.queries import decode
from qtables.period import Period

OK = ("accepted", "accepted_with_warnings")


def digest(figures: Any) -> str:
    """A fingerprint of the figures a check used: equal figures, equal digest ("none" when there were none)."""
    if figures is None:
        return "none"
    text = json.dumps(figures, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]



def _submission(db, unit_code: str, period: Period, table_id: str):
    for row in db.execute(
        "SELECT * FROM submissions WHERE unit_code = ? AND period = ? AND is_current = 1 AND status IN (?, ?)"
        " ORDER BY id DESC", (unit_code, period.code, *OK)
    ):
        if table_id in row["tables"].split(","):
            return row
    return None


def _cells(db, submission_id: int, table_ids: tuple[str, ...]) -> Figures:
    out: Figures = {}
    marks = ",".join("?" * len(table_ids))
    for c in db.execute(
        f"SELECT table_id, row_key, column_id, value FROM cells WHERE submission_id = ? AND table_id IN ({marks})",
        (submission_id, *table_ids),
    ):
        out.setdefault(c["table_id"], {}).setdefault(c["row_key"], {})[c["column_id"]] = decode(c["value"])
    return out


def describe(row, period: Period) -> str:
    name = row["filename"]
    if name.startswith("导入："):
        return f"{period.label} {name}"
    return f"{period.label} 第{row['version']}版（{name}，{row['received_at'][:10]}收到）"


def previous_figures(db, unit_code: str, period: Period, table_id: str) -> Previous | None:
    """The figures the 接转 of ``table_id`` (t5 or t7) in ``period`` must equal, or None."""
    prev = period.previous()
    candidates: list[tuple[Period, str, str]] = []
    if period.kind == "quarter":
        candidates.append((prev, "t5", ""))
        if period.quarter == 1:
            candidates.append((Period(period.year - 1), "t7", f"上年度第四季度附表5未收到，取{period.year - 1}年度附表7年底在建数"))
    else:
        candidates.append((prev, "t7", ""))
        candidates.append((Period(prev.year, 4), "t5", f"{prev.year}年度附表7未收到，取{prev.year}年第四季度附表5在建数"))
    for when, source_table, stand_in in candidates:
        row = _submission(db, unit_code, when, source_table)
        if row is None:
            continue
        wanted = (source_table, "t3", "t4") if when.kind == "quarter" else (source_table,)
        figures = _cells(db, row["id"], wanted + ("t6",))
        for detail in (*wanted[1:], "t6"):
            if detail not in figures:  # a project list or 附表6 imported on its own (import-master --table 附表3)
                other = _submission(db, unit_code, when, detail)
                if other is not None:
                    figures.update(_cells(db, other["id"], (detail,)))
        main = figures.pop(source_table, {})
        # 附表6 of the same filing: its categories' 在建 carry over as 附表5's do (T6-P1…P3, a note only)
        tables = {table_id: main} | ({"t6": figures.pop("t6")} if "t6" in figures else {})
        return Previous(tables, describe(row, when), when, stand_in, detail=figures, submission_id=row["id"])
    return None


QUARTER_SUMS = ("new_count", "new_area", "new_cost", "done_count", "done_area", "done_cost", "filed_count", "filed_area",
                "filed_cost", "accident_count", "accident_deaths", "accident_loss")
QUARTER_END = ("ucon_count", "ucon_area", "ucon_cost")
QUARTER_START = ("carried_count", "carried_area", "carried_cost")



def quarter_figures(db, unit_code: str, year: int) -> Quarters:
    """The year's quarters as the annual rules see them.  All four: ``sum_*`` (flows), ``q4_*`` (年底在建), ``q1_*``
    (上年度接转) and ``sum_satisfied``.  Some missing (at the 12月20日 deadline Q4 always is): ``part_*``, the flows of
    the quarters at hand (the year's flows cannot be less), and ``q1_*`` when Q1 is there; a rule that needs a name
    not given is not run (A00 says which)."""
    by_quarter: dict[int, Figures] = {}
    categories: dict[int, Figures] = {}  # 附表6 of each quarter (the annual 附表6 = Σ quarters, T6-A*)
    missing, sources, parts = [], [], []
    for q in Period(year).quarters():
        row = _submission(db, unit_code, q, "t5")
        if row is None:
            missing.append(q)
            parts.append((q, None, "", digest(None)))
            continue
        both = _cells(db, row["id"], ("t5", "t6"))
        figures = both.get("t5", {})
        by_quarter[q.quarter] = figures
        categories[q.quarter] = both.get("t6", {})
        sources.append(describe(row, q))
        parts.append((q, row["id"], sources[-1], digest(both)))
    if not by_quarter:
        return Quarters(None, missing, sources, parts)
    present = list(by_quarter.values())
    keys = set().union(*(set(f) for f in present))
    rows: dict[str, dict[str, Any]] = {}
    for key in keys:
        values: dict[str, Any] = {}
        if missing:
            for col in QUARTER_SUMS:
                values[f"part_{col}"] = round(sum(_num(f.get(key, {}).get(col)) for f in present), 6)
        else:
            for col in QUARTER_SUMS:
                values[f"sum_{col}"] = round(sum(_num(f.get(key, {}).get(col)) for f in present), 6)
            for col in QUARTER_END:
                values[f"q4_{col}"] = by_quarter[4].get(key, {}).get(col)
            # 满意工程项数 of each quarter (rate × 备案项数), so the year's rate can be compared weighted by 备案 (T7-A18).
            values["sum_satisfied"] = round(sum(_num(f.get(key, {}).get("satisfaction_rate")) * _num(f.get(key, {}).get("filed_count"))
                                                / 100 for f in present), 6)
        if 1 in by_quarter:
            for col in QUARTER_START:
                values[f"q1_{col}"] = by_quarter[1].get(key, {}).get(col)
        rows[key] = values
    out = {"t7": rows}
    if not missing and all(categories.get(q) for q in range(1, 5)):
        out["t6"] = _category_sums(categories)
    return Quarters(out, missing, sources, parts)


CATEGORY_SUMS = ("new_count", "new_area", "new_cost", "done_count", "done_area", "done_cost", "filed_count", "filed_area",
                 "filed_cost")


def _category_sums(categories: dict[int, Figures]) -> dict[str, dict[str, Any]]:
    keys = set().union(*(set(f) for f in categories.values()))
    out = {}
    for key in keys:
        values = {f"sum_{col}": round(sum(_num(categories[q].get(key, {}).get(col)) for q in range(1, 5)), 6) for col in CATEGORY_SUMS}
        values.update({f"q4_{col}": categories[4].get(key, {}).get(col) for col in QUARTER_END})
        out[key] = values
    return out


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def project_history(db, unit_code: str, period: Period, tables: tuple[str, str], key: str,
                    own: set[str] | frozenset[str] = frozenset()) -> ProjectHistory:
    """Every project the unit reported in its accepted filings of the quarters before ``period`` (all of its
    history, not only the previous quarter), and the other units whose current filing of ``period`` lists one of
    the keys ``own`` (whatever their status: a 退回 filing still claims the project)."""
    marks = ",".join("?" * len(tables))
    earlier: dict[str, list[tuple[Period, str, dict[str, Any]]]] = {}
    sources = []
    rows = db.execute(
        "SELECT * FROM submissions WHERE unit_code = ? AND is_current = 1 AND status IN (?, ?) AND period LIKE '%Q%'",
        (unit_code, *OK)).fetchall()
    for row in sorted(rows, key=lambda r: Period.parse(r["period"]).order):
        when = Period.parse(row["period"])
        if when.order >= period.order:
            continue
        by_row: dict[tuple[str, str], dict[str, Any]] = {}
        for c in db.execute(f"SELECT table_id, row_key, column_id, value FROM cells WHERE submission_id = ? AND table_id IN ({marks})",
                            (row["id"], *tables)):
            by_row.setdefault((c["table_id"], c["row_key"]), {})[c["column_id"]] = decode(c["value"])
        if by_row:
            sources.append(describe(row, when))
        for (table_id, _r), values in sorted(by_row.items()):
            k = project_key(values.get(key))
            if k:
                earlier.setdefault(k, []).append((when, table_id, values))
    peers: dict[str, set[str]] = {}
    keys = sorted(own)
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        for r in db.execute(
            f"SELECT s.unit_code, p.key FROM project_keys p JOIN submissions s ON s.id = p.submission_id"
            f" WHERE p.key IN ({','.join('?' * len(chunk))}) AND s.period = ? AND s.is_current = 1 AND s.unit_code != ?",
            (*chunk, period.code, unit_code)):
            peers.setdefault(r["key"], set()).add(r["unit_code"])
    return ProjectHistory(earlier, sources, peers)


def own_projects(db, submission_id: int) -> set[str]:
    """The project keys a recorded submission lists (附表3/附表4)."""
    return {r[0] for r in db.execute("SELECT key FROM project_keys WHERE submission_id = ?", (submission_id,))}
