"""Reply e-mails: an .eml per submission in the outbox, sent by SMTP with ``--send``.

The reply lists, in Chinese, the errors to fix and the warnings that need a
说明, and attaches the annotated receipt under its Chinese name (RFC 2231).
SMTP settings come from the workspace config ``[smtp]`` and the environment
(QTABLES_SMTP_USER / QTABLES_SMTP_PASSWORD), never from the command line.
"""

from __future__ import annotations

import os
import smtplib
import sqlite3
from contextlib import contextmanager
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Iterator

from qtables.check.context import Report
from qtables.check.findings import consequences_text, figures_text, grouped
from qtables.intake.compose import Mail
from qtables.fsutil import write_atomic
from qtables.check.report import STATUS_TEXT, escape_text
from qtables.ledger.workspace import Workspace


def _from_address(ws: Workspace) -> str:
    return str(ws.config.get("smtp", {}).get("from", "qtables@localhost"))


_NUMBERS = "一二三四五六七八九十"


def mail_headers(ws: Workspace, subject: str, to: str, original: tuple[str | None, str | None] = (None, None),
            message_id: str | None = None) -> list[tuple[str, str]]:
    """A reply's headers, in the sender's thread (RFC 5322 §3.6.4): In-Reply-To, References, "Re:"."""
    original_id, original_subject = original
    headers = [("Subject", f"Re: {original_subject} {subject}" if original_subject else subject), ("From", _from_address(ws)),
               ("To", to), ("Date", formatdate(localtime=True)), ("Message-ID", message_id or make_msgid(domain="qtables.local"))]
    if original_id:
        headers += [("In-Reply-To", original_id), ("References", original_id)]
    return headers


def build_reply(ws: Workspace, sub: sqlite3.Row, report: Report, receipt: Path | None,
                original: tuple[str | None, str | None] = (None, None), missing: list[str] | None = None,
                recheck: sqlite3.Row | None = None) -> Mail:
    who = report.identity.unit_name if report.identity else sub["unit_code"]
    period = report.period.label if report.period else sub["period"]
    quarantined = sub["status"] == "quarantined"
    status = "已隔离待核" if quarantined else STATUS_TEXT.get(sub["status"], sub["status"])
    kind = "【复核结果】" if recheck is not None else "【审核结果】"
    headers = mail_headers(ws, f"{kind}{who} {period} 建设工程质量分析报告附表：{status}", sub["sender"], original)
    lines = [f"{who}：", ""]
    if recheck is not None:
        before = STATUS_TEXT.get(recheck["status_before"], recheck["status_before"])
        lines += [f"贵单位此前报送的《{sub['filename']}》（{period}，第 {sub['version']} 版）原审核结果为“{before}”。",
                  f"由于本次审核所依据的其他报告期数据发生了变化（{recheck['cause']}），已按原文件重新审核，",
                  f"复核结果（{recheck['decided_at'][:10]}）：{status}。以本邮件为准，此前的审核结果作废。", ""]
    else:
        lines += [f"贵单位报送的《{sub['filename']}》（{period}，第 {sub['version']} 版）审核结果：{status}。", ""]
    if quarantined:
        lines += ["发件邮箱不在贵单位登记的报送邮箱名单中，报表已隔离，待汇总单位核实后处理。", "如邮箱有变化，请联系汇总单位登记。"]
    else:
        problems = grouped(report.findings)  # one problem per cell, its consequences under it
        errors = [(f, follow) for f, follow in problems if f.severity in ("E", "F")]
        warnings = [(f, [c for c in follow if not c.explained]) for f, follow in problems if f.severity == "W" and not f.explained]
        section = iter(_NUMBERS)

        def listed(items):
            out = []
            for i, (f, follow) in enumerate(items, 1):
                where = f"{f.sheet}!{f.cell}" if f.cell else ""
                # A rule's message names its cell already (…（附表3!E5（1 建筑面积（平方米）））): not said twice.
                out.append(f"  {i}. [{f.code}] {where + ' ' if where and where not in f.message else ''}{f.message}")
                if figures := figures_text(f):
                    out.append(f"     {figures}")
                if follow:
                    out.append(f"     {consequences_text(follow)}")
            return out

        if errors:
            lines.append(f"{next(section)}、必须改正的问题（{len(errors)} 项），改正后请重新报送：")
            lines += listed(errors)
            lines.append("")
        if warnings:
            lines.append(f"{next(section)}、需要核实的问题（{len(warnings)} 项）：如数据无误，请在模板“自查”表的“说明”栏写明具体原因后重新报送：")
            lines += listed(warnings)
            lines.append("")
        if missing:
            lines.append(f"{next(section)}、尚未收到的报送材料（请随附表一并报送）：")
            lines += [f"  {i}. {text}" for i, text in enumerate(missing, 1)]
            lines.append("")
        if not errors and not warnings:
            lines += ["报表已通过审核" + ("，请补报上述材料。" if missing else "，谢谢！"), ""]
        if receipt is not None:
            lines.append("附件为标注了问题位置的审核回执（红色为必须改正，黄色为需要核实）。")
    lines += ["", "（本邮件由 qtables 自动生成。）"]
    attachment = (receipt.name.split("_", 1)[-1], receipt.read_bytes()) if receipt is not None and not quarantined else None
    return Mail(headers, "\n".join(lines), attachment)


def write_reply(ws: Workspace, sub: sqlite3.Row, report: Report, receipt: Path | None,
                original: tuple[str | None, str | None] = (None, None), missing: list[str] | None = None,
                recheck: sqlite3.Row | None = None, recheck_number: int = 0) -> Path:
    msg = build_reply(ws, sub, report, receipt, original, missing, recheck)
    again = f"_r{recheck_number}" if recheck_number else ""
    out = ws.path / "outbox" / f"{sub['id']:06d}_{sub['unit_code']}_{sub['period']}_v{sub['version']}{again}.eml"
    return write_atomic(out, msg.to_bytes())


def build_notice(ws: Workspace, unit_name: str, sender: str, items: list[sqlite3.Row], original: tuple[str | None, str | None],
                 template: Path | None) -> Mail:
    """The answer to a message none of whose items could be taken as a submission: what arrived, what happened
    to each item (with its code), and what to do."""
    headers = mail_headers(ws, f"【未能受理】{unit_name} 报送的邮件中没有可审核的附表", sender, original)
    lines = [f"{unit_name}：", "", f"贵单位发来的邮件中共有 {len(items)} 项，均未能作为报表受理，未计入报送：", ""]
    for i, row in enumerate(items, 1):
        lines.append(f"  {i}. {escape_text(row['filename'])}：[{row['code'] or '—'}] {row['note'] or ''}")
        if row["fix"]:
            lines.append(f"     处理办法：{row['fix']}")
    lines.append("")
    if template is not None:
        lines += ["附件为贵单位本期的附表模板，请在浅黄色单元格中填写后，直接将该文件作为附件报送。", ""]
    lines += ["（本邮件由 qtables 自动生成。）"]
    return Mail(headers, "\n".join(lines), (template.name, template.read_bytes()) if template is not None else None)


def write_notice(ws: Workspace, name: str, msg: Mail) -> Path:
    out = ws.path / "outbox" / f"notice_{name}.eml"
    return write_atomic(out, msg.to_bytes())


@contextmanager
def smtp_session(ws: Workspace, *, host: str | None = None, port: int | None = None) -> Iterator[smtplib.SMTP]:
    """A connection to the workspace's SMTP server (``[smtp]`` host, port, starttls; the account from
    QTABLES_SMTP_USER / QTABLES_SMTP_PASSWORD), for replies and reminders alike."""
    cfg = ws.config.get("smtp", {})
    user = os.environ.get("QTABLES_SMTP_USER") or cfg.get("user")
    password = os.environ.get("QTABLES_SMTP_PASSWORD")
    with smtplib.SMTP(host or cfg.get("host", "localhost"), int(port or cfg.get("port", 25)), timeout=30) as smtp:
        if cfg.get("starttls"):
            smtp.starttls()
        if user and password:
            smtp.login(user, password)
        yield smtp


def send_outbox(ws: Workspace, *, host: str | None = None, port: int | None = None) -> list[Path]:
    """Send every .eml in the outbox not sent yet; sent ones move to outbox/sent/."""
    outbox = ws.path / "outbox"
    sent_dir = outbox / "sent"
    sent_dir.mkdir(parents=True, exist_ok=True)
    sent = []
    files = sorted(outbox.glob("*.eml"))
    if not files:
        return sent
    with smtp_session(ws, host=host, port=port) as smtp:
        for path in files:
            smtp.send_message(__import__("email").message_from_bytes(path.read_bytes(), policy=__import__("email").policy.default))
            target = sent_dir / path.name
            path.replace(target)
            sent.append(target)
    return sent
