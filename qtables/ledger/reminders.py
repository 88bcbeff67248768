"""The ledger's record of 催报 mails (migration 8; mixed into Ledger).

A reminder is *claimed* (a row in state "sending") in a write transaction before its mail goes out, then marked
"sent" or "failed".  The row is unique per unit, period and day: a second run the same day — or another desk's
run at the same time — finds it and sends nothing.  A "failed" row is claimed again by the next run; a row left
"sending" by a run that was killed is taken over after ``STALE`` minutes (the mail may or may not have gone: the
note says so).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from qtables.ledger.schema import now_iso

STALE = timedelta(minutes=30)
DONE = ("sent", "written")  # a reminder that counts: mailed, or written to the outbox for the clerk to send


class ReminderLedger:
    def claim_reminder(self, *, unit_code: str, period: str, day: str, reasons: list[tuple[str, str]], recipients: list[str],
                       message_id: str, path: str, now: datetime, mailing: bool = True) -> bool:
        """Take the unit's reminder for ``day``; False when another run has it (or has sent it).  A run that mails
        (``mailing``) also takes one that was only written to the outbox that day."""
        with self.transaction() as db:
            row = db.execute("SELECT id, state, created_at FROM reminders WHERE unit_code = ? AND period = ? AND day = ?",
                             (unit_code, period, day)).fetchone()
            values = (json.dumps(reasons, ensure_ascii=False), ",".join(recipients), message_id, path, now_iso())
            if row is None:
                db.execute("INSERT INTO reminders (unit_code, period, day, reasons, recipients, message_id, path, state, created_at)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, 'sending', ?)", (unit_code, period, day, *values[:4], values[4]))
                return True
            stale = row["state"] == "sending" and _age(row["created_at"], now) > STALE
            if row["state"] == "failed" or stale or (mailing and row["state"] == "written"):
                db.execute("UPDATE reminders SET reasons = ?, recipients = ?, message_id = ?, path = ?, created_at = ?, state = 'sending',"
                           " code = NULL, note = ? WHERE id = ?",
                           (*values, "上次发送中断，不能确定是否已发出" if stale else None, row["id"]))
                return True
            return False

    def finish_reminder(self, unit_code: str, period: str, day: str, *, state: str, code: str | None = None,
                        note: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE reminders SET state = ?, code = ?, note = COALESCE(?, note), sent_at = ? WHERE unit_code = ? AND period = ?"
                       " AND day = ?", (state, code, note, now_iso() if state in DONE else None, unit_code, period, day))

    def reminders(self, period: str, unit_code: str | None = None) -> list[Any]:
        sql = "SELECT * FROM reminders WHERE period = ?" + (" AND unit_code = ?" if unit_code else "") + " ORDER BY unit_code, day"
        return self.db.execute(sql, (period, unit_code) if unit_code else (period,)).fetchall()


def _age(iso: str, now: datetime) -> timedelta:
    try:
        then = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return STALE * 2
    return now.astimezone(then.tzinfo) - then if now.tzinfo else now - then.replace(tzinfo=None)
