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
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from qtables.check import materials
from qtables.check.checker import check_file
from qtables.check.context import CheckContext, Report
from qtables.check.findings import CATALOGUE, Finding, make
from qtables.read.workbook import _KIND_TEXT, ReadLimits, sniff
from qtables.check.report import escape_text
from qtables.intake.batch import GROUP_ITEMS, Batch
from qtables.intake.items import WORKBOOK_KINDS, Item, Limits
from qtables.intake.sources import iter_items
from qtables.period import Period
from qtables.timing import beijing_date
from qtables.spec import Spec, load_spec
from qtables.intake.recheck import Recheck, peer_units, recheck_finding, recheck_units
from qtables.ledger.inputs import Input, inputs_of
from qtables.ledger.store import ArrivalKey, Ledger
from qtables.ledger.workspace import Workspace


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
    code: str = ""  # the finding that decided an item that is not a submission (F02, L03, A01 …)
    fix: str = ""
    previous_status: str = ""  # a re-checked filing (status "rechecked"): its verdict before and after
    new_status: str = ""
    error_codes: list[str] = field(default_factory=list)  # a submission's 强制性 problems, by code (I01, T5-01 …)

    def as_json(self) -> dict[str, Any]:
        """Outside text (names, sources, addresses, messages quoting them) with control and bidi characters shown
        as <U+XXXX>, so a name like "a\u202exslx.exe" cannot pass for "aexe.xlsx"."""
        out = dict(self.__dict__)
        for key in ("name", "source", "sender", "message"):
            out[key] = escape_text(out[key]) if out[key] is not None else None
        return out


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


SPREADSHEET_NAMES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".et", ".ett", ".csv")


def make_context(ws: Workspace, spec: Spec, ledger: Ledger) -> CheckContext:
    return CheckContext(spec, ws.registry, ws.signing_key, lookup=ledger.previous, quarters=ledger.quarters,
                        limits=ReadLimits.from_config(ws.config), projects=projects_lookup(spec, ledger))


def projects_lookup(spec: Spec, ledger: Ledger):
    """The ledger's project history for the lifecycle rules (None when the spec has no continuity block)."""
    c = spec.continuity
    if not c:
        return None
    tables, key = (c["ongoing"], c["completed"]), c["key"]
    return lambda unit_code, period, own=frozenset(): ledger.projects(unit_code, period, tables, key, own)


def intake(
    ws: Workspace,
    paths: Iterable[str | Path] = (),
    *,
    items: Iterable[Item] | None = None,
    spec: Spec | None = None,
    progress: Callable[[Outcome], None] | None = None,
    received_at: str | None = None,
) -> list[Outcome]:
    """Take in ``paths`` (or ``items``); ``received_at``: the registered date everything arrived (mailed paper,
    a USB stick handed over), which then stands for the received time of every item."""
    spec = spec or load_spec()
    ledger = ws.open_ledger()
    try:
        ctx = make_context(ws, spec, ledger)
        limits = Limits.from_config(ws.config)
        stream = items if items is not None else iter_items(list(paths), limits)
        reports: dict[str, Report] = {}
        group_unit: dict[str, tuple[str, str]] = {}  # message -> (unit, period) of its workbook
        batch = Batch(ledger, progress)
        pending: list[Item] = []
        last_group = None
        for item in stream:
            if received_at:
                item.received_at, item.received_basis = received_at, "given"
            # Other attachments of a message are attributed to the unit of its workbook:
            # hold them until the message's items are all seen.
            if last_group is not None and item.group != last_group:
                _take(ws, batch, ctx, pending, group_unit, reports)
                pending = []
            last_group = item.group
            pending.append(item)
        _take(ws, batch, ctx, pending, group_unit, reports)
        batch.flush()
        outcomes = batch.done
        changed = _changed(outcomes)
        units = {u for u, _p in changed} | peer_units(ledger, spec, changed)
        outcomes.extend(recheck_outcomes(recheck_units(ledger, ctx, units, reports)))
        produce_outputs(ws, ledger, ctx, reports)
        return outcomes
    finally:
        ledger.close()


def _changed(outcomes: list[Outcome]) -> set[tuple[str, str]]:
    """(unit, period) whose ledger gained a submission in this run (later filings may have used what it replaced)."""
    return {(o.unit, o.period) for o in outcomes if o.unit and o.period and o.version is not None and o.status != "duplicate"}


def recheck_outcomes(rechecks: list[Recheck]) -> list[Outcome]:
    """A changed verdict of an earlier filing, as one more record of the run (status "rechecked")."""
    return [Outcome(name=r.filename, source="复核", sha256=r.sha256, status="rechecked", unit=r.unit, period=r.period,
                    version=r.version, message=r.text, previous_status=r.before, new_status=r.after) for r in rechecks]


def _take(ws, batch: Batch, ctx, items: list[Item], group_unit: dict[str, tuple[str, str]], reports: dict[str, Report]) -> None:
    """A message's items into the batch: its workbooks first (the other attachments are attributed to their unit)."""
    workbooks = [i for i in items if not i.problem and sniff(i.data) in WORKBOOK_KINDS]
    others = [i for i in items if i not in workbooks]
    for item in workbooks + others:
        _one(ws, batch, ctx, item, group_unit, reports)


def _one(ws: Workspace, batch: Batch, ctx: CheckContext, item: Item, group_unit: dict[str, tuple[str, str]],
         reports: dict[str, Report]) -> None:
    ledger = batch.ledger
    sha = hashlib.sha256(item.data).hexdigest()
    key = ArrivalKey(item.source_id, sha).text()
    outcome = Outcome(name=item.name, source=item.source, sha256=sha, status="already-recorded", sender=item.sender,
                      received_at=item.received_at)
    if batch.waiting(key=key):
        batch.flush()  # the same item twice in one run: the second finds the first recorded
    if ledger.has_arrival(key):
        row = ledger.db.execute("SELECT status, unit_code, period, submission_id FROM arrivals WHERE arrival_key = ?",
                                (key,)).fetchone()
        outcome.unit, outcome.period = row["unit_code"], row["period"]
        if row["submission_id"] is not None and row["unit_code"] and row["period"]:
            # A rerun after an interruption: the message's other attachments still belong to this workbook's unit.
            group_unit.setdefault(item.group, (row["unit_code"], row["period"]))
        outcome.message = f"已于此前收取（{row['status']}）"
        batch.add(outcome)
        return
    arrival = {
        "arrival_key": key, "sha256": sha, "filename": item.name, "size": len(item.data), "source": item.source,
        "message_id": item.message_id, "sender": item.sender, "subject": item.subject,
        "received_at": item.received_at, "unit_code": None, "period": None, "note": None,
        "received_basis": item.received_basis,
    }
    kind = sniff(item.data) if not item.problem else "problem"

    def record(submission=None, findings=(), cells=(), inputs=None, projects=frozenset()) -> None:
        batch.add(outcome, {"arrival": arrival, "submission": submission, "findings": list(findings), "cells": list(cells),
                            "inputs": inputs, "projects": projects}, sha256=sha, data=item.data)

    if item.problem:
        finding = make(item.problem, name=item.name, detail=item.detail)
        arrival.update(kind="rejected-file", status="unreadable", note=finding.message, **_attribution(ws, item, group_unit))
        _decided(arrival, outcome, finding)
        outcome.status, outcome.unit = "unreadable", arrival["unit_code"]
        return record()
    if kind not in WORKBOOK_KINDS and not item.name.lower().endswith(SPREADSHEET_NAMES):
        finding = make("A01", name=item.name, kind=_KIND_TEXT.get(kind, _KIND_TEXT["unknown"]))
        arrival.update(kind="attachment", status="attachment", note=finding.message, **_attribution(ws, item, group_unit))
        _decided(arrival, outcome, finding)
        outcome.status, outcome.unit = "attachment", arrival["unit_code"]
        return record()

    report = check_file(item.name, ctx, data=item.data)
    if report.unit is not None and batch.waiting(unit=report.unit.code, projects=report.projects):
        # Its check read the ledger without what the batch holds of its unit (or of a unit listing its projects).
        batch.flush()
        report = check_file(item.name, ctx, data=item.data)
    reports[sha] = report
    status = report.status
    findings = list(report.findings)
    if report.unit is not None and not sender_allowed(ws, report.unit.code, item.sender) and item.sender is not None:
        findings.insert(0, make("Q01", found=item.sender, expected=report.unit.name))
        status = "quarantined"
    arrival.update(kind="workbook", status=status)
    errors = [f.code for f in findings if f.severity in ("E", "F")]
    outcome.errors, outcome.error_codes = len(errors), list(dict.fromkeys(errors))
    outcome.warnings = sum(1 for f in findings if f.severity == "W" and not f.explained)
    outcome.findings = len(findings)
    if report.unit is None or report.period is None:
        arrival["note"] = "；".join(f.message for f in findings)[:2000]
        arrival.update(_attribution(ws, item, group_unit))
        decisive = next((f for f in findings if f.severity == "F"), findings[0] if findings else make("F05", name=item.name))
        _decided(arrival, outcome, decisive)
        outcome.message = arrival["note"]
        outcome.status, outcome.unit = "unreadable", arrival["unit_code"]
        return record()
    group_unit[item.group] = (report.unit.code, report.period.code)
    arrival.update(unit_code=report.unit.code, period=report.period.code)
    submission = {
        "sha256": sha, "unit_code": report.unit.code, "period": report.period.code,
        "tables": ",".join(report.identity.tables), "template_id": report.identity.template_id, "status": status,
        "received_at": item.received_at, "sender": item.sender, "filename": item.name,
        "received_basis": item.received_basis,
    }
    outcome.unit, outcome.period = report.unit.code, report.period.code
    record(submission, [f.as_json() for f in findings], _cells(report), report_inputs(ctx.spec, report), report.projects)


def keyed_table(spec: Spec, tables) -> str | None:
    """The table whose 接转 reads the previous period (附表5 or 附表7), if the submission has one."""
    return next((t for t in tables if t in spec.tables and spec.table(t).kind == "keyed"), None)


def report_inputs(spec: Spec, report: Report) -> list[Input] | None:
    """What the check of ``report`` used from other periods (None: a submission with no 附表5/附表7)."""
    if report.identity is None or report.period is None or keyed_table(spec, report.identity.tables) is None:
        return None
    return inputs_of(report.period, report.previous, report.quarters, report.history, report.projects)


def _attribution(ws: Workspace, item: Item, group_unit: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Unit and period of an item that carries neither: its message's workbook, else the sender's unit and the
    quarter its arrival date falls to (Period.reported_at)."""
    if item.group in group_unit:
        unit, period = group_unit[item.group]
        return {"unit_code": unit, "period": period}
    unit = unit_of_sender(ws, item.sender)
    return {"unit_code": unit, "period": _arrival_period(item.received_at) if unit else None}


def _arrival_period(received_at: str) -> str | None:
    try:
        return Period.reported_at(datetime.fromisoformat(received_at).date()).code
    except ValueError:
        return None


def _decided(arrival: dict[str, Any], outcome: Outcome, finding: Finding) -> None:
    """An item that is not a submission still gets a coded verdict: in the ledger, the JSON and the text output."""
    fix = CATALOGUE[finding.code].fix if finding.code in CATALOGUE else ""
    arrival.update(code=finding.code, severity=finding.severity, fix=fix)
    outcome.code, outcome.fix, outcome.message = finding.code, fix, finding.message


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
    """Receipts and reply mails for every submission that has none yet (idempotent): reports from this run are
    reused; a submission left without outputs by an interrupted run is checked again from its archived original."""
    from qtables.intake.mail import write_reply
    from qtables.receipt.workbook import Office, write_receipt

    done: list[tuple[int, str, str]] = []
    pending = ledger.pending_outputs()
    # Taken in one transaction; what another desk on this ledger is answering is left to it.
    mine = ledger.claim_outputs([sub["id"] for sub in pending], f"{socket.gethostname()}:{ws.path.resolve()}")
    for sub in (sub for sub in pending if sub["id"] in mine):
        original = ledger.archive_path(sub["sha256"])
        report = (reports or {}).get(sub["sha256"]) or check_file(sub["filename"], ctx, data=original.read_bytes())
        if sub["status"] == "quarantined":
            report.findings.insert(0, make("Q01", found=sub["sender"], expected=report.unit.name if report.unit else sub["unit_code"]))
        recheck = ledger.last_recheck(sub["id"])
        recheck = recheck if recheck is not None and recheck["receipt_path"] is None else None
        if recheck is not None:
            report.findings.insert(0, recheck_finding(recheck))
        folder = ws.path / "receipts" / sub["period"] / sub["unit_code"]
        # Written straight under its final name: two intakes finishing the same
        # submission write the same file, and the last atomic rename wins.  A re-checked verdict gets its own.
        n = ledger.rechecks_of(sub["id"]) if recheck is not None else 0
        final = write_receipt(report, folder, original=original, prefix=f"v{sub['version']}r{n}_" if n else f"v{sub['version']}_",
                              version=sub["version"], office=Office.of(ws, beijing_date(sub["received_at"])))
        mail = ledger.db.execute("SELECT message_id, subject FROM arrivals WHERE submission_id = ? ORDER BY id LIMIT 1",
                                 (sub["id"],)).fetchone()
        thread = (mail["message_id"], mail["subject"]) if mail else (None, None)
        reply = write_reply(ws, sub, report, final, thread, missing=_missing_materials(ledger, ctx.spec, sub),
                            recheck=recheck, recheck_number=n) if sub["sender"] else None
        done.append((sub["id"], str(final.relative_to(ws.path)), str(reply.relative_to(ws.path)) if reply else ""))
        if len(done) >= GROUP_ITEMS:
            ledger.set_outputs_many(done)
            done = []
    # Recorded a group at a time: a run stopped before that writes the same files again (same names) and records them.
    ledger.set_outputs_many(done)
    produce_notices(ws, ledger, ctx.spec)


def _missing_materials(ledger: Ledger, spec: Spec, sub) -> list[str]:
    """The required materials (the 分析报告) not yet received from the submission's unit for its period."""
    try:
        period = Period.parse(sub["period"])
    except Exception:  # noqa: BLE001 - a period the ledger holds always parses; nothing to say otherwise
        return []
    files = ledger.db.execute("SELECT filename, sha256 FROM arrivals WHERE unit_code = ? AND period = ? AND kind = 'attachment'",
                              (sub["unit_code"], sub["period"])).fetchall()
    got = materials.received(spec, period, [(r["filename"], ledger.archive_path(r["sha256"])) for r in files])
    return materials.missing_text(spec, period, got)


def produce_notices(ws: Workspace, ledger: Ledger, spec: Spec) -> None:
    """One notice per message from a unit's address none of whose items became a submission (idempotent)."""
    from qtables.intake.mail import build_notice, write_notice

    rows = ledger.db.execute(
        "SELECT * FROM arrivals WHERE notice_path IS NULL AND status IN ('unreadable', 'attachment') ORDER BY id").fetchall()
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(row["message_id"] or row["source"], []).append(row)
    for key, items in groups.items():
        first = items[0]
        answered = ledger.db.execute(
            "SELECT 1 FROM arrivals WHERE (message_id = ? OR (message_id IS NULL AND source = ?)) AND submission_id IS NOT NULL",
            (first["message_id"], first["source"])).fetchone()
        unit_code = next((r["unit_code"] for r in items if r["unit_code"]), None)
        due = (not answered and first["sender"] and unit_code and any(r["status"] == "unreadable" for r in items))
        path = ""
        if due:
            unit = ws.registry.unit(unit_code)
            template = None
            if any(r["code"] == "F06" for r in items):
                template = template_for(ws, spec, unit_code, items[0]["period"])
            msg = build_notice(ws, unit.name, first["sender"], items, (first["message_id"], first["subject"]), template)
            name = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
            path = str(write_notice(ws, f"{unit_code}_{name}", msg).relative_to(ws.path))
        with ledger.transaction() as db:
            db.executemany("UPDATE arrivals SET notice_path = ? WHERE id = ?", [(path, r["id"]) for r in items])


def template_for(ws: Workspace, spec: Spec, unit_code: str, period_code: str | None) -> Path | None:
    """The unit's own template for the period, issued on the fly (attached to the answer to an old-format 附表)."""
    from qtables.issue.run import issue_templates

    if not period_code:
        return None
    out = ws.path / "outbox" / "templates" / period_code
    [issued] = issue_templates(ws, period=Period.parse(period_code), out_dir=out, unit_codes=[unit_code], spec=spec)
    return issued.path
