"""``qtables status``: who has reported for a period, when, and with what result.

Expected: every reporting unit × the tables due for the period.  For each unit:
the current version, its status, when it arrived against the deadline
(quarterly per 第五条: the quarter's last day plus the configured grace days;
annual per 第十一条: 12月20日, both editable in the config), the other
materials received (stamped PDF scans, Word 分析报告), and the 催报 list of
units with nothing accepted yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from qtables.issue.workbook import tables_for
from qtables.period import Period
from qtables.spec import Spec
from qtables.store import Ledger
from qtables.workspace import Workspace

OK_STATUSES = ("accepted", "accepted_with_warnings")


def deadline(ws: Workspace, period: Period) -> date:
    cfg = ws.config.get("deadlines", {})
    if period.kind == "year":
        return date(period.year, int(cfg.get("year_month", 12)), int(cfg.get("year_day", 20)))
    return period.end + timedelta(days=int(cfg.get("quarter_grace_days", 0)))


@dataclass
class UnitStatus:
    code: str
    name: str
    tables_due: list[str]
    status: str = "missing"  # missing | accepted | accepted_with_warnings | rejected | quarantined
    version: int | None = None
    received_at: str | None = None
    on_time: bool | None = None
    tables_received: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    attachments: list[str] = field(default_factory=list)
    filename: str | None = None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def period_status(ws: Workspace, spec: Spec, period: Period, *, scoring: bool = False) -> dict[str, Any]:
    ledger = Ledger(ws.path)
    try:
        _sets, due = tables_for(spec, period, scoring=scoring)
        due_names = [spec.table(t).name for t in due]
        limit = deadline(ws, period)
        current = {row["unit_code"]: row for row in ledger.current_submissions(period.code)}
        units = []
        for unit in ws.registry.units:
            st = UnitStatus(unit.code, unit.name, due_names)
            row = current.get(unit.code)
            if row is not None:
                st.status, st.version, st.received_at, st.filename = row["status"], row["version"], row["received_at"], row["filename"]
                st.tables_received = [spec.table(t).name for t in row["tables"].split(",") if t in spec.tables]
                st.on_time = _arrived_by(row["received_at"], limit)
                counts = ledger.db.execute(
                    "SELECT SUM(severity IN ('E','F')), SUM(severity = 'W' AND explained = 0) FROM findings WHERE submission_id = ?",
                    (row["id"],),
                ).fetchone()
                st.errors, st.warnings = int(counts[0] or 0), int(counts[1] or 0)
            st.attachments = [
                r["filename"] for r in ledger.db.execute(
                    "SELECT filename FROM arrivals WHERE unit_code = ? AND kind = 'attachment' AND (period = ? OR period IS NULL)"
                    " ORDER BY id", (unit.code, period.code))
            ]
            units.append(st)
        chase = [u for u in units if u.status not in OK_STATUSES]
        return {
            "period": period.code,
            "label": period.label,
            "deadline": limit.isoformat(),
            "expected": len(units),
            "received": sum(1 for u in units if u.status != "missing"),
            "accepted": sum(1 for u in units if u.status in OK_STATUSES),
            "late": sum(1 for u in units if u.on_time is False),
            "units": [u.as_json() for u in units],
            "chase": [{"code": u.code, "name": u.name, "status": u.status} for u in chase],
        }
    finally:
        ledger.close()


def _arrived_by(received_at: str | None, limit: date) -> bool | None:
    if not received_at:
        return None
    try:
        return datetime.fromisoformat(received_at).date() <= limit
    except ValueError:
        return None


STATUS_TEXT = {
    "missing": "未报", "accepted": "通过", "accepted_with_warnings": "通过（待说明）", "rejected": "退回",
    "quarantined": "隔离待核", "duplicate": "重复",
}


def render(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['label']} 报送情况（截止日期 {summary['deadline']}）",
        f"应报 {summary['expected']} 个单位，已收 {summary['received']} 个，通过 {summary['accepted']} 个，逾期 {summary['late']} 个",
        "",
        f"{'代码':<8}{'单位':<10}{'状态':<12}{'版本':<6}{'收到时间':<28}{'按时':<6}{'强制性':<7}{'待说明':<7}其他材料",
    ]
    for u in summary["units"]:
        timing = "—" if u["on_time"] is None else ("按时" if u["on_time"] else "逾期")
        lines.append(
            f"{u['code']:<10}{u['name']:<9}{STATUS_TEXT.get(u['status'], u['status']):<10}{(u['version'] or ''):<8}"
            f"{(u['received_at'] or ''):<30}{timing:<6}{u['errors']:<9}{u['warnings']:<8}{'、'.join(u['attachments'])}"
        )
    if summary["chase"]:
        lines += ["", f"催报名单（{len(summary['chase'])} 个）：" + "、".join(f"{c['name']}（{STATUS_TEXT.get(c['status'], c['status'])}）" for c in summary["chase"])]
    else:
        lines += ["", "全部单位均已报送并通过审核。"]
    return "\n".join(lines)
