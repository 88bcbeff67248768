"""催报 (issue 28): ``qtables remind`` against a real SMTP server (aiosmtpd), with time injected.

Units of every kind in one period: 未报 (a template attached), 退回 (its open codes), 待说明, 分析报告 missing, complete
(no mail), no address at all (listed 无邮箱, no mail).  Once a day at most, once a window; a dry run sends and
records nothing; a refused send is recorded (H06) and retried."""

from __future__ import annotations

import json
import re
import socket
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from mailfixtures import python_eml
from qtables.cli import main
from qtables.devtools.generate import SAMPLE_KEY, SAMPLE_PASSWORD, analysis_report
from qtables.intake.run import intake
from qtables.ledger.workspace import init_workspace, open_workspace
from qtables.period import Period
from qtables.remind import due_periods, remind
from qtables.status import period_status

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
Q3 = Period.parse("2025Q3")
NOT_FILED, NO_ADDRESS, REJECTED, WARNED, COMPLETE, REGISTERED = "410200", "410400", "410300", "411300", "410700", "419001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Keep:
    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    keep = Keep()
    controller = Controller(keep, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, keep
    controller.stop()


def _config(ws_path: Path, port: int, senders: dict[str, list[str]]) -> None:
    cfg, original = ws_path / "qtables.toml", ws_path / "qtables.toml.orig"
    if not original.exists():
        original.write_bytes(cfg.read_bytes())
    text = original.read_text(encoding="utf-8")
    text = re.sub(r'protection_password = ".*"', f'protection_password = "{SAMPLE_PASSWORD}"', text)
    text = re.sub(r"\[senders\]\n", "[senders]\n" + "".join(f'"{u}" = {json.dumps(a)}\n' for u, a in senders.items()), text)
    cfg.write_text(text + f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "zlzz@example.gov.cn"\n', encoding="utf-8")


@pytest.fixture
def period_of_every_kind(tmp_path, smtp):
    controller, _keep = smtp
    ws = init_workspace(tmp_path / "ws", signing_key=SAMPLE_KEY)
    complete = f"zljd{COMPLETE}@example.gov.cn"
    _config(ws.path, controller.port, {COMPLETE: [complete]})
    ws = open_workspace(ws.path)
    intake(ws, [p for p in sorted((SAMPLES / "2025Q2").glob("*.eml")) if not p.name.startswith(NO_ADDRESS)])
    intake(ws, [p for p in sorted((SAMPLES / "2025Q3").glob("*.eml")) if not p.name.startswith((NOT_FILED, NO_ADDRESS))])
    report = tmp_path / "report.eml"
    report.write_bytes(python_eml(complete, [("新乡市2025年第3季度工程质量分析报告.docx", analysis_report("新乡市", Q3.label))]))
    intake(ws, [report])
    # Registered after intake (the sample mails came from the sample addresses): the reminder goes here.
    _config(ws.path, controller.port, {COMPLETE: [complete], REGISTERED: ["tj@zz.example.gov.cn"]})
    return open_workspace(ws.path)


def _by_unit(out):
    return {r.unit_code: r for r in out}


def test_each_kind_of_unit_gets_exactly_its_mail_once_a_window(spec, period_of_every_kind, smtp):
    ws, (_controller, keep) = period_of_every_kind, smtp
    assert Q3 in due_periods(ws, spec, date(2025, 10, 4)) and Q3 not in due_periods(ws, spec, date(2025, 9, 20))
    # A dry run: who and why, nothing sent, nothing recorded.
    dry = _by_unit(remind(ws, spec, today=date(2025, 10, 4), dry_run=True))
    assert keep.mails == [] and not (ws.path / "outbox" / "reminders").exists()
    assert dry[NOT_FILED].state == "dry-run" and COMPLETE not in dry
    led = ws.open_ledger()
    assert led.reminders(Q3.code) == []
    led.close()

    out = _by_unit(remind(ws, spec, today=date(2025, 10, 4), deliver=True))
    assert COMPLETE not in out  # complete: no mail
    assert [c for c, _t in out[NOT_FILED].reasons][:1] == ["H01"] and out[NOT_FILED].attachment.endswith(".xlsx")
    assert out[NOT_FILED].recipients_from == "此前报送所用邮箱"
    assert out[REJECTED].reasons[0][0] == "H02" and "T5-01" in out[REJECTED].reasons[0][1]
    assert out[WARNED].reasons[0][0] == "H03"
    assert out[NO_ADDRESS].state == "no-address" and out[NO_ADDRESS].code == "H05"
    assert out[REGISTERED].recipients == ["tj@zz.example.gov.cn"]
    sent = {u for u, r in out.items() if r.state == "sent"}
    assert NO_ADDRESS not in sent and len(keep.mails) == len(sent) >= 4
    mails = {m["To"]: (to, m) for to, m in keep.mails}
    to, mail = mails[f"zljd{NOT_FILED}@example.gov.cn"]
    body = mail.get_body(("plain",)).get_content()
    assert "【催报】" in mail["Subject"] and "第五条" in body and "2025年9月30日" in body and "[H01]" in body
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename().endswith(".xlsx") and "开封" in attached.get_filename()
    _to, rejected = mails[f"zljd{REJECTED}@example.gov.cn"]
    assert not list(rejected.iter_attachments()) and "T5-01" in rejected.get_body(("plain",)).get_content()
    # Status and the master's 报送情况 say how often each unit was chased.
    status = {u["code"]: u for u in period_status(ws, spec, Q3, today=date(2025, 10, 4))["units"]}
    assert status[NOT_FILED]["reminders"] == 1 and status[NOT_FILED]["last_reminder"] == "2025-10-04"
    assert status[COMPLETE]["reminders"] == 0
    from qtables.analysis import open_workspace as analysed

    frame = analysed(ws.path).status("2025Q3")  # the pandas API carries them too
    assert frame.loc[NOT_FILED, "reminders"] == 1 and frame.loc[NOT_FILED, "last_reminder"] == "2025-10-04"

    # The same day again, and the next day (same window): nothing.
    for day in (date(2025, 10, 4), date(2025, 10, 5)):
        again = remind(ws, spec, today=day, deliver=True)
        assert {r.state for r in again} <= {"already", "no-address"} and len(keep.mails) == len(sent)
    # The next window (every 3 days after the deadline): chased again.
    later = remind(ws, spec, today=date(2025, 10, 7), deliver=True)
    assert {r.unit_code for r in later if r.state == "sent"} == sent and len(keep.mails) == 2 * len(sent)


def test_a_refused_send_is_recorded_and_retried(spec, period_of_every_kind, smtp):
    ws, (controller, keep) = period_of_every_kind, smtp
    cfg = ws.path / "qtables.toml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace(f"port = {controller.port}", f"port = {_free_port()}"), encoding="utf-8")  # nobody listens
    failed = remind(open_workspace(ws.path), spec, periods=[Q3], today=date(2025, 10, 4), deliver=True, units=[NOT_FILED])
    assert [(r.state, r.code) for r in failed] == [("failed", "H06")] and keep.mails == []
    led = ws.open_ledger()
    assert [(r["state"], r["code"]) for r in led.reminders(Q3.code)] == [("failed", "H06")]
    led.close()
    cfg.write_text(text, encoding="utf-8")
    retried = remind(open_workspace(ws.path), spec, periods=[Q3], today=date(2025, 10, 4), deliver=True, units=[NOT_FILED])
    assert [r.state for r in retried] == ["sent"] and len(keep.mails) == 1


def test_remind_cli_today_from_the_environment_and_the_calendar(period_of_every_kind, monkeypatch):
    ws = period_of_every_kind
    runner = CliRunner()
    monkeypatch.setenv("QTABLES_TODAY", "2025-09-25")  # five days before the deadline: the first notice
    result = runner.invoke(main, ["remind", "--workspace", str(ws.path), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert {r["period"] for r in listed} == {"2025Q3"} and any(r["unit_code"] == NOT_FILED for r in listed)
    monkeypatch.setenv("QTABLES_TODAY", "2025-09-20")  # no window open: nothing to do
    result = runner.invoke(main, ["remind", "--workspace", str(ws.path), "--dry-run"])
    assert result.exit_code == 0 and "没有需要催报" in result.output
    monkeypatch.setenv("QTABLES_TODAY", "明天")
    result = runner.invoke(main, ["remind", "--workspace", str(ws.path), "--dry-run"])
    assert result.exit_code == 2 and "U043" in result.output
    monkeypatch.delenv("QTABLES_TODAY")
    result = runner.invoke(main, ["status", "--workspace", str(ws.path), "--calendar", "2026"])
    assert result.exit_code == 0 and "2026-03-31" in result.output and "2026-12-20" in result.output and "第十一条" in result.output


def test_run_daily_waits_for_the_previous_run_and_takes_over_a_stale_lock(tmp_path):
    import os
    import time

    from qtables.cli.office import run_lock
    from qtables.errors import QtablesError

    lock = tmp_path / "run-daily.lock"
    with run_lock(lock):
        with pytest.raises(QtablesError) as err:
            with run_lock(lock, wait=0.3):
                pass
        assert err.value.code == "U044" and lock.exists()
    assert not lock.exists()
    lock.write_text("进程 1", encoding="utf-8")
    old = time.time() - 7 * 3600
    os.utime(lock, (old, old))
    with run_lock(lock, wait=0.3):
        assert "进程" in lock.read_text(encoding="utf-8")


def test_a_master_open_in_excel_is_named_and_left_intact(period_of_every_kind, monkeypatch):
    ws = period_of_every_kind
    runner = CliRunner()
    first = runner.invoke(main, ["merge", "--workspace", str(ws.path), "--period", "2025Q3"])
    assert first.exit_code in (0, 1), first.output  # 1: some units have nothing accepted (said, the master made)
    [master] = list((ws.path / "masters").glob("*.xlsx"))
    before = master.read_bytes()
    import qtables.fsutil as fsutil

    real = fsutil.os.replace

    def locked(src, dst):
        if str(dst).endswith(".xlsx"):
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        return real(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", locked)
    again = runner.invoke(main, ["merge", "--workspace", str(ws.path), "--period", "2025Q3"])
    assert again.exit_code == 2 and "U045" in again.output and master.name in again.output and "关闭" in again.output
    assert master.read_bytes() == before and not list((ws.path / "masters").glob(".tmp-*"))



def test_a_reminder_written_without_send_is_mailed_by_a_later_send_the_same_day(spec, period_of_every_kind, smtp):
    ws, (_controller, keep) = period_of_every_kind, smtp
    written = remind(ws, spec, periods=[Q3], today=date(2025, 10, 4), units=[NOT_FILED])
    assert [r.state for r in written] == ["written"] and keep.mails == []
    assert (ws.path / written[0].path).is_file()
    again = remind(ws, spec, periods=[Q3], today=date(2025, 10, 4), units=[NOT_FILED])
    assert [r.state for r in again] == ["already"]  # written once is enough for a run that does not mail
    sent = remind(ws, spec, periods=[Q3], today=date(2025, 10, 4), deliver=True, units=[NOT_FILED])
    assert [r.state for r in sent] == ["sent"] and len(keep.mails) == 1
    assert [r.state for r in remind(ws, spec, periods=[Q3], today=date(2025, 10, 4), deliver=True, units=[NOT_FILED])] == ["already"]
