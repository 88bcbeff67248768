"""The PostgreSQL ledger beside the SQLite default, on a real server (qtables/devtools/pgcluster.py): the demo's two quarters
give the same status, master and ledger on both; ``ledger copy`` round trips; each way the server can fail has its
own code; a connection lost in the middle of an intake leaves nothing half-recorded."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from ledgerdump import differences, dump
from qtables.cli import main
from qtables.devtools.generate import SAMPLE_KEY, SAMPLE_PASSWORD, SAMPLE_PERIODS
from qtables.errors import LedgerError
from qtables.intake.run import intake
from qtables.ledger.copy import TABLES, table_digest
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import init_workspace, open_workspace
from qtables.merge.master import merge
from qtables.period import Period
from qtables.status import period_status

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def make_workspace(path: Path, url: str | None):
    init_workspace(path, signing_key=SAMPLE_KEY, database=url)
    cfg = path / "qtables.toml"
    cfg.write_text(re.sub(r'protection_password = ".*"', f'protection_password = "{SAMPLE_PASSWORD}"',
                          cfg.read_text(encoding="utf-8")), encoding="utf-8")
    ws = open_workspace(path)
    ws.open_ledger().close()  # the schema, as `qtables init --database` makes it
    return ws


def run_demo(ws, spec):
    for code in SAMPLE_PERIODS:
        intake(ws, [SAMPLES / code], spec=spec)
    last = Period.parse(SAMPLE_PERIODS[-1])
    return period_status(ws, spec, last), merge(ws, spec, last)


def cells(master: Path) -> dict[str, list]:
    book = CalamineWorkbook.from_path(str(master))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


@pytest.fixture(scope="module")
def both(tmp_path_factory, pg_server, spec):
    """The demo's two quarters run once on each backend."""
    out = {}
    for name, url in (("sqlite", None), ("postgresql", pg_server.new_database())):
        ws = make_workspace(tmp_path_factory.mktemp(name) / "工作区", url)
        status, master = run_demo(ws, spec)
        out[name] = (ws, status, master)
    return out


def test_demo_quarters_give_the_same_status_master_and_ledger_on_both_backends(both):
    (lite, lite_status, lite_master), (pg, pg_status, pg_master) = both["sqlite"], both["postgresql"]
    assert lite_status["accepted"] > 20 and lite_status == pg_status
    assert cells(lite_master) == cells(pg_master)
    a, b = Ledger(lite.path), pg.open_ledger()
    try:
        assert b.dialect == "postgresql" and not (pg.path / "ledger.sqlite").exists()
        assert differences(dump(a), dump(b)) == []
        # The originals live in the database, every one intact; the SQLite workspace keeps files and no rows.
        stored = b.db.execute("SELECT COUNT(*) FROM originals").fetchone()[0]
        assert stored == len({r[0] for r in b.db.execute("SELECT sha256 FROM arrivals").fetchall()}) > 50
        assert a.db.execute("SELECT COUNT(*) FROM originals").fetchone()[0] == 0
    finally:
        a.close()
        b.close()


def test_ledger_copy_round_trip_and_a_workspace_moved_up(both, pg_server, tmp_path, spec):
    lite = both["sqlite"][0]
    url = pg_server.new_database()
    runner = CliRunner()
    up = runner.invoke(main, ["ledger", "copy", "--workspace", str(lite.path), "--to", url])
    assert up.exit_code == 0, up.output
    assert "核对一致" in up.output
    again = runner.invoke(main, ["ledger", "copy", "--workspace", str(lite.path), "--to", url])
    assert again.exit_code == 2 and "K07" in again.output
    # The workspace moved up: [database] url set, the status read from PostgreSQL is the one it had.
    moved = tmp_path / "moved"
    import shutil

    shutil.copytree(lite.path, moved, ignore=shutil.ignore_patterns("ledger.sqlite*", "archive"))
    cfg = moved / "qtables.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("[database]\n", f'[database]\nurl = "{url}"\n', 1), encoding="utf-8")
    ws = open_workspace(moved)
    assert ws.database_url == url
    assert period_status(ws, spec, Period.parse(SAMPLE_PERIODS[-1])) == both["sqlite"][1]
    # …and back down to a SQLite file: every table and original as in the workspace it started from.
    backup = tmp_path / "备份" / "台账备份.sqlite"
    backup.parent.mkdir()
    down = runner.invoke(main, ["ledger", "copy", "--workspace", str(moved), "--to", str(backup)])
    assert down.exit_code == 0, down.output
    a, b = Ledger(lite.path), Ledger(backup.parent, file=backup)
    try:
        assert differences(dump(a), dump(b)) == []
        for table, order in TABLES:  # ids too: a plain copy, not a re-intake
            assert table_digest(a, table, order) == table_digest(b, table, order), table
    finally:
        a.close()
        b.close()
    exists = runner.invoke(main, ["ledger", "copy", "--workspace", str(moved), "--to", str(backup)])
    assert exists.exit_code == 2 and "U041" in exists.output
    # A clerk who first ran `init --database` (a new workspace, its own key recorded) and then copies the old
    # ledger up: the copy is taken (the settings do not make a ledger "not empty") and brings the old key.
    fresh_url = pg_server.new_database()
    made = runner.invoke(main, ["init", str(tmp_path / "new-desk"), "--database", fresh_url])
    assert made.exit_code == 0, made.output
    up = runner.invoke(main, ["ledger", "copy", "--workspace", str(lite.path), "--to", fresh_url])
    assert up.exit_code == 0, up.output
    target = Ledger(tmp_path, url=fresh_url)
    try:
        assert target.recorded_key() == lite.config["template"]["signing_key"]
    finally:
        target.close()


def test_server_down_wrong_password_unknown_database_newer_schema_each_coded(pg_server, tmp_path, monkeypatch):
    runner = CliRunner()
    down = f"postgresql://postgres@/qtables?host={tmp_path}"  # no server listens there
    result = runner.invoke(main, ["init", str(tmp_path / "ws1"), "--database", down])
    assert result.exit_code == 2 and "K01" in result.output and not (tmp_path / "ws1").exists()
    from qtables.devtools import pgcluster

    monkeypatch.setenv("PGPASSWORD", "错的密码")
    wrong = pg_server.url(user=pgcluster.PASSWORD_ROLE)
    result = runner.invoke(main, ["init", str(tmp_path / "ws2"), "--database", wrong])
    assert result.exit_code == 2 and "K02" in result.output and not (tmp_path / "ws2").exists()
    monkeypatch.setenv("PGPASSWORD", pgcluster.PASSWORD)
    result = runner.invoke(main, ["init", str(tmp_path / "ws3"), "--database", wrong])
    assert result.exit_code == 0, result.output
    assert pgcluster.PASSWORD not in (tmp_path / "ws3" / "qtables.toml").read_text(encoding="utf-8")
    monkeypatch.delenv("PGPASSWORD")
    result = runner.invoke(main, ["init", str(tmp_path / "ws4"), "--database", pg_server.url("no_such_db")])
    assert result.exit_code == 2 and "K03" in result.output
    result = runner.invoke(main, ["init", str(tmp_path / "ws5"), "--database",
                                  pg_server.url().replace("postgres@", "postgres:secret@")])
    assert result.exit_code == 2 and "W005" in result.output and not (tmp_path / "ws5").exists()
    # A ledger a newer qtables has migrated: refused on both backends, nothing written.
    for url in (None, pg_server.new_database()):
        root = tmp_path / f"newer-{bool(url)}"
        root.mkdir()
        ledger = Ledger(root, url=url)
        with ledger.transaction() as db:
            db.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', '2030-01-01')")
        ledger.close()
        with pytest.raises(LedgerError) as err:
            Ledger(root, url=url)
        assert err.value.code == "K04"


def test_a_connection_lost_in_the_middle_of_intake_leaves_nothing_half_recorded(pg_server, tmp_path, both):
    url = pg_server.new_database()
    ws = make_workspace(tmp_path / "ws", url)
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    cmd = [sys.executable, "-m", "qtables.cli", "intake", "--workspace", str(ws.path), str(SAMPLES / SAMPLE_PERIODS[0])]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def cut() -> None:  # the server drops the intake's connection once it has recorded something
        import psycopg

        with psycopg.connect(url, autocommit=True) as con:
            for _ in range(400):
                if con.execute("SELECT COUNT(*) FROM arrivals").fetchone()[0]:
                    break
                time.sleep(0.02)
            con.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'qtables'")

    killer = threading.Thread(target=cut)
    killer.start()
    out, err = proc.communicate(timeout=300)
    killer.join()
    assert proc.returncode == 2 and "K06" in err, (out, err)
    assert "Traceback" not in err
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode in (0, 1), rerun.stderr
    for code in SAMPLE_PERIODS[1:]:
        intake(open_workspace(ws.path), [SAMPLES / code])
    clean, moved = Ledger(both["sqlite"][0].path), open_workspace(ws.path).open_ledger()
    try:
        assert differences(dump(clean), dump(moved)) == []
    finally:
        clean.close()
        moved.close()


def test_bulk_rows_keep_every_character_on_both_backends(pg_server, tmp_path):
    """A submission's cells go to PostgreSQL through COPY's text format: tabs, line ends, backslashes, \\N, NUL-free
    control characters and CJK come back as they went in."""
    texts = ["a\tb", "line\nnext\r\n", "back\\slash", "\\N", "\\", "附表5\u3000合计", "\x01\x1f", "", '"quoted"', "=cmd|' /C'"]
    for url in (None, pg_server.new_database()):
        root = tmp_path / f"bulk-{bool(url)}"
        root.mkdir()
        ledger = Ledger(root, url=url)
        try:
            with ledger.transaction() as db:
                sid = db.insert("INSERT INTO submissions (sha256, unit_code, period, tables, version, status, received_at, filename)"
                                " VALUES ('x', '410100', '2025Q3', 't5', 1, 'accepted', 'now', 'f')")
                db.insert_rows("cells", ("submission_id", "table_id", "row_key", "column_id", "value"),
                               [(sid, "t5", str(i), "c", t) for i, t in enumerate(texts)] + [(sid, "t5", "none", "c", None)])
            got = dict(ledger.db.execute("SELECT row_key, value FROM cells WHERE submission_id = ?", (sid,)).fetchall())
            assert got == {**{str(i): t for i, t in enumerate(texts)}, "none": None}
        finally:
            ledger.close()


def test_two_desks_never_both_answer_one_submission(pg_server, tmp_path, spec):
    """Each desk writes receipts and replies into its own folder: the desk that claims a submission's outputs makes
    them; another desk skips it unless the claim is stale (its desk gone for half an hour)."""
    import socket
    import time as _time

    from qtables.intake.run import make_context, produce_outputs

    url = pg_server.new_database()
    a = make_workspace(tmp_path / "甲", url)
    b = make_workspace(tmp_path / "乙", url)
    shutil_copy = __import__("shutil").copyfile
    shutil_copy(a.path / "qtables.toml", b.path / "qtables.toml")  # one office: the same key and settings
    b = open_workspace(b.path)
    intake(a, [sorted((SAMPLES / SAMPLE_PERIODS[0]).glob("410100_*.eml"))[0]], spec=spec)
    led = a.open_ledger()
    try:
        [sid] = [r[0] for r in led.db.execute("SELECT id FROM submissions").fetchall()]
        desk_a = f"{socket.gethostname()}:{a.path.resolve()}"
        with led.transaction() as db:  # as if 甲's run stopped after claiming, before writing
            db.execute("UPDATE submissions SET receipt_path = NULL, reply_path = NULL, outputs_claim = ? WHERE id = ?",
                       (f"{desk_a}|{_time.time():.0f}", sid))
        produce_outputs(b, led, make_context(b, spec, led))
        assert not list((b.path / "outbox").glob("*.eml")) and led.db.execute(
            "SELECT receipt_path FROM submissions WHERE id = ?", (sid,)).fetchone()[0] is None
        produce_outputs(a, led, make_context(a, spec, led))  # 甲 again: its own claim, its own outbox
        assert led.db.execute("SELECT receipt_path FROM submissions WHERE id = ?", (sid,)).fetchone()[0]
        with led.transaction() as db:  # a claim an hour old is taken over
            db.execute("UPDATE submissions SET receipt_path = NULL, outputs_claim = ? WHERE id = ?",
                       (f"{desk_a}|{_time.time() - 3600:.0f}", sid))
        produce_outputs(b, led, make_context(b, spec, led))
        assert list((b.path / "outbox").glob("*410100*.eml"))
    finally:
        led.close()


def test_a_second_desk_takes_the_ledgers_signing_key_and_a_desk_with_another_is_refused(pg_server, tmp_path, spec):
    """Desk A makes the ledger and takes in 2025Q2; desk B's `init --database` adopts the key the ledger holds, so
    its intake of 2025Q3 accepts the templates A's key signed (no I01); desk C, its key edited by hand, is refused
    (K09) before it writes anything; `ledger rekey` changes the ledger's key only with --yes, and then desk A is
    the one refused.  A SQLite workspace whose key was changed after use is refused alike."""
    url = pg_server.new_database()
    runner = CliRunner()
    a = make_workspace(tmp_path / "a", url)
    intake(a, [SAMPLES / SAMPLE_PERIODS[0]], spec=spec)
    result = runner.invoke(main, ["init", str(tmp_path / "b"), "--database", url])
    assert result.exit_code == 0 and "与台账一致" in result.output, result.output
    b = open_workspace(tmp_path / "b")
    assert b.config["template"]["signing_key"] == SAMPLE_KEY
    outcomes = intake(b, [SAMPLES / SAMPLE_PERIODS[1]], spec=spec)
    assert not any("I01" in o.error_codes for o in outcomes) and sum(o.status == "accepted" for o in outcomes) >= 20

    c_path = tmp_path / "c"
    runner.invoke(main, ["init", str(c_path), "--database", url])
    cfg = c_path / "qtables.toml"
    cfg.write_text(re.sub(r'signing_key = ".*"', f'signing_key = "{"c3" * 32}"', cfg.read_text(encoding="utf-8")), encoding="utf-8")
    before = dump(a.open_ledger())
    for args in (["status", "--period", "2025Q3"], ["intake", str(SAMPLES / SAMPLE_PERIODS[1])]):
        result = runner.invoke(main, [args[0], "--workspace", str(c_path), *args[1:]])
        assert result.exit_code == 2 and "K09" in result.output and "qtables init" in result.output, result.output
    assert dump(a.open_ledger()) == before
    result = runner.invoke(main, ["ledger", "rekey", "--workspace", str(c_path)])
    assert result.exit_code == 2 and "U054" in result.output
    result = runner.invoke(main, ["ledger", "rekey", "--workspace", str(c_path), "--yes"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, ["status", "--workspace", str(c_path), "--period", "2025Q3"]).exit_code == 0
    assert "K09" in runner.invoke(main, ["status", "--workspace", str(a.path), "--period", "2025Q3"]).output

    lite = make_workspace(tmp_path / "lite", None)
    cfg = lite.path / "qtables.toml"
    cfg.write_text(re.sub(r'signing_key = ".*"', f'signing_key = "{"d4" * 32}"', cfg.read_text(encoding="utf-8")), encoding="utf-8")
    result = runner.invoke(main, ["status", "--workspace", str(lite.path), "--period", "2025Q3"])
    assert result.exit_code == 2 and "K09" in result.output
