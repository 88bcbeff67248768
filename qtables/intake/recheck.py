"""Verdicts that stay true: re-check the later filings whose inputs a change has changed.

A check of 2025Q3 used 2025Q2's accepted figures (接转 = 上期在建, project continuity); a check of the
year used its four quarters.  When a unit's current version of a period changes — a resubmission, a late
arrival of the previous period, an import, a re-check that changed a status — the inputs of that unit's
later filings are asked again (``qtables.ledger.inputs``).  A filing whose inputs now hold other figures is
checked again from its archived original; a different result is a new, dated verdict (the earlier one is
kept in ``verdicts``), with a new receipt and a new reply in the thread of the filing.  Filings are visited
in chronological order, so a change runs down the whole chain (Q2 → Q3 → Q4 → the year → next Q1) in one
pass.  Nothing is re-checked when nothing it used changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.check.findings import make
from qtables.ledger.inputs import cause as cause_text
from qtables.ledger.inputs import inputs_of, same
from qtables.ledger.store import Ledger, _encode
from qtables.period import Period
from qtables.states import STATUS_TEXT

IMPORTED_PREFIX = "导入："


@dataclass
class Recheck:
    submission_id: int
    unit: str
    period: str
    version: int
    filename: str
    sha256: str
    before: str
    after: str
    cause: str

    @property
    def text(self) -> str:
        return (f"{Period.parse(self.period).label} 第{self.version}版《{self.filename}》因复核："
                f"{STATUS_TEXT.get(self.before, self.before)} → {STATUS_TEXT.get(self.after, self.after)}（{self.cause}）")


def _signature(rows: Iterable[Any], stored: bool) -> list[tuple]:
    """What makes two verdicts the same: each finding's code, severity, place, figures and 说明 (not the wording,
    which names the source version)."""
    out = []
    for f in rows:
        if stored:
            out.append((f["code"], f["severity"], f["tbl"], f["cell"], f["expected"], f["found"], bool(f["explained"])))
        else:
            out.append((f.code, f.severity, f.table, f.cell, _encode(f.expected), _encode(f.found), bool(f.explained)))
    return sorted(out, key=repr)


def recheck_units(ledger: Ledger, ctx: CheckContext, units: Iterable[str], reports: dict[str, Any] | None = None) -> list[Recheck]:
    """Re-check every current filing of ``units`` whose inputs changed; return the verdicts that changed.  The
    reports of those go into ``reports`` (by SHA-256), so the new receipt and reply are made from them."""
    from qtables.intake.run import _cells, keyed_table, report_inputs

    spec = ctx.spec
    changed: list[Recheck] = []
    for unit in sorted(set(units)):
        rows = [r for r in ledger.db.execute(
            "SELECT * FROM submissions WHERE unit_code = ? AND is_current = 1 ORDER BY id", (unit,)).fetchall()
            if not r["filename"].startswith(IMPORTED_PREFIX) and keyed_table(spec, r["tables"].split(","))]
        rows.sort(key=lambda r: (Period.parse(r["period"]).order, r["id"]))
        for row in rows:
            period = Period.parse(row["period"])
            keyed = keyed_table(spec, row["tables"].split(","))
            quarters = ledger.quarters(unit, period.year) if period.kind == "year" else None
            history, own = None, set()
            c = spec.continuity
            if c and ctx.projects is not None and period.kind == "quarter" and {c["ongoing"], c["completed"]} <= set(row["tables"].split(",")):
                own = ledger.own_projects(row["id"])
                history = ctx.projects(unit, period, own)
            now = inputs_of(period, ledger.previous(unit, period, keyed), quarters, history, own)
            recorded = ledger.inputs(row["id"])
            if row["inputs_known"] and same(now, recorded):
                continue
            original = ledger.archive_path(row["sha256"])
            try:
                data = original.read_bytes()
            except OSError:
                continue  # an original missing from the archive: the verdict stands as recorded (status says so)
            report = check_file(row["filename"], ctx, data=data)
            inputs = report_inputs(spec, report) or now
            if report.status == row["status"] and _signature(report.findings, False) == _signature(ledger.findings_of(row["id"]), True):
                ledger.update_inputs(row["id"], inputs)
                continue
            why = cause_text(recorded if row["inputs_known"] else [], inputs)
            if reports is not None:
                reports[row["sha256"]] = report
            if ledger.record_recheck(row["id"], status=report.status, findings=[f.as_json() for f in report.findings],
                                     cells=_cells(report), inputs=inputs, cause=why, basis=recorded) is None:
                continue  # another desk re-checked it first
            changed.append(Recheck(row["id"], unit, row["period"], row["version"], row["filename"], row["sha256"],
                                   row["status"], report.status, why))
    return changed


def peer_units(ledger: Ledger, spec: Any, changed: Iterable[tuple[str, str]]) -> set[str]:
    """Other units whose filings a change of (unit, period) may concern: those listing a 注册号 the changed filing
    lists (PC-09 is due in theirs too), and those whose last check found a shared 注册号 (it may be gone now)."""
    c = spec.continuity
    if not c:
        return set()
    tables, key = (c["ongoing"], c["completed"]), c["key"]
    out: set[str] = set()
    for unit, period_code in set(changed):
        period = Period.parse(period_code)
        if period.kind != "quarter":
            continue
        for sub in ledger.db.execute("SELECT id FROM submissions WHERE unit_code = ? AND period = ? AND is_current = 1",
                                     (unit, period_code)).fetchall():
            keys = ledger.own_projects(sub["id"])
            out |= {u for us in ledger.projects(unit, period, tables, key, keys).peers.values() for u in us}
        out |= {r[0] for r in ledger.db.execute(
            "SELECT s.unit_code FROM check_inputs i JOIN submissions s ON s.id = i.submission_id WHERE i.role = 'peers'"
            " AND i.digest != 'none' AND s.period = ? AND s.is_current = 1 AND s.unit_code != ?", (period_code, unit))}
    return out


def recheck_finding(recheck: Any) -> Any:
    """The R01 note a re-checked receipt opens with (what changed, and the earlier verdict)."""
    return make("R01", detail=f"{STATUS_TEXT.get(recheck['status_before'], recheck['status_before'])} → "
                              f"{STATUS_TEXT.get(recheck['status_after'], recheck['status_after'])}；{recheck['cause']}")
