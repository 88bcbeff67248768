"""``qtables status``: who has reported for a period, when, and with what result.

Expected: every reporting unit × the tables due for the period.  For each unit:
the current version, its status, when it arrived against the deadline
(quarterly per 第五条: the quarter's last day plus the configured grace days;
annual per 第十一条: 12月20日, both editable in the config), the other
materials received (stamped PDF scans, Word 分析报告), and the 催报 list of
units with nothing accepted yet.
"""

from __future__ import annotations

import calendar
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from qtables.check import materials
from qtables.check.report import escape_text
from qtables.template.names import tables_for
from qtables.period import Period
from qtables.spec import Spec
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import DEFAULT_CORRECTION_DAYS, Workspace
from qtables.states import STATUS_TEXT
from qtables.timing import BASIS_TEXT, BEIJING, as_beijing, beijing_date

OK_STATUSES = ("accepted", "accepted_with_warnings")
NOTE_TITLES = {"A00": "未核对年报与季报", "P00": "未核对接转", "P03": "上期数据取自其他表", "P04": "未核对项目连续性",
               "P05": "未核对附表6连续性"}


def deadline(ws: Workspace, period: Period, spec: Spec | None = None) -> date:
    """The last day a period's report counts as on time.

    The 办法's dates come from the spec (第五条: quarterly at the quarter's end; 第十一条: annual before
    12月20日); the workspace's [deadlines] may override them and add grace days (``quarter_grace_days``,
    ``year_grace_days``).
    """
    rules = (spec.deadlines if spec is not None else {}) or {}
    cfg = ws.config.get("deadlines", {})
    if period.kind == "year":
        year = rules.get("year", {})
        month = int(cfg.get("year_month", year.get("month", 12)))
        day = int(cfg.get("year_day", year.get("day", 20)))
        return date(period.year, month, day) + timedelta(days=int(cfg.get("year_grace_days", 0)))
    quarter = rules.get("quarter", {})
    # "months_after_end" months after the quarter's last month, on "day" (0: that month's last day).
    month = period.end.month + int(quarter.get("months_after_end", 0))
    year, month = period.end.year + (month - 1) // 12, (month - 1) % 12 + 1
    last = calendar.monthrange(year, month)[1]
    end = date(year, month, min(int(quarter.get("day") or last), last))
    return end + timedelta(days=int(cfg.get("quarter_grace_days", 0)))


@dataclass
class UnitStatus:
    code: str
    name: str
    tables_due: list[str]
    status: str = "missing"  # missing | unreadable | accepted | accepted_with_warnings | rejected | quarantined
    version: int | None = None
    received_at: str | None = None
    on_time: bool | None = None
    tables_received: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    attachments: list[str] = field(default_factory=list)
    filename: str | None = None
    imported: bool = False  # figures taken in by import-master: never "late"
    timing: str = "—"  # 按时 / 按时（退回后按期更正） / 逾期 / 退回未更正 / 待更正 / 导入 (see Timeliness)
    first_received: str = ""  # 首次报送时间 (北京时间)
    accepted_at: str = ""  # 通过时间: when the version that was accepted was received
    received_basis: str = ""  # how the received time was established (服务器收到时间, Date 头 …)
    # Checks against other periods that could not run (P00 接转, P04 项目连续性, A00 年报与季报) or ran on a
    # stand-in (P03), as "code 标题"; never silent.
    notes: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "name [code]" of items received that could not be checked
    materials: dict[str, str] = field(default_factory=dict)  # required material -> 已收 / 未收
    missing_materials: list[str] = field(default_factory=list)
    # The current verdict came from a re-check (what it was checked against changed): "因复核：通过 → 退回（日期；原因）".
    recheck: str = ""
    # What the verdict's other-period checks used ("2025年第2季度 第2版（…）"), "" when none was needed.
    basis: str = ""
    reminders: int = 0  # 催报 mails sent or written for this period (qtables remind)
    last_reminder: str = ""  # the day of the last one

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def period_status(ws: Workspace, spec: Spec, period: Period, *, scoring: bool = False, today: date | None = None,
                  ledger: Ledger | None = None) -> dict[str, Any]:
    """The period's status; ``today`` (北京时间, default now) decides whether a 退回 filing can still be corrected in time.
    ``ledger``: read within the caller's snapshot (the master's 报送情况 from the same versions as its figures);
    without one, the status is read in a snapshot of its own."""
    if ledger is None:
        own = ws.open_ledger()
        try:
            with own.reading():
                return period_status(ws, spec, period, scoring=scoring, today=today, ledger=own)
        finally:
            own.close()
    today = today or datetime.now(BEIJING).date()
    _sets, due = tables_for(spec, period, scoring=scoring)
    due_names = [spec.table(t).name for t in due]
    limit = deadline(ws, period, spec)
    # The submission that holds the tables due (a year's 考核评分表 come from the 考核组, as their own submission).
    # A unit may have more than one current submission (its 附表 and, imported beside an old 附表5, its 附表3/4/6):
    # the one with the most of the tables due stands for it, and what was received is what all of them hold.
    current: dict[str, Any] = {}
    received: dict[str, set[str]] = {}
    for row in ledger.current_submissions(period.code, tables=due):
        tables = set(row["tables"].split(",")) & set(due)
        received.setdefault(row["unit_code"], set()).update(tables)
        best = current.get(row["unit_code"])
        if best is None or len(tables) >= len(set(best["tables"].split(",")) & set(due)):
            current[row["unit_code"]] = row
    units = []
    chased: dict[str, list[str]] = {}
    for r in ledger.reminders(period.code):
        if r["state"] in ("sent", "written"):
            chased.setdefault(r["unit_code"], []).append(r["day"])
    for unit in ws.registry.units:
        st = UnitStatus(unit.code, unit.name, due_names)
        st.reminders, st.last_reminder = len(chased.get(unit.code, [])), max(chased.get(unit.code, [""]))
        row = current.get(unit.code)
        if row is not None:
            st.status, st.version, st.received_at, st.filename = row["status"], row["version"], row["received_at"], row["filename"]
            st.tables_received = [spec.table(t).name for t in due if t in received.get(unit.code, ())]
            st.imported = row["filename"].startswith("导入：")
            versions = ledger.db.execute(
                "SELECT status, received_at, version FROM submissions WHERE unit_code = ? AND period = ? AND tables = ?"
                " AND status != 'quarantined' ORDER BY id", (unit.code, period.code, row["tables"])).fetchall()
            timing = Timeliness.of(versions, row["status"], limit, ws.correction_days, today=today)
            st.first_received, st.accepted_at = timing.first_received, timing.accepted_at
            st.on_time, st.timing = (None, "导入") if st.imported else (timing.on_time, timing.text)
            st.received_at = as_beijing(row["received_at"])
            st.received_basis = BASIS_TEXT.get(row["received_basis"] or "", "")
            st.notes = [f"{r['code']} {NOTE_TITLES[r['code']]}" for r in ledger.db.execute(
                f"SELECT DISTINCT code FROM findings WHERE submission_id = ? AND code IN ({','.join('?' * len(NOTE_TITLES))})"
                " ORDER BY code", (row["id"], *NOTE_TITLES))]
            counts = ledger.db.execute(
                "SELECT SUM(CASE WHEN severity IN ('E','F') THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN severity = 'W' AND explained = 0 THEN 1 ELSE 0 END) FROM findings WHERE submission_id = ?",
                (row["id"],),
            ).fetchone()
            st.errors, st.warnings = int(counts[0] or 0), int(counts[1] or 0)
            again = ledger.last_recheck(row["id"])
            if again is not None:
                st.recheck = (f"因复核：{STATUS_TEXT.get(again['status_before'], again['status_before'])} → "
                              f"{STATUS_TEXT.get(again['status_after'], again['status_after'])}"
                              f"（{again['decided_at'][:10]}；{again['cause']}）")
            st.basis = "；".join(i.source for i in ledger.inputs(row["id"]) if i.source)
        # Other materials of this period, each file once (the same PDF sent twice is one material).
        files = ledger.db.execute(
            "SELECT filename, sha256 FROM arrivals WHERE id IN (SELECT MIN(id) FROM arrivals WHERE unit_code = ?"
            " AND kind = 'attachment' AND period = ? GROUP BY sha256) ORDER BY id", (unit.code, period.code)).fetchall()
        st.attachments = [escape_text(r["filename"]) for r in files]
        got = materials.received(spec, period, [(r["filename"], ledger.archive_path(r["sha256"])) for r in files])
        st.materials = {name: "已收" if found else "未收" for name, found in got.items()}
        st.missing_materials = [name for name, found in got.items() if not found]
        st.unreadable = [
            f"{escape_text(r['filename'])} [{r['code']}]" for r in ledger.db.execute(
                "SELECT filename, code FROM arrivals WHERE id IN (SELECT MIN(id) FROM arrivals WHERE unit_code = ?"
                " AND status = 'unreadable' AND period = ? GROUP BY sha256) ORDER BY id", (unit.code, period.code)).fetchall()
        ]
        if row is None and st.unreadable:
            st.status = "unreadable"
        units.append(st)
    # Units to chase: nothing accepted yet, or a required material (the 分析报告) not received.
    chase = [u for u in units if u.status not in OK_STATUSES or u.missing_materials]
    return {
        "period": period.code,
        "label": period.label,
        "deadline": limit.isoformat(),
        "correction_days": ws.correction_days,
        "expected": len(units),
        "received": sum(1 for u in units if u.status != "missing"),
        "accepted": sum(1 for u in units if u.status in OK_STATUSES),
        "late": sum(1 for u in units if u.timing == "逾期"),
        "uncorrected": sum(1 for u in units if u.timing == "退回未更正"),
        "units": [u.as_json() for u in units],
        "chase": [{"code": u.code, "name": u.name, "status": u.status, "unreadable": u.unreadable,
                   "missing_materials": u.missing_materials, "reminders": u.reminders, "last_reminder": u.last_reminder}
                  for u in chase],
        "materials": [{"name": m["name"], "source": m["source"], "quote": m["quote"]} for m in materials.due(spec, period)],
    }


def timing(ws: Workspace, spec: Spec, period: Period, ledger: Ledger) -> dict[str, str]:
    """Unit code -> 按时 text for ``period`` (the 质量指数's 按时报送), read in the caller's snapshot."""
    return {u["code"]: u.get("timing") or "" for u in period_status(ws, spec, period, ledger=ledger)["units"]}


OK_VERSION = ("accepted", "accepted_with_warnings")


@dataclass
class Timeliness:
    """按时 as the 办法's 考评 needs it (第八条（五） 上报不及时; 附件3 按时报送), judged in 北京时间:

    * 按时 — the current version is accepted and the unit's first version was received by the deadline, either
      accepted itself or 退回 and corrected: each corrected version received within 更正期限 of the version it
      corrects (``[deadlines] correction_days``);
    * 逾期 — accepted, but first received after the deadline, or corrected too late;
    * 退回未更正 — the current version is not accepted and the deadline (or the 更正期限 of the last version) has
      passed: not 按时;  待更正 — not accepted yet, still within time.
    """

    on_time: bool | None
    text: str
    first_received: str = ""
    accepted_at: str = ""

    @classmethod
    def of(cls, versions, current_status: str, limit: date, days: int, *, today: date) -> "Timeliness":
        seen = [(v["status"], as_beijing(v["received_at"])) for v in versions if beijing_date(v["received_at"])]
        seen.sort(key=lambda v: v[1])
        if not seen:
            return cls(None, "—")
        first = seen[0][1]
        if current_status not in OK_VERSION:
            still = today <= max(limit, beijing_date(seen[-1][1]) + timedelta(days=days))
            return cls(None if still else False, "待更正" if still else "退回未更正", first)
        on_time, corrected, accepted_at = beijing_date(first) <= limit, False, ""
        for i, (status, when) in enumerate(seen):
            if status in OK_VERSION:
                accepted_at = when
                break
            corrected = True
            if i + 1 < len(seen) and beijing_date(seen[i + 1][1]) > beijing_date(when) + timedelta(days=days):
                on_time = False  # corrected, but after the 更正期限
        if not accepted_at:  # no version was accepted when it came: the current one became so on a re-check
            accepted_at = seen[-1][1]
        text = ("按时（退回后按期更正）" if corrected else "按时") if on_time else "逾期"
        return cls(on_time, text, first, accepted_at)




def short_time(text: str | None) -> str:
    """"2025-09-30T10:00:00+08:00" as "2025-09-30 10:00" (北京时间)."""
    return as_beijing(text)[:16].replace("T", " ") if text else ""


def display_width(text: str) -> int:
    """Columns a string takes in a terminal: CJK and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cell(text: Any, width: int) -> str:
    text = "" if text is None else str(text)
    return text + " " * max(1, width - display_width(text))


def render(summary: dict[str, Any]) -> str:
    columns = [("代码", 8), ("单位", 10), ("状态", 18), ("版本", 6), ("首次报送", 18), ("通过", 18), ("按时", 24), ("强制性", 8),
               ("待说明", 8)]
    lines = [
        f"{summary['label']} 报送情况（截止日期 {summary['deadline']}；按本方收到时间、北京时间判断，退回后更正期限 {summary.get('correction_days', DEFAULT_CORRECTION_DAYS)} 天）",
        f"应报 {summary['expected']} 个单位，已收 {summary['received']} 个，通过 {summary['accepted']} 个，逾期 {summary['late']} 个"
        + (f"，退回未更正 {summary['uncorrected']} 个" if summary.get("uncorrected") else ""),
        "",
        "".join(_cell(name, w) for name, w in columns) + "分析报告　其他材料　未核对事项",
    ]
    bases = [u["received_basis"] for u in summary["units"] if u.get("received_basis") and not u.get("imported")]
    usual = max(set(bases), key=bases.count) if bases else ""
    if usual:
        lines.insert(2, f"收到时间依据：{usual}（不同的单位另行注明）")
    for u in summary["units"]:
        timing = u.get("timing") or "—"
        values = [u["code"], u["name"], STATUS_TEXT.get(u["status"], u["status"]), u["version"] or "", short_time(u.get("first_received")),
                  short_time(u.get("accepted_at")), timing, u["errors"], u["warnings"]]
        extra = "、".join(u["attachments"] + u.get("unreadable", []))
        report = "、".join(u.get("materials", {}).values()) or "—"
        lines.append("".join(_cell(v, w) for v, (_n, w) in zip(values, columns)) + _cell(report, 10) + extra
                     + (f"　{'；'.join(u['notes'])}" if u.get("notes") else ""))
        if u.get("recheck"):
            lines.append(" " * 8 + u["recheck"])
        if u.get("received_basis") and u["received_basis"] != usual and not u.get("imported"):
            lines.append(" " * 8 + f"收到时间依据：{u['received_basis']}")
        if u.get("reminders"):
            lines.append(" " * 8 + f"已催报 {u['reminders']} 次，最近一次 {u['last_reminder']}")
    if summary["chase"]:
        lines += ["", f"催报名单（{len(summary['chase'])} 个）：" + "、".join(
            f"{c['name']}（{STATUS_TEXT.get(c['status'], c['status'])}" + (f"：{'、'.join(c['unreadable'])}" if c.get("unreadable") else "")
            + (f"；未收{'、'.join('《' + m + '》' for m in c['missing_materials'])}" if c.get("missing_materials") else "")
            + "）" for c in summary["chase"])]
        if summary.get("materials"):
            lines += ["应随附表报送：" + "；".join(f"《{m['name']}》（{m['source']}）" for m in summary["materials"])]
    else:
        lines += ["", "全部单位均已报送并通过审核。"]
    return "\n".join(lines)
