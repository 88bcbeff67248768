"""qtables intake and status: nothing lost, nothing counted twice, nothing from the wrong sender."""

from __future__ import annotations

import json
import mailbox
import random
import signal
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from builders import build_filled
from conftest import TEST_KEY
from mailfixtures import forwarded_eml, gbk_zip, python_eml, raw_gbk_eml, rfc2047_eml
from qtables.cli import main
from qtables.intake.run import intake
from qtables.period import Period
from qtables.intake.sources import iter_items
from qtables.status import period_status
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import init_workspace, open_workspace


@pytest.fixture
def ws(tmp_path):
    return init_workspace(tmp_path / "ws", signing_key=TEST_KEY)


@pytest.fixture
def either(tmp_path, backend):
    """A workspace on each backend (conftest ``backend``): the same behaviour on SQLite and on PostgreSQL."""
    made = init_workspace(tmp_path / "ws", signing_key=TEST_KEY, database=backend)
    made.open_ledger().close()
    return made


@pytest.fixture(scope="module")
def books(spec, workspace, tmp_path_factory):
    root = tmp_path_factory.mktemp("books")
    made = {}
    for code, seed in (("410100", 1), ("410181", 2), ("410200", 3), ("411729", 4)):
        made[code] = build_filled(root / f"{code}.xlsx", spec, workspace, code, "2025Q3", seed=seed)[0].read_bytes()
    made["410181-bad"] = build_filled(root / "bad.xlsx", spec, workspace, "410181", "2025Q3", seed=2,
                                      mutate=lambda v: v["t5"][0].update(satisfaction_rate=130))[0].read_bytes()
    return made


def test_attachment_names_in_every_encoding_come_out_right(books, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.eml").write_bytes(python_eml("a@x.cn", [("郑州市附表（第三季度）.xlsx", books["410100"])]))
    (inbox / "b.eml").write_bytes(rfc2047_eml("b@x.cn", "巩义市附表.xlsx", books["410181"]))
    (inbox / "c.eml").write_bytes(raw_gbk_eml("c@x.cn", "开封市附表.xlsx", books["410200"]))
    (inbox / "d.eml").write_bytes(forwarded_eml("city@x.cn", python_eml("county@x.cn", [("新蔡县附表.xlsx", books["411729"])])))
    (inbox / "e.zip").write_bytes(gbk_zip([("郑州市/郑州市附表.xlsx", books["410100"]), ("说明.txt", "测试".encode("gbk"))]))
    items = list(iter_items([inbox]))
    names = [i.name for i in items]
    assert names == ["郑州市附表（第三季度）.xlsx", "巩义市附表.xlsx", "开封市附表.xlsx", "新蔡县附表.xlsx", "郑州市附表.xlsx", "说明.txt"]
    assert items[3].sender == "city@x.cn"  # forwarded: counted under the forwarding sender
    assert items[0].received_at.startswith("2025-09-30T10:00:00")


def test_mbox_and_maildir(books, tmp_path):
    box = mailbox.mbox(str(tmp_path / "inbox.mbox"))
    box.add(message_from_bytes(python_eml("a@x.cn", [("郑州.xlsx", books["410100"])]), policy=policy.compat32))
    box.add(message_from_bytes(rfc2047_eml("b@x.cn", "巩义.xlsx", books["410181"]), policy=policy.compat32))
    box.close()
    md = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    md.add(message_from_bytes(raw_gbk_eml("c@x.cn", "开封.xlsx", books["410200"]), policy=policy.compat32))
    assert [i.name for i in iter_items([tmp_path / "inbox.mbox", tmp_path / "Maildir"])] == ["郑州.xlsx", "巩义.xlsx", "开封.xlsx"]


def test_intake_records_statuses_versions_duplicates_and_other_materials(either, books, tmp_path, spec):
    ws = either
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "1.eml").write_bytes(python_eml("zz@x.cn", [("郑州.xlsx", books["410100"]), ("盖章件.pdf", b"%PDF-1.4 stamped")]))
    (inbox / "2.eml").write_bytes(python_eml("gy@x.cn", [("巩义.xlsx", books["410181-bad"])]))
    (inbox / "3.eml").write_bytes(python_eml("gy@x.cn", [("巩义（改）.xlsx", books["410181"])], date="Fri, 10 Oct 2025 09:00:00 +0800"))
    (inbox / "4.eml").write_bytes(python_eml("zz@x.cn", [("郑州（重发）.xlsx", books["410100"])]))
    outcomes = intake(ws, [inbox], spec=spec)
    assert [(o.name, o.status, o.version) for o in outcomes] == [
        ("郑州.xlsx", "accepted", 1), ("盖章件.pdf", "attachment", None), ("巩义.xlsx", "rejected", 1),
        ("巩义（改）.xlsx", "accepted", 2), ("郑州（重发）.xlsx", "duplicate", 1)]  # a duplicate names the version it repeats
    ledger = ws.open_ledger()
    history = ledger.db.execute("SELECT version, status, is_current FROM submissions WHERE unit_code='410181' ORDER BY version").fetchall()
    assert [tuple(r) for r in history] == [(1, "rejected", 0), (2, "accepted", 1)]
    # every original archived once, read-only, by hash
    for o in outcomes:
        path = ledger.archive_path(o.sha256)
        assert path.exists()
        assert oct(path.stat().st_mode)[-3:] == "444"
    ledger.close()
    summary = period_status(ws, spec, Period.parse("2025Q3"))
    by = {u["code"]: u for u in summary["units"]}
    assert by["410100"]["status"] == "accepted" and by["410100"]["attachments"] == ["盖章件.pdf"]
    # sent on 9月30日, 退回, corrected on 10月10日 — within the 10-day 更正期限 of the version it corrects: 按时
    assert by["410181"]["version"] == 2 and by["410181"]["timing"] == "按时（退回后按期更正）" and by["410181"]["on_time"] is True
    assert by["410181"]["first_received"] == "2025-09-30T10:00:00+08:00" and by["410181"]["accepted_at"].startswith("2025-10-10")
    # 26 units sent nothing; the two accepted ones sent no 分析报告 (a stamped PDF is not one): all 28 are chased.
    assert summary["accepted"] == 2 and len(summary["chase"]) == 28
    assert {c["code"]: c["missing_materials"] for c in summary["chase"] if c["status"] == "accepted"} == {
        "410100": ["工程质量分析报告"], "410181": ["工程质量分析报告"]}
    receipts = sorted(p.name for p in (ws.path / "receipts" / "2025Q3" / "410181").iterdir())
    assert receipts == ["v1_巩义_审核回执.xlsx", "v2_巩义（改）_审核回执.xlsx"]
    reply = message_from_bytes(sorted((ws.path / "outbox").glob("*410181*v1.eml"))[0].read_bytes(), policy=policy.default)
    assert reply["To"] == "gy@x.cn" and "退回" in reply["Subject"]
    body = reply.get_body(("plain",)).get_content()
    assert "T5-01" in body and "必须改正" in body
    # The figure as the receipt's 实为 shows it, under the problem; the cell named once (the rule's message has it).
    assert "\n     实为 130\n" in body and body.count("附表5!") == body.count("[T5-0")
    [att] = list(reply.iter_attachments())
    assert att.get_filename() == "巩义_审核回执.xlsx"


def test_a_sender_not_allowed_for_the_unit_is_quarantined(tmp_path, books, spec):
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    cfg = ws.path / "qtables.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("[senders]", '[senders]\n"410100" = ["tongji@zz.gov.cn", "@zzjs.gov.cn"]'), encoding="utf-8")
    ws = open_workspace(ws.path)
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "1.eml").write_bytes(python_eml("stranger@qq.com", [("郑州.xlsx", books["410100"])]))
    (inbox / "2.eml").write_bytes(python_eml("li@zzjs.gov.cn", [("郑州2.xlsx", books["410100"][:-1] + b"\x00")]))
    outcomes = intake(ws, [inbox], spec=spec)
    assert outcomes[0].status == "quarantined"
    summary = period_status(ws, spec, Period.parse("2025Q3"))
    assert {u["code"]: u["status"] for u in summary["units"]}["410100"] != "accepted"


def test_rerunning_intake_adds_nothing(either, books, tmp_path, spec):
    ws = either
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i, code in enumerate(("410100", "410181", "410200")):
        (inbox / f"{i}.eml").write_bytes(python_eml(f"{code}@x.cn", [(f"{code}.xlsx", books[code])]))
    intake(ws, [inbox], spec=spec)
    ledger = ws.open_ledger()
    first = ledger.snapshot()
    ledger.close()
    again = intake(ws, [inbox], spec=spec)
    assert {o.status for o in again} == {"already-recorded"}
    ledger = ws.open_ledger()
    assert ledger.snapshot() == first
    assert ledger.db.execute("SELECT version, name FROM schema_migrations").fetchall()[0][1] == "initial"
    ledger.close()


def test_a_ledger_from_before_migration_4_keeps_every_cell(ws, books, tmp_path, spec):
    """Migration 4 moves the cells into a table without rowid: an older ledger's cells all come along."""
    import sqlite3

    from qtables.ledger import schema

    inbox = tmp_path / "old"
    inbox.mkdir()
    (inbox / "a.eml").write_bytes(python_eml("410100@x.cn", [("410100.xlsx", books["410100"])]))
    intake(ws, [inbox], spec=spec)
    ledger = ws.open_ledger()
    snapshot, cells = ledger.snapshot(), ledger.db.execute("SELECT * FROM cells ORDER BY 1, 2, 3, 4").fetchall()
    ledger.close()
    assert len(cells) > 100
    # The same ledger as migration 3 left it: cells in a rowid table, version 4 not recorded.
    db = sqlite3.connect(ws.path / "ledger.sqlite", isolation_level=None)
    db.execute("CREATE TABLE cells_old AS SELECT * FROM cells")
    db.execute("DROP TABLE cells")
    db.execute(schema.MIGRATIONS[0][2].split("CREATE TABLE cells (")[1].join(["CREATE TABLE cells (", ""]).rstrip().rstrip(";"))
    db.execute("INSERT INTO cells SELECT * FROM cells_old")
    db.execute("DROP TABLE cells_old")
    db.execute("DELETE FROM schema_migrations WHERE version = 4")
    assert "WITHOUT ROWID" not in db.execute("SELECT sql FROM sqlite_master WHERE name = 'cells'").fetchone()[0]
    db.close()
    ledger = ws.open_ledger()
    assert "WITHOUT ROWID" in ledger.db.execute("SELECT sql FROM sqlite_master WHERE name = 'cells'").fetchone()[0]
    assert ledger.db.execute("SELECT * FROM cells ORDER BY 1, 2, 3, 4").fetchall() == cells
    assert ledger.snapshot() == snapshot
    ledger.close()


def test_a_sender_address_in_chinese_still_gets_its_reply_written(ws, books, tmp_path, spec):
    """A From in raw 8-bit Chinese (found by fuzzing the reply writer): no RFC 5322 address, but intake goes on
    and the reply is written, in ASCII, with the address as encoded words."""
    inbox = tmp_path / "cn"
    inbox.mkdir()
    data = python_eml("410181@x.cn", [("410181.xlsx", books["410181"])])
    data = data.replace(b"From: 410181@x.cn", "From: 巩义市统计@政务.cn".encode("utf-8"), 1)
    data = data.replace(b"Subject: =?utf-8?b?6ZmE6KGo?=", "Subject: 巩义市附表（第三季度）".encode("gb18030"), 1)  # raw GBK, as old mailers
    (inbox / "a.eml").write_bytes(data)
    [outcome] = intake(ws, [inbox], spec=spec)
    assert outcome.sender == "巩义市统计@政务.cn"
    ledger = ws.open_ledger()
    assert ledger.db.execute("SELECT subject FROM arrivals").fetchone()[0] == "巩义市附表（第三季度）"
    ledger.close()
    [reply] = sorted((ws.path / "outbox").glob("*410181*.eml"))
    raw = reply.read_bytes()
    assert raw.isascii()
    assert "巩义市统计@政务.cn" in str(message_from_bytes(raw, policy=policy.default)["To"])


def test_intakes_look_ups_in_the_ledger_use_its_indexes(tmp_path):
    """Per submission and per message intake looks arrivals up; on a ledger of years each must be an index
    search, not a read of every arrival (migration 5)."""
    ledger = Ledger(tmp_path)
    for query, args in (("SELECT message_id, subject FROM arrivals WHERE submission_id = ? ORDER BY id LIMIT 1", (1,)),
                        ("SELECT 1 FROM arrivals WHERE (message_id = ? OR (message_id IS NULL AND source = ?)) AND submission_id IS NOT NULL", ("m", "s")),
                        ("SELECT 1 FROM arrivals WHERE arrival_key = ?", ("k",)),
                        ("SELECT filename, sha256 FROM arrivals WHERE unit_code = ? AND period = ? AND kind = 'attachment'", ("410100", "2025Q3"))):
        plan = " ".join(str(row[-1]) for row in ledger.db.execute("EXPLAIN QUERY PLAN " + query, args))
        assert "USING" in plan and "INDEX" in plan and "SCAN arrivals" not in plan, (query, plan)
    ledger.close()


def _inbox(tmp_path, books, n=12) -> Path:
    inbox = tmp_path / "batch"
    inbox.mkdir()
    codes = ["410100", "410181", "410200", "411729", "410181-bad"]
    for i in range(n):
        code = codes[i % len(codes)]
        (inbox / f"{i:02d}.eml").write_bytes(python_eml(f"u{i}@x.cn", [(f"附表{i}.xlsx", books[code]), (f"扫描{i}.pdf", b"%PDF-1.4 " + bytes([i]))]))
    return inbox


def _run_cli(ws_path: Path, inbox: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qtables.cli", "intake", "--workspace", str(ws_path), str(inbox), "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_at_random_points_then_rerun_equals_an_uninterrupted_run(tmp_path, books):
    inbox = _inbox(tmp_path, books)
    clean = init_workspace(tmp_path / "clean", signing_key=TEST_KEY)
    assert _run_cli(clean.path, inbox).wait(timeout=300) == 0
    expected = Ledger(clean.path).snapshot()
    rng = random.Random(4)
    for trial in range(6):
        ws = init_workspace(tmp_path / f"killed{trial}", signing_key=TEST_KEY)
        kills = 0
        for _ in range(4):
            proc = _run_cli(ws.path, inbox)
            time.sleep(rng.uniform(0.3, 2.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=60)
        final = _run_cli(ws.path, inbox)
        assert final.wait(timeout=300) == 0, final.stderr.read().decode()
        ledger = ws.open_ledger()
        assert ledger.snapshot() == expected, f"trial {trial} after {kills} kills"
        assert not ledger.pending_outputs()
        ledger.close()


def test_two_intakes_at_once_do_not_corrupt_the_ledger(tmp_path, books):
    inbox = _inbox(tmp_path, books, n=10)
    clean = init_workspace(tmp_path / "clean", signing_key=TEST_KEY)
    assert _run_cli(clean.path, inbox).wait(timeout=300) == 0
    ws = init_workspace(tmp_path / "both", signing_key=TEST_KEY)
    a, b = _run_cli(ws.path, inbox), _run_cli(ws.path, inbox)
    assert a.wait(timeout=300) == 0 and b.wait(timeout=300) == 0, (a.stderr.read(), b.stderr.read())
    ledger = ws.open_ledger()
    assert ledger.snapshot() == Ledger(clean.path).snapshot()
    assert ledger.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_intake_and_status_commands(ws, books, tmp_path):
    inbox = _inbox(tmp_path, books, n=3)
    runner = CliRunner()
    result = runner.invoke(main, ["intake", "--workspace", str(ws.path), str(inbox), "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 6 and {r["status"] for r in records} >= {"accepted", "attachment"}
    result = runner.invoke(main, ["status", "--workspace", str(ws.path), "--period", "2025Q3"])
    assert result.exit_code == 0 and "催报名单" in result.output and "郑州市" in result.output
    result = runner.invoke(main, ["status", "--workspace", str(ws.path), "--period", "2025Q3", "--json"])
    assert json.loads(result.output)["received"] == 3
    result = runner.invoke(main, ["intake", "--workspace", str(ws.path)])
    assert result.exit_code == 2 and "U008" in result.output


def test_templates_signed_by_another_workspace_are_refused_and_the_clerk_told_why(books, tmp_path):
    """Filings whose template another workspace signed (another key: a second desk that ran its own init, or the
    bundled samples) are 退回 with I01 each, the codes on each line, and one hint to the clerk about the key."""
    other = init_workspace(tmp_path / "other", signing_key="77" * 32)
    result = CliRunner().invoke(main, ["intake", "--workspace", str(other.path), str(_inbox(tmp_path, books, n=3))])
    assert result.exit_code == 0, result.output
    assert result.output.count("强制性问题：I01") == 3
    assert "3 份报表的模板签名无效（I01）" in result.output and "signing_key" in result.output


def test_an_outlook_msg_is_read_from_its_ole_container(books, tmp_path, either, spec):
    ws = either
    from olewriter import outlook_msg

    msg = outlook_msg(tmp_path / "郑州市报表.msg", sender="TongJi@ZZ.gov.cn", subject="郑州市2025年第三季度附表",
                      attachments=[("郑州市附表.xlsx", books["410100"]), ("盖章件.pdf", b"%PDF-1.4 scan")])
    items = list(iter_items([msg]))
    assert [(i.name, i.sender, i.subject) for i in items] == [
        ("郑州市附表.xlsx", "tongji@zz.gov.cn", "郑州市2025年第三季度附表"), ("盖章件.pdf", "tongji@zz.gov.cn", "郑州市2025年第三季度附表")]
    assert items[0].data == books["410100"]
    outcomes = intake(ws, [msg], spec=spec)
    assert [(o.status, o.unit) for o in outcomes] == [("accepted", "410100"), ("attachment", "410100")]


def test_ledger_encodes_every_value_as_json_dumps_would():
    """The ledger's cell encoder takes shortcuts for ints, finite floats and strings; each must give
    exactly the text json.dumps gives (merge and import-master read it back with json.loads)."""
    from datetime import date, datetime

    from qtables.ledger.store import _encode

    values = [0, -7, 10 ** 30, 1.5, -0.0, 1e300, 5e-324, float("nan"), float("inf"), True, False, "", "abc",
              '中文"引号"\\', "\x01\x1f\x7f", "\u2028\u2029", "\ud800", "😀", date(2025, 7, 1), datetime(2025, 7, 1, 8, 30)]
    rng = random.Random(5)
    values += ["".join(chr(rng.choice([rng.randrange(0, 0x80), rng.randrange(0x80, 0x3000)])) for _ in range(rng.randrange(20)))
               for _ in range(300)]
    for value in values:
        assert _encode(value) == json.dumps(value, ensure_ascii=False, default=str), repr(value)
    assert _encode(None) is None
