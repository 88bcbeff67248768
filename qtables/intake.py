"""``qtables intake``: take in whatever arrived, check it, record it, answer it.

Each item (attachment, file, zip member) is archived by SHA-256, identified by
its content, checked, and recorded with its status in one ledger transaction.
Nothing is lost (every original is archived, even what cannot be read),
counted twice (an arrival is keyed by where it came from and its bytes; the
same bytes twice are a duplicate), or accepted from a sender not allowed for
the unit (quarantined).  Receipts and reply mails are produced from the ledger
afterwards, so they are completed by a rerun after any interruption.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from qtables.check import CheckContext, Report, check_file
from qtables.findings import Finding, make
from qtables.read import _KIND_TEXT, ReadLimits, sniff
from qtables.sources import WORKBOOK_KINDS, Item, Limits, iter_items
from qtables.spec import Spec, load_spec
from qtables.store import ArrivalKey, Ledger
from qtables.workspace import Workspace


@dataclass
class Outcome:
    """One record per item received (what ``intake --json`` prints)."""

    name: str
    source: str
    sha256: str
    status: str
    unit: str | None = None
    period: str | None = None
    sender: str | None = None
    received_at: str = ""
    version: int | None = None
    findings: int = 0
    errors: int = 0
    warnings: int = 0
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def allowed_senders(ws: Workspace, unit_code: str) -> list[str]:
    return [s.strip().lower() for s in ws.config.get("senders", {}).get(unit_code, []) if str(s).strip()]


def sender_allowed(ws: Workspace, unit_code: str, sender: str | None) -> bool:
    """With no list for the unit, anyone may send; with one, the address or its @domain must be on it."""
    allowed = allowed_senders(ws, unit_code)
    if not allowed:
        return True
    if not sender:
        return False
    sender = sender.lower()
    return any(sender == a or (a.startswith("@") and sender.endswith(a)) for a in allowed)


def unit_of_sender(ws: Workspace, sender: str | None) -> str | None:
    if not sender:
        return None
    for code in ws.config.get("senders", {}):
        if sender_allowed(ws, code, sender) and allowed_senders(ws, code):
            return code
    return None


SPREADSHEET_NAMES = (".xlsx", ".xlsm", ".xls", ".ods", ".et", ".ett", ".csv")


def make_context(ws: Workspace, spec: Spec, ledger: Ledger) -> CheckContext:
    return CheckContext(spec, ws.registry, ws.signing_key, lookup=ledger.accepted_values, limits=ReadLimits.from_config(ws.config))


def intake(
    ws: Workspace,
    paths: Iterable[str | Path] = (),
    *,
    items: Iterable[Item] | None = None,
    spec: Spec | None = None,
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    spec = spec or load_spec()
    ledger = Ledger(ws.path)
    try:
        ctx = make_context(ws, spec, ledger)
        limits = Limits.from_config(ws.config)
        stream = items if items is not None else iter_items(list(paths), limits)
        outcomes: list[Outcome] = []
        reports: dict[str, Report] = {}
        group_unit: dict[str, str] = {}
        pending: list[Item] = []
        last_group = None
        for item in stream:
            # Other attachments of a message are attributed to the unit of its workbook:
            # hold them until the message's items are all seen.
            if last_group is not None and item.group != last_group:
                outcomes.extend(_flush(ws, ledger, ctx, pending, group_unit, progress, reports))
                pending = []
            last_group = item.group
            pending.append(item)
        outcomes.extend(_flush(ws, ledger, ctx, pending, group_unit, progress, reports))
        produce_outputs(ws, ledger, ctx, reports)
        return outcomes
    finally:
        ledger.close()


def _flush(ws, ledger, ctx, items: list[Item], group_unit: dict[str, str], progress, reports: dict[str, Report]) -> list[Outcome]:
    workbooks = [i for i in items if not i.problem and sniff(i.data) in WORKBOOK_KINDS]
    others = [i for i in items if i not in workbooks]
    out = []
    for item in workbooks + others:
        outcome = _one(ws, ledger, ctx, item, group_unit, reports)
        out.append(outcome)
        if progress:
            progress(outcome)
    return out


def _one(ws: Workspace, ledger: Ledger, ctx: CheckContext, item: Item, group_unit: dict[str, str], reports: dict[str, Report]) -> Outcome:
    sha = hashlib.sha256(item.data).hexdigest()
    key = ArrivalKey(item.source_id, sha).text()
    outcome = Outcome(name=item.name, source=item.source, sha256=sha, status="already-recorded", sender=item.sender,
                      received_at=item.received_at)
    if ledger.has_arrival(key):
        row = ledger.db.execute("SELECT status, unit_code, period FROM arrivals WHERE arrival_key = ?", (key,)).fetchone()
        outcome.unit, outcome.period = row["unit_code"], row["period"]
        outcome.message = f"已于此前收取（{row['status']}）"
        return outcome
    ledger.store_original(sha, item.data)
    arrival = {
        "arrival_key": key, "sha256": sha, "filename": item.name, "size": len(item.data), "source": item.source,
        "message_id": item.message_id, "sender": item.sender, "subject": item.subject,
        "received_at": item.received_at, "unit_code": None, "period": None, "note": None,
    }
    kind = sniff(item.data) if not item.problem else "problem"
    if item.problem:
        finding = make(item.problem, name=item.name, detail=item.detail)
        arrival.update(kind="rejected-file", status="unreadable", note=finding.message)
        ledger.record(arrival=arrival, submission=None, findings=[], cells=[])
        outcome.status, outcome.message = "unreadable", finding.message
        return outcome
    if kind not in WORKBOOK_KINDS and not item.name.lower().endswith(SPREADSHEET_NAMES):
        unit = group_unit.get(item.group) or unit_of_sender(ws, item.sender)
        finding = make("A01", name=item.name, kind=_KIND_TEXT.get(kind, _KIND_TEXT["unknown"]))
        arrival.update(kind="attachment", status="attachment", unit_code=unit, note=finding.message)
        ledger.record(arrival=arrival, submission=None, findings=[], cells=[])
        outcome.status, outcome.unit, outcome.message = "attachment", unit, finding.message
        return outcome

    report = check_file(item.name, ctx, data=item.data)
    reports[sha] = report
    status = report.status
    findings = list(report.findings)
    if report.unit is not None and not sender_allowed(ws, report.unit.code, item.sender) and item.sender is not None:
        findings.insert(0, make("Q01", found=item.sender, expected=report.unit.name))
        status = "quarantined"
    arrival.update(kind="workbook", status=status)
    outcome.errors = sum(1 for f in findings if f.severity in ("E", "F"))
    outcome.warnings = sum(1 for f in findings if f.severity == "W" and not f.explained)
    outcome.findings = len(findings)
    if report.unit is None or report.period is None:
        arrival["note"] = "；".join(f.message for f in findings)[:2000]
        ledger.record(arrival=arrival, submission=None, findings=[], cells=[])
        outcome.status, outcome.message = "unreadable", arrival["note"]
        return outcome
    group_unit[item.group] = report.unit.code
    arrival.update(unit_code=report.unit.code, period=report.period.code)
    submission = {
        "sha256": sha, "unit_code": report.unit.code, "period": report.period.code,
        "tables": ",".join(report.identity.tables), "template_id": report.identity.template_id, "status": status,
        "received_at": item.received_at, "sender": item.sender, "filename": item.name,
    }
    submission_id, final = ledger.record(
        arrival=arrival, submission=submission, findings=[_finding_row(f) for f in findings], cells=_cells(report)
    )
    outcome.status, outcome.unit, outcome.period = final, report.unit.code, report.period.code
    if submission_id is not None:
        outcome.version = ledger.db.execute("SELECT version FROM submissions WHERE id = ?", (submission_id,)).fetchone()[0]
    if final == "duplicate":
        outcome.message = "与此前收到的文件完全相同，不重复计入"
    return outcome


def _finding_row(f: Finding) -> dict[str, Any]:
    return f.as_json()


def _cells(report: Report) -> list[tuple[str, str, str, Any]]:
    out = []
    if report.data is None:
        return out
    for tid, td in report.data.tables.items():
        filled, _ = td.split_rows() if td.table.kind == "records" else (range(len(td.rows)), None)
        for i in filled:
            row_key = td.layout.rows[i].key
            for col in td.table.columns:
                if col.type == "key" and col.role != "label":
                    continue
                value = td.rows[i].get(col.id)
                if value is not None:
                    out.append((tid, row_key, col.id, value))
        for cid, value in td.total.items():
            if value is not None:
                out.append((tid, "_total", cid, value))
    return out


def produce_outputs(ws: Workspace, ledger: Ledger, ctx: CheckContext, reports: dict[str, Report] | None = None) -> None:
    """Receipts and reply mails for every submission that has none yet (idempotent).

    Reports from this run are reused; a submission left without outputs by an
    interrupted run is checked again from its archived original.
    """
    from qtables.mail import write_reply
    from qtables.receipt import write_receipt

    for sub in ledger.pending_outputs():
        original = ledger.archive_path(sub["sha256"])
        report = (reports or {}).get(sub["sha256"]) or check_file(sub["filename"], ctx, data=original.read_bytes())
        if sub["status"] == "quarantined":
            report.findings.insert(0, make("Q01", found=sub["sender"], expected=report.unit.name if report.unit else sub["unit_code"]))
        folder = ws.path / "receipts" / sub["period"] / sub["unit_code"]
        # Written straight under its final name: two intakes finishing the same
        # submission write the same file, and the last atomic rename wins.
        final = write_receipt(report, folder, original=original, prefix=f"v{sub['version']}_")
        reply = write_reply(ws, sub, report, final) if sub["sender"] else None
        ledger.set_outputs(sub["id"], receipt_path=str(final.relative_to(ws.path)),
                           reply_path=str(reply.relative_to(ws.path)) if reply else "")
