"""Verdicts that stay true: a change to what a check used re-checks it, and only then.

A generated four-quarter + annual chain of 洛阳市 goes through intake as mail.  Q2 v2 changes 在建:
Q3 (accepted against Q2 v1) is re-checked and now 退回 (T5-P1), shown in the intake output, status, the
master and a new reply in the filing's thread; the change runs on down the chain.  A Q2 v3 that changes only
附表1 re-checks nothing.  A Q3 that arrived before Q2 loses its P00 note when Q2 arrives.
"""

from __future__ import annotations

import email
import email.policy
import json

import openpyxl
import pytest
from click.testing import CliRunner

from conftest import TEST_KEY
from mailfixtures import python_eml
from test_periods import QUARTERS, UNIT, chain, write
from qtables.cli import main
from qtables.intake.run import intake
from qtables.ledger.workspace import init_workspace
from qtables.status import period_status

SENDER = "lyjszl@example.gov.cn"
OTHER = "410200"


def mail(path, subject, date="Tue, 30 Sep 2025 10:00:00 +0800"):
    eml = path.with_suffix(".eml")
    data = python_eml(SENDER, [(path.name, path.read_bytes())], subject=subject, date=date)
    eml.write_bytes(f"Message-ID: <{path.stem}@example.gov.cn>\r\n".encode() + data)  # so a reply has a thread to join
    return eml


def submissions(ws, period):
    ledger = ws.open_ledger()
    try:
        return [dict(r) for r in ledger.db.execute(
            "SELECT id, version, status, is_current FROM submissions WHERE unit_code = ? AND period = ? ORDER BY id", (UNIT, period))]
    finally:
        ledger.close()


def codes(ws, period):
    ledger = ws.open_ledger()
    try:
        [sub] = [r for r in ledger.current_submissions(period) if r["unit_code"] == UNIT]
        return {f["code"] for f in ledger.findings_of(sub["id"])}
    finally:
        ledger.close()


def current(ledger, period):
    [sub] = [r for r in ledger.current_submissions(period) if r["unit_code"] == UNIT]
    return sub


def bump_ucon(values):
    """Q2 corrected: one more project 在建 in the first county row and the total (a 核实性 stock-flow note only)."""
    values["t5"][0]["ucon_count"] += 1


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def history(spec, tmp_path_factory, request):
    """A unit's whole chain (four quarters and the year) taken in — on each backend: the re-checks' SQL (check_inputs,
    verdicts, project keys) behaves alike on SQLite and PostgreSQL."""
    root = tmp_path_factory.mktemp("recheck")
    url = request.getfixturevalue("pg_server").new_database() if request.param == "postgresql" else None
    ws = init_workspace(root / "ws", signing_key=TEST_KEY, database=url)
    ws.open_ledger().close()
    fillings = chain(spec, ws.registry, UNIT)
    for code in QUARTERS + ["2025"]:
        intake(ws, [mail(write(root / f"{UNIT}_{code}.xlsx", spec, ws, UNIT, code, fillings[code]), f"{code} 附表")], spec=spec)
    # Another unit's Q3, so the province's master has something accepted besides.
    other = chain(spec, ws.registry, OTHER)["2025Q3"]
    intake(ws, [write(root / f"{OTHER}_2025Q3.xlsx", spec, ws, OTHER, "2025Q3", other)], spec=spec)
    return ws, fillings, root


def test_the_clean_chain_is_accepted_and_records_what_each_check_used(history):
    ws, _f, _root = history
    for code in QUARTERS + ["2025"]:
        [sub] = submissions(ws, code)
        assert sub["status"] == "accepted", code
    ledger = ws.open_ledger()
    try:
        q3 = current(ledger, "2025Q3")
        inputs = ledger.inputs(q3["id"])
        assert sorted(i.role for i in inputs) == ["history", "peers", "previous"]
        [used] = [i for i in inputs if i.role == "previous"]
        q2 = current(ledger, "2025Q2")
        assert (used.role, used.period, used.source_id) == ("previous", "2025Q2", q2["id"])
        year = current(ledger, "2025")
        roles = sorted((i.role, i.period, i.source_id is not None) for i in ledger.inputs(year["id"]))
        assert roles == [("previous", "2024", False)] + [("quarter", q, True) for q in QUARTERS]
    finally:
        ledger.close()


def test_a_corrected_previous_quarter_rechecks_the_later_filings_down_the_chain(spec, history):
    ws, fillings, root = history
    path = write(root / f"{UNIT}_2025Q2_更正.xlsx", spec, ws, UNIT, "2025Q2", fillings["2025Q2"], mutate=bump_ucon)
    eml = mail(path, "2025Q2 附表（更正）", date="Fri, 10 Oct 2025 10:00:00 +0800")
    result = CliRunner().invoke(main, ["intake", "--workspace", str(ws.path), str(eml)])
    assert result.exit_code == 0, result.output
    # The intake output names the changed verdict and why.
    assert "复核" in result.output and "2025年第3季度 第1版" in result.output and "通过 → 退回" in result.output, result.output
    assert "2025年第2季度报表由第1版更正为第2版" in result.output, result.output
    # Q3 is now 退回 with the 接转 finding at its cell; Q4 no longer has an accepted Q3 to compare with (P00), and
    # the year's quarters are no longer all accepted (A00): each said, none silent.
    assert submissions(ws, "2025Q3")[0]["status"] == "rejected"
    assert "T5-P1" in codes(ws, "2025Q3")
    assert "P00" in codes(ws, "2025Q4")
    assert "A00" in codes(ws, "2025")
    # History kept: the earlier verdict is a dated row with its findings.
    ledger = ws.open_ledger()
    try:
        q3 = current(ledger, "2025Q3")
        [verdict] = ledger.db.execute("SELECT * FROM verdicts WHERE submission_id = ?", (q3["id"],)).fetchall()
        assert (verdict["status_before"], verdict["status_after"]) == ("accepted", "rejected")
        assert "T5-P1" not in verdict["findings_before"] and verdict["decided_at"]
        assert verdict["receipt_path"] and verdict["reply_path"].endswith("_v1_r1.eml")
        reply = email.message_from_bytes((ws.path / verdict["reply_path"]).read_bytes(), policy=email.policy.default)
        original = ledger.db.execute("SELECT message_id FROM arrivals WHERE submission_id = ?", (q3["id"],)).fetchone()[0]
    finally:
        ledger.close()
    # A new reply, in the thread of the Q3 filing, saying what changed.
    assert original == f"<{UNIT}_2025Q3@example.gov.cn>" and reply["In-Reply-To"] == original and "复核结果" in reply["Subject"]
    receipt = ws.path / verdict["receipt_path"]
    first = [r for r in openpyxl.load_workbook(receipt)["审核结果"].iter_rows(values_only=True) if r and r[0] == 1][0]
    assert first[1] == "R01" and "通过 → 退回" in first[4]  # the receipt opens with what changed
    title = next(r[0] for r in openpyxl.load_workbook(receipt)["审核结果"].iter_rows(values_only=True) if r and r[0])
    assert title.startswith("复核结果：退回")
    body = reply.get_body(("plain",)).get_content()
    assert "原审核结果为“通过”" in body and "退回" in body and "T5-P1" in body and "由第1版更正为第2版" in body
    # status shows it
    summary = period_status(ws, spec, __import__("qtables.period", fromlist=["Period"]).Period.parse("2025Q3"))
    [unit] = [u for u in summary["units"] if u["code"] == UNIT]
    assert unit["status"] == "rejected" and "通过 → 退回" in unit["recheck"]
    shown = CliRunner().invoke(main, ["status", "--workspace", str(ws.path), "--period", "2025Q3"])
    assert "因复核：通过 → 退回" in shown.output, shown.output
    # the master's 报送情况 shows it
    merged = CliRunner().invoke(main, ["merge", "--workspace", str(ws.path), "--period", "2025Q3"])
    assert merged.exit_code in (0, 1) and "汇总表：" in merged.output, merged.output  # 1: units missing (said)
    wb = openpyxl.load_workbook(ws.path / "masters" / "2025Q3_全省汇总.xlsx", read_only=True)
    texts = [str(c) for row in wb["报送情况"].iter_rows(values_only=True) for c in row if c]
    assert any("通过 → 退回" in t for t in texts)


def test_a_resubmission_that_changes_nothing_a_later_check_used_rechecks_nothing(spec, history):
    ws, fillings, root = history

    def corrected_and_t1_typo(values):
        bump_ucon(values)
        if values.get("t1"):
            values["t1"][0] = dict(values["t1"][0], fact=(values["t1"][0].get("fact") or "") + "（补充）")

    # Q2 corrected first (as in the test before; the same bytes again are a duplicate), so only the 附表1 edit is new.
    corrected = write(root / f"{UNIT}_2025Q2_更正.xlsx", spec, ws, UNIT, "2025Q2", fillings["2025Q2"], mutate=bump_ucon)
    intake(ws, [mail(corrected, "2025Q2 附表（更正）", date="Fri, 10 Oct 2025 10:00:00 +0800")], spec=spec)
    before = {code: submissions(ws, code) for code in QUARTERS + ["2025"]}
    ledger = ws.open_ledger()
    verdicts_before = ledger.db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    ledger.close()
    path = write(root / f"{UNIT}_2025Q2_v3.xlsx", spec, ws, UNIT, "2025Q2", fillings["2025Q2"], mutate=corrected_and_t1_typo)
    outcomes = intake(ws, [mail(path, "2025Q2 附表（第3版）", date="Sat, 11 Oct 2025 10:00:00 +0800")], spec=spec)
    assert [o.status for o in outcomes] == ["accepted_with_warnings"]
    assert all(o.status != "rechecked" for o in outcomes)
    after = {code: submissions(ws, code) for code in QUARTERS + ["2025"]}
    assert {k: v for k, v in after.items() if k != "2025Q2"} == {k: v for k, v in before.items() if k != "2025Q2"}
    ledger = ws.open_ledger()
    try:
        assert ledger.db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] == verdicts_before  # no new verdict
    finally:
        ledger.close()


def test_a_late_previous_quarter_replaces_the_p00_note(spec, tmp_path):
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    fillings = chain(spec, ws.registry, UNIT)
    q3 = write(tmp_path / "q3.xlsx", spec, ws, UNIT, "2025Q3", fillings["2025Q3"])
    intake(ws, [mail(q3, "Q3")], spec=spec)
    assert "P00" in codes(ws, "2025Q3")
    q2 = write(tmp_path / "q2.xlsx", spec, ws, UNIT, "2025Q2", fillings["2025Q2"])
    outcomes = intake(ws, [mail(q2, "Q2", date="Wed, 01 Oct 2025 10:00:00 +0800")], spec=spec)
    [again] = [o for o in outcomes if o.status == "rechecked"]
    assert (again.period, again.previous_status, again.new_status) == ("2025Q3", "accepted", "accepted")
    assert "收到2025年第2季度报表" in again.message
    assert "P00" not in codes(ws, "2025Q3") and "P04" not in codes(ws, "2025Q3")
    # A rerun over the same mail re-checks nothing more.
    rerun = intake(ws, [mail(q2, "Q2", date="Wed, 01 Oct 2025 10:00:00 +0800")], spec=spec)
    assert [o.status for o in rerun] == ["already-recorded"]
    shown = json.loads(json.dumps(again.as_json(), ensure_ascii=False))  # what intake --json prints for it
    assert (shown["status"], shown["previous_status"], shown["new_status"]) == ("rechecked", "accepted", "accepted")


def test_importing_the_previous_period_rechecks_a_filing_checked_without_it(spec, tmp_path):
    """Day one mid-year: Q3 came in before the clerk imported Q2's master; the import re-checks Q3 against it."""
    from qtables.merge.master import merge

    source = init_workspace(tmp_path / "old", signing_key=TEST_KEY)
    fillings = chain(spec, source.registry, UNIT)
    intake(source, [write(tmp_path / "q2.xlsx", spec, source, UNIT, "2025Q2", fillings["2025Q2"], mutate=bump_ucon)], spec=spec)
    master = merge(source, spec, __import__("qtables.period", fromlist=["Period"]).Period.parse("2025Q2"))
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    intake(ws, [mail(write(tmp_path / "q3.xlsx", spec, ws, UNIT, "2025Q3", fillings["2025Q3"]), "Q3")], spec=spec)
    assert submissions(ws, "2025Q3")[0]["status"] == "accepted" and "P00" in codes(ws, "2025Q3")
    result = CliRunner().invoke(main, ["import-master", "--workspace", str(ws.path), str(master), "--period", "2025Q2",
                                       "--allow-partial"])
    assert result.exit_code == 0, result.output
    assert "[复核]" in result.output and "通过 → 退回" in result.output, result.output
    assert submissions(ws, "2025Q3")[0]["status"] == "rejected" and "T5-P1" in codes(ws, "2025Q3")
    assert list((ws.path / "outbox").glob("*_2025Q3_v1_r1.eml"))
