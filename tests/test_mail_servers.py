"""Real mail servers on 127.0.0.1: SMTP (aiosmtpd) delivering into IMAP (pymap).

Units send their workbooks by SMTP; the SMTP server delivers into the IMAP
mailbox; ``intake --imap`` takes them in and moves them to a folder with a
Chinese name; the reply mails go out over SMTP and arrive with their
attachments and Chinese names intact.  A message written by s-nail (not by
Python's email package) is taken in too.
"""

from __future__ import annotations

import imaplib
import shutil
import smtplib
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from builders import build_filled
from conftest import TEST_KEY
from mailfixtures import docx_bytes, python_eml
from qtables.intake.imap import decode_folder, encode_folder, intake_imap
from qtables.intake.run import intake
from qtables.intake.mail import send_outbox
from qtables.ledger.workspace import init_workspace, open_workspace

USER, PASSWORD = "demouser", "demopass"
PROVINCE = "zlz@hnjs.gov.cn"




def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def imap_port(request):
    port = _free_port()
    exe = shutil.which("pymap") or str(Path(sys.executable).parent / "pymap")
    password = getattr(request, "param", PASSWORD)
    proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", str(port), "--no-tls", "dict", "--demo-data",
                             "--demo-password", password], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"pymap did not start: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.2)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


class Delivery:
    """SMTP handler: mail for the province goes into the IMAP inbox; everything is kept for inspection."""

    def __init__(self, imap_port: int):
        self.imap_port = imap_port
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        self.received.append((list(envelope.rcpt_tos), data))
        if PROVINCE in envelope.rcpt_tos:
            conn = imaplib.IMAP4("127.0.0.1", self.imap_port)
            conn.login(USER, PASSWORD)
            conn.append("INBOX", None, None, data)
            conn.logout()
        return "250 OK"


@pytest.fixture
def smtp(imap_port):
    handler = Delivery(imap_port)
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def _configure(ws_path: Path, imap_port: int, smtp_port: int) -> None:
    cfg = ws_path / "qtables.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + f"""
[imap]
host = "127.0.0.1"
port = {imap_port}
ssl = false
folder = "INBOX"
processed_folder = "已处理"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
from = "{PROVINCE}"
""", encoding="utf-8")


def test_modified_utf7_folder_names():
    assert encode_folder("台北") == "&U,BTFw-"  # RFC 3501's own example
    assert encode_folder("已处理") == "&XfJZBHQG-" and decode_folder("&XfJZBHQG-") == "已处理"
    assert encode_folder("A&B") == "A&-B"


def test_mail_round_trip_through_real_smtp_and_imap(spec, workspace, tmp_path, smtp, imap_port, monkeypatch):
    controller, handler = smtp
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    _configure(ws.path, imap_port, controller.port)
    ws = open_workspace(ws.path)
    monkeypatch.setenv("QTABLES_IMAP_USER", USER)
    monkeypatch.setenv("QTABLES_IMAP_PASSWORD", PASSWORD)
    good = build_filled(tmp_path / "g.xlsx", spec, workspace, "410181", "2025Q3", seed=3)[0].read_bytes()
    bad = build_filled(tmp_path / "b.xlsx", spec, workspace, "410200", "2025Q3", seed=4,
                       mutate=lambda v: v["t5"][0].update(accident_deaths=3))[0].read_bytes()
    with smtplib.SMTP("127.0.0.1", controller.port) as s:
        for raw in (python_eml("tj@gy.gov.cn", [("巩义市2025年第三季度附表.xlsx", good)]),
                    python_eml("tj@kf.gov.cn", [("开封市附表.xlsx", bad), ("情况说明.docx", docx_bytes())])):
            s.send_message(message_from_bytes(raw, policy=policy.default), to_addrs=[PROVINCE])
    outcomes = intake_imap(ws)
    assert sorted((o.name, o.status) for o in outcomes) == [
        ("巩义市2025年第三季度附表.xlsx", "accepted"), ("开封市附表.xlsx", "rejected"), ("情况说明.docx", "attachment")]
    conn = imaplib.IMAP4("127.0.0.1", imap_port)
    conn.login(USER, PASSWORD)
    conn.select('"' + encode_folder("已处理") + '"')
    moved = conn.uid("SEARCH", None, "ALL")[1][0].split()
    conn.select("INBOX")
    left = conn.uid("SEARCH", None, "FROM", "gov.cn")[1][0].split()
    conn.logout()
    assert len(moved) >= 2 and left == []
    assert intake_imap(ws) == []  # processed mail is not taken again
    # The replies go out over SMTP and arrive with the receipt under its Chinese name.
    sent = send_outbox(ws)
    assert len(sent) == 2
    replies = {tuple(to): message_from_bytes(data, policy=policy.default) for to, data in handler.received if PROVINCE not in to}
    kf = replies[("tj@kf.gov.cn",)]
    assert "退回" in kf["Subject"] and "开封市" in kf["Subject"]
    assert "T5-04" in kf.get_body(("plain",)).get_content()
    [attachment] = list(kf.iter_attachments())
    assert attachment.get_filename() == "开封市附表_审核回执.xlsx"
    assert attachment.get_content()[:2] == b"PK"
    assert not list((ws.path / "outbox").glob("*.eml"))  # moved to outbox/sent


def test_a_message_written_by_s_nail_is_taken_in(spec, workspace, tmp_path):
    exe = shutil.which("s-nail")
    if exe is None:
        pytest.fail("s-nail is required: the README test command installs it")
    book = build_filled(tmp_path / "x.xlsx", spec, workspace, "410181", "2025Q3", seed=9)[0]
    attachment = tmp_path / "巩义市（第三季度）附表.xlsx"
    shutil.copy(book, attachment)
    mbox = tmp_path / "s-nail.mbox"
    subprocess.run([exe, "-:/", "-Sv15-compat", f"-Smta=test://{mbox}", "-Sttycharset=utf-8", "-Ssendcharsets=utf-8",
                    "-r", "tj@gy.gov.cn", "-s", "巩义市报表", "-a", str(attachment), PROVINCE],
                   input="请查收。".encode(), check=True, env={"LC_ALL": "C.UTF-8", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    raw = mbox.read_bytes()
    assert b"User-Agent: s-nail" in raw
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    [outcome] = intake(ws, [mbox], spec=spec)
    assert (outcome.name, outcome.status, outcome.sender) == ("巩义市（第三季度）附表.xlsx", "accepted", "tj@gy.gov.cn")


UTF8_PASSWORD = "质监2025pass"


def _plain(conn: imaplib.IMAP4, password: str) -> None:
    conn.authenticate("PLAIN", lambda _c: b"\0" + USER.encode() + b"\0" + password.encode("utf-8"))


@pytest.mark.parametrize("imap_port", [UTF8_PASSWORD], indirect=True)
def test_a_non_ascii_password_logs_in_and_an_unusable_mail_is_answered_over_smtp(spec, tmp_path, imap_port, monkeypatch):
    """RFC 4616 PLAIN carries UTF-8; the unit whose only attachment is encrypted gets a threaded notice by SMTP."""
    from qtables.ledger.workspace import init_workspace as init
    from olewriter import write_ole

    received = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            received.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        ws = init(tmp_path / "ws", signing_key=TEST_KEY)
        _configure(ws.path, imap_port, controller.port)
        cfg = ws.path / "qtables.toml"
        cfg.write_text(cfg.read_text(encoding="utf-8").replace("[senders]", '[senders]\n"410181" = ["tj@gy.gov.cn"]'),
                       encoding="utf-8")
        ws = open_workspace(ws.path)
        monkeypatch.setenv("QTABLES_IMAP_USER", USER)
        monkeypatch.setenv("QTABLES_IMAP_PASSWORD", UTF8_PASSWORD)
        enc = tmp_path / "enc.xlsx"
        write_ole(enc, {"EncryptionInfo": b"\x04\x00\x04\x00" + b"\x00" * 60, "EncryptedPackage": b"\x00" * 6000})
        raw = python_eml("tj@gy.gov.cn", [("巩义市附表.xlsx", enc.read_bytes())])
        msg = message_from_bytes(raw, policy=policy.default)
        msg["Message-ID"] = "<gy-q3@gy.gov.cn>"
        conn = imaplib.IMAP4("127.0.0.1", imap_port)
        _plain(conn, UTF8_PASSWORD)
        conn.append("INBOX", None, None, bytes(msg))
        conn.logout()
        [outcome] = intake_imap(ws)
        assert outcome.code == "F02" and outcome.unit == "410181"
        send_outbox(ws)
        [(to, data)] = received
        notice = message_from_bytes(data, policy=policy.default)
        assert to == ["tj@gy.gov.cn"] and notice["In-Reply-To"] == "<gy-q3@gy.gov.cn>"
        assert "[F02]" in notice.get_body(("plain",)).get_content()
    finally:
        controller.stop()


def test_run_daily_takes_in_answers_and_chases_once_however_often_it_runs(spec, workspace, tmp_path, smtp, imap_port,
                                                                          monkeypatch):
    """The office job (issue 28) against real servers: IMAP intake, replies, reminders; run again the same day it
    takes in nothing twice and sends nothing twice."""
    from click.testing import CliRunner

    from qtables.cli import main

    controller, handler = smtp
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    _configure(ws.path, imap_port, controller.port)
    monkeypatch.setenv("QTABLES_IMAP_USER", USER)
    monkeypatch.setenv("QTABLES_IMAP_PASSWORD", PASSWORD)
    monkeypatch.setenv("QTABLES_TODAY", "2025-10-04")  # the first window after the 2025Q3 deadline
    good = build_filled(tmp_path / "g.xlsx", spec, workspace, "410181", "2025Q3", seed=3)[0].read_bytes()
    with smtplib.SMTP("127.0.0.1", controller.port) as s:
        raw = python_eml("tj@gy.gov.cn", [("巩义市2025年第三季度附表.xlsx", good)])
        s.send_message(message_from_bytes(raw, policy=policy.default), to_addrs=[PROVINCE])
    handler.received.clear()
    runner = CliRunner()
    first = runner.invoke(main, ["run-daily", "--workspace", str(ws.path)])
    assert first.exit_code == 0, first.output
    assert "收取：1 项" in first.output and "回复：已发出 1 封" in first.output
    replies = [to for to, _data in handler.received if to == ["tj@gy.gov.cn"]]
    # 巩义 has no 分析报告 yet: its reply, then its reminder, to the address it filed from; units that never filed
    # have no address and are listed for a phone call.
    assert len(replies) == 2 and "无邮箱，请电话催报" in first.output
    sent = len(handler.received)
    again = runner.invoke(main, ["run-daily", "--workspace", str(ws.path)])
    assert again.exit_code == 0, again.output
    assert "收取：0 项" in again.output and "回复：已发出 0 封" in again.output and len(handler.received) == sent
