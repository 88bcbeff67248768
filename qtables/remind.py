"""``qtables remind``: one 催报 mail per unit that still owes something for a period, and the reporting calendar.

What a unit owes comes from ``status`` (the same 催报名单): 附表 not received (H01), a 退回 filing with its open
强制性 codes (H02), 核实性 问题 still without a 说明 (H03), the 《工程质量分析报告》 not received (H04).  Each mail
says exactly that, quotes the article and the deadline, attaches the unit's own template when it has not filed,
and says how to answer.  It goes to the unit's registered addresses (``[senders]``), else to the addresses its
accepted filings came from; a unit with neither is listed "无邮箱，请电话催报" (H05), never skipped in silence.

When: ``[reminders]`` in qtables.toml — ``before`` (days before the deadline for a first notice, e.g. [5, 1]) and
``every`` (after the deadline, every N days until the unit is complete; ``stop_after_days`` ends it).  Each of
those days opens a window; a unit gets one reminder per window and at most one a day (the ledger holds them:
``ledger.reminders``).  ``--period`` names a period to chase now, outside the windows (still once a day).
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from qtables.check.findings import CATALOGUE
from qtables.fsutil import write_atomic
from qtables.intake.compose import Mail
from qtables.intake.mail import mail_headers, smtp_session
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import Workspace
from qtables.period import Period
from qtables.spec import Spec
from qtables.status import OK_STATUSES, deadline, period_status
from qtables.timing import BEIJING

DEFAULT_BEFORE = (5, 1)
DEFAULT_EVERY = 3
DEFAULT_STOP = 60
ARTICLE = {"quarter": "《办法》第五条：各地应于每季度末向上级主管部门上报工程质量分析报告及附表",
           "year": "《办法》第十一条：年度工程质量分析报告及附表应在每年12月20日前上报"}


@dataclass
class Reminder:
    unit_code: str
    unit_name: str
    period: str
    reasons: list[tuple[str, str]]
    recipients: list[str] = field(default_factory=list)
    recipients_from: str = ""  # 登记邮箱 | 此前报送所用邮箱 | "" (none: H05)
    state: str = "due"  # due | sent | written | failed | already | no-address | dry-run
    code: str = ""
    note: str = ""
    attachment: str = ""
    path: str = ""

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__, reasons=[list(r) for r in self.reasons])


def settings(ws: Workspace) -> tuple[list[int], int, int]:
    cfg = ws.config.get("reminders", {})
    before = sorted({int(d) for d in cfg.get("before", DEFAULT_BEFORE)}, reverse=True)
    return before, max(1, int(cfg.get("every", DEFAULT_EVERY))), int(cfg.get("stop_after_days", DEFAULT_STOP))


def window_start(ws: Workspace, spec: Spec, period: Period, today: date) -> date | None:
    """The first day of the reminder window ``today`` falls in, None when the period is not being chased today."""
    before, every, stop = settings(ws)
    end = deadline(ws, period, spec)
    if today > end + timedelta(days=stop):
        return None
    starts = [end - timedelta(days=d) for d in before] + [end + timedelta(days=1 + k * every) for k in range(stop // every + 1)]
    opened = [s for s in starts if s <= today]
    return max(opened) if opened else None


def calendar_periods(today: date) -> list[Period]:
    """The periods whose deadlines fall near ``today`` (last year's and this year's quarters and years)."""
    return [Period.parse(code) for y in (today.year - 1, today.year) for code in (*(f"{y}Q{q}" for q in range(1, 5)), str(y))]


def due_periods(ws: Workspace, spec: Spec, today: date) -> list[Period]:
    return [p for p in calendar_periods(today) if window_start(ws, spec, p, today) is not None]


def calendar(ws: Workspace, spec: Spec, year: int) -> list[dict[str, str]]:
    """The reporting calendar of a year: each quarter's and the year's deadline, with the article and the reminder days."""
    before, every, _stop = settings(ws)
    out = []
    for code in (*(f"{year}Q{q}" for q in range(1, 5)), str(year)):
        period = Period.parse(code)
        end = deadline(ws, period, spec)
        notices = "、".join(f"{(end - timedelta(days=d)).month}月{(end - timedelta(days=d)).day}日" for d in before)
        out.append({"period": code, "label": period.label, "deadline": end.isoformat(), "article": ARTICLE[period.kind],
                    "reminders": f"截止前提醒：{notices}；逾期后每 {every} 天催报一次，直至报齐"})
    return out


def reasons_of(unit: dict[str, Any], ledger: Ledger, period: Period, tables_due: list[str]) -> list[tuple[str, str]]:
    """What the unit still owes for the period (empty: complete)."""
    out: list[tuple[str, str]] = []
    status = unit["status"]
    if status in ("missing", "unreadable", "quarantined"):
        why = {"unreadable": "收到的文件无法审核（" + "；".join(unit["unreadable"]) + "）",
               "quarantined": "报表来自未登记的邮箱，已隔离待核"}.get(status, "尚未收到")
        out.append(("H01", f"{'、'.join(tables_due)}：{why}"))
    elif status == "rejected":
        out.append(("H02", f"第{unit['version']}版被退回，尚有强制性问题未改正：{'、'.join(_codes(ledger, unit, period, ('E', 'F')))}"))
    if status in OK_STATUSES and unit["warnings"]:
        out.append(("H03", f"核实性问题 {unit['warnings']} 项尚未在“自查”表写明说明：{'、'.join(_codes(ledger, unit, period, ('W',)))}"))
    for name in unit["missing_materials"]:
        out.append(("H04", f"《{name}》尚未收到"))
    return out


def _codes(ledger: Ledger, unit: dict[str, Any], period: Period, severities: tuple[str, ...]) -> list[str]:
    found = {r[0] for r in ledger.db.execute(
        "SELECT f.code, f.severity, f.explained FROM findings f JOIN submissions s ON s.id = f.submission_id"
        " WHERE s.unit_code = ? AND s.period = ? AND s.is_current = 1", (unit["code"], period.code)).fetchall()
        if r[1] in severities and not (r[1] == "W" and r[2])}
    return sorted(found) or ["见审核回执"]


def recipients(ws: Workspace, ledger: Ledger, unit_code: str) -> tuple[list[str], str]:
    """The unit's registered addresses, else those its accepted filings came from, and which of the two."""
    listed = [str(a).strip() for a in ws.config.get("senders", {}).get(unit_code, []) if "@" in str(a) and not str(a).startswith("@")]
    if listed:
        return listed, "登记邮箱"
    used = [r[0] for r in ledger.db.execute(
        "SELECT DISTINCT sender FROM submissions WHERE unit_code = ? AND sender IS NOT NULL AND status IN ('accepted',"
        " 'accepted_with_warnings') ORDER BY sender", (unit_code,)).fetchall()]
    return used, "此前报送所用邮箱" if used else ""


def compose(ws: Workspace, reminder: Reminder, period: Period, end: date, template: Path | None, message_id: str,
            today: date) -> Mail:
    late = today > end
    subject = f"【催报】{reminder.unit_name} {period.label}报表{'已逾期' if late else '即将截止'}"
    lines = [f"{reminder.unit_name}：", "",
             f"{period.label}的工程质量分析报告及附表，截止日期为 {end.year}年{end.month}月{end.day}日（{ARTICLE[period.kind]}）。",
             f"截至今日，贵单位尚有以下事项未完成：", ""]
    for i, (code, text) in enumerate(reminder.reasons, 1):
        lines.append(f"  {i}. [{code}] {text}")
        lines.append(f"     处理办法：{CATALOGUE[code].fix}")
    lines.append("")
    if template is not None:
        lines += [f"附件是贵单位{period.label}的附表模板（{template.name}），请在浅黄色单元格中填写，“自查”表全部为 ✓ 后，"
                  "直接回复本邮件并附上该文件。", ""]
    else:
        lines += ["请改正或补充后，直接回复本邮件并附上文件（附表请用原模板，分析报告可用 Word 文档）。", ""]
    lines += ["《办法》第八条（五）将上报及时性列入考评。如已报送，请忽略本邮件。", "", "（本邮件由 qtables 自动生成。）"]
    return Mail(mail_headers(ws, subject, ", ".join(reminder.recipients), message_id=message_id), "\n".join(lines),
                (template.name, template.read_bytes()) if template is not None else None)


def send(ws: Workspace, mail: Mail, to: list[str]) -> None:
    with smtp_session(ws) as smtp:
        # SMTP lines end in CRLF (RFC 5321 §2.3.8); smtplib leaves a byte string as it is.
        smtp.sendmail(str(ws.config.get("smtp", {}).get("from", "qtables@localhost")), to,
                      re.sub(rb"\r?\n", b"\r\n", mail.to_bytes()))


def remind(ws: Workspace, spec: Spec, *, periods: list[Period] | None = None, today: date | None = None, deliver: bool = False,
           dry_run: bool = False, units: list[str] | None = None) -> list[Reminder]:
    """Chase every unit that owes something for ``periods`` (default: those whose reminder window is open today).
    ``deliver``: send over SMTP (``[smtp]``), else write to outbox/reminders/ for the clerk; ``dry_run``: say who
    would be chased and why, write and record nothing."""
    now = datetime.now(BEIJING)
    today = today or now.date()
    explicit = periods is not None
    chosen = periods if explicit else due_periods(ws, spec, today)
    out: list[Reminder] = []
    ledger = ws.open_ledger()
    try:
        for period in chosen:
            start = None if explicit else window_start(ws, spec, period, today)
            summary = period_status(ws, spec, period, today=today, ledger=ledger)
            sent_before = {}
            for r in ledger.reminders(period.code):
                # A reminder only written to the outbox is still to be mailed by a run with --send.
                if r["state"] in ("sent", "sending") or (r["state"] == "written" and not deliver):
                    sent_before.setdefault(r["unit_code"], []).append(date.fromisoformat(r["day"]))
            for unit in summary["units"]:
                if units and unit["code"] not in units:
                    continue
                reasons = reasons_of(unit, ledger, period, unit["tables_due"])
                if not reasons:
                    continue
                item = Reminder(unit["code"], unit["name"], period.code, reasons)
                item.recipients, item.recipients_from = recipients(ws, ledger, unit["code"])
                days = sent_before.get(unit["code"], [])
                if today in days or (start is not None and any(d >= start for d in days)):
                    item.state, item.note = "already", "本期此前已催报（" + "、".join(d.isoformat() for d in sorted(days)[-2:]) + "）"
                elif not item.recipients:
                    item.state, item.code, item.note = "no-address", "H05", "没有登记邮箱，也没有此前报送所用的邮箱：请电话催报"
                elif dry_run:
                    item.state = "dry-run"
                    item.attachment = "本单位本期模板" if unit["status"] in ("missing", "unreadable") else ""
                else:
                    _deliver(ws, spec, ledger, item, period, today, now, deliver, unit["status"])
                out.append(item)
    finally:
        ledger.close()
    return out


def _deliver(ws: Workspace, spec: Spec, ledger: Ledger, item: Reminder, period: Period, today: date, now: datetime, deliver: bool,
             status: str) -> None:
    message_id = make_msgid(domain="qtables.local")
    path = ws.path / "outbox" / "reminders" / f"{period.code}_{item.unit_code}_{today.isoformat()}.eml"
    rel = str(path.relative_to(ws.path))
    if not ledger.claim_reminder(unit_code=item.unit_code, period=period.code, day=today.isoformat(), reasons=item.reasons,
                                 recipients=item.recipients, message_id=message_id, path=rel, now=now, mailing=deliver):
        item.state, item.note = "already", "另一次运行已在催报"
        return
    template = None
    if status in ("missing", "unreadable"):
        from qtables.intake.run import template_for

        template = template_for(ws, spec, item.unit_code, period.code)
        item.attachment = template.name if template else ""
    mail = compose(ws, item, period, deadline(ws, period, spec), template, message_id, today)
    write_atomic(path, mail.to_bytes())
    item.path = rel
    if not deliver:
        item.state = "written"
        ledger.finish_reminder(item.unit_code, period.code, today.isoformat(), state="written")
        return
    try:
        send(ws, mail, item.recipients)
    except (OSError, smtplib.SMTPException) as exc:
        item.state, item.code, item.note = "failed", "H06", f"{type(exc).__name__}: {exc}"[:300]
        ledger.finish_reminder(item.unit_code, period.code, today.isoformat(), state="failed", code="H06", note=item.note)
        return
    item.state = "sent"
    ledger.finish_reminder(item.unit_code, period.code, today.isoformat(), state="sent")
