"""When a filing was received, on our side, in 北京时间 — the time 按时 is judged by.

The received time is what the receiving side saw, never only what the sender wrote: the IMAP server's
INTERNALDATE, else the topmost ``Received:`` header (added by the server that took the message in), else the
sender's own ``Date:`` (a fallback, said so), else the file's modification time; ``intake --received-at``
registers the date a mailed paper form (第十六条 邮寄) arrived.  Every time is normalised to 北京时间 (UTC+8),
so the same instant written as +0000 or +0800 is the same day against the deadline.
"""

from __future__ import annotations

import email.utils
import re
from datetime import date, datetime, timedelta, timezone
from email.message import Message

BEIJING = timezone(timedelta(hours=8))

# How each received time was established (arrivals.received_basis), as a clerk reads it.
BASIS_TEXT = {
    "imap": "邮件服务器收到时间",
    "received": "本方邮件服务器 Received 记录",
    "date": "发件人邮件头 Date（未找到服务器收到时间）",
    "file": "文件修改时间",
    "given": "登记的收到日期（邮寄或面交）",
    "import": "导入时间",
}


def beijing(dt: datetime, *, naive_is_utc: bool = False) -> str:
    """``dt`` in 北京时间 as ISO text; a time without a zone is taken as 北京时间 (or UTC when said so)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc if naive_is_utc else BEIJING)
    return dt.astimezone(BEIJING).isoformat(timespec="seconds")


def as_beijing(text: str | None) -> str:
    """An ISO time from the ledger in 北京时间 (earlier ledgers kept the sender's offset); unparseable text as is."""
    if not text:
        return ""
    try:
        return beijing(datetime.fromisoformat(text))
    except ValueError:
        return text


def beijing_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(as_beijing(text)).date()
    except ValueError:
        return None


def _header_time(raw: str) -> str | None:
    try:
        dt = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    # RFC 5322 §3.3: "-0000" is UTC with no local offset known; no zone at all (obsolete) is taken as 北京时间.
    return beijing(dt, naive_is_utc=bool(re.search(r"[-+]0000\s*$|\b(UT|GMT|UTC|Z)\s*$", raw.strip())))


def received_time(msg: Message, header, fallback: str, ours: str = "") -> tuple[str, str]:
    """(received time in 北京时间, basis) of a message; ``header(msg, name)`` reads one decoded header,
    ``ours`` is the server's own time (IMAP INTERNALDATE) when there is one."""
    if ours:
        return as_beijing(ours), "imap"
    received = msg.get_all("Received") or []
    if received:
        top = str(received[0])
        when = _header_time(top.rsplit(";", 1)[-1]) if ";" in top else None
        if when:
            return when, "received"
    raw = header(msg, "Date")
    if raw:
        when = _header_time(raw)
        if when:
            return when, "date"
    return as_beijing(fallback), "file"


def given_date(text: str) -> str:
    """``--received-at 2025-09-28`` (or a full ISO time) as a received time in 北京时间."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            y, m, d = (int(x) for x in text.split("-"))
            return datetime(y, m, d, tzinfo=BEIJING).isoformat(timespec="seconds")
        return beijing(datetime.fromisoformat(text))
    except ValueError:
        from qtables.errors import UsageError

        raise UsageError(f"收到日期“{text}”无法识别", code="U035", hint="请写成 2025-09-28（北京时间）。") from None


def today_beijing() -> date:
    """Today in Beijing; ``QTABLES_TODAY`` (YYYY-MM-DD) stands for it — for tests, and for replaying a day's
    reminders.  A malformed value is refused (U043), not ignored."""
    import os

    given = os.environ.get("QTABLES_TODAY", "").strip()
    if given:
        try:
            return date.fromisoformat(given)
        except ValueError:
            from qtables.errors import UsageError

            raise UsageError(f"环境变量 QTABLES_TODAY 不是日期：{given}", code="U043", hint="应形如 2025-10-03，或删去该变量。") from None
    return datetime.now(BEIJING).date()
