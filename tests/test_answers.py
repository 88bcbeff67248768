"""Every arrival answered: coded verdicts for what cannot be a submission, one threaded notice per message."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage

from click.testing import CliRunner

from conftest import TEST_KEY
from officialsheets import Variant, write_official
from olewriter import write_ole
from qtables.cli import main
from qtables.intake.run import intake
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import init_workspace, open_workspace
from qtables.period import Period
from qtables.status import period_status

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _workspace(tmp_path):
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    cfg = ws.path / "qtables.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("[senders]", '[senders]\n"410300" = ["tongji@lyjs.gov.cn"]'),
                   encoding="utf-8")
    return open_workspace(ws.path)


def _message(attachments, message_id="<batch-1@lyjs.gov.cn>"):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "tongji@lyjs.gov.cn", "zlz@hnjs.gov.cn", "洛阳市三季度附表"
    m["Date"], m["Message-ID"] = "Tue, 30 Sep 2025 10:00:00 +0800", message_id
    m.set_content("请查收。")
    for name, data, (main_type, sub) in attachments:
        m.add_attachment(data, maintype=main_type, subtype=sub, filename=name)
    return bytes(m)


def test_a_hostile_batch_from_a_units_address_gets_codes_everywhere_and_one_threaded_notice(spec, tmp_path):
    ws = _workspace(tmp_path)
    encrypted = tmp_path / "enc.xlsx"
    write_ole(encrypted, {"EncryptionInfo": b"\x04\x00\x04\x00" + b"\x00" * 60, "EncryptedPackage": b"\x00" * 6000})
    t5 = spec.table("t5")
    old_format = write_official(tmp_path / "old.xlsx", t5, [("洛阳市", {c.id: 1 for c in t5.columns})], Variant("办法原样"))
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "1.eml").write_bytes(_message([
        ("洛阳市附表.xlsx", encrypted.read_bytes(), XLSX),
        ("随机.xlsx", bytes(range(256)) * 20, XLSX),
        ("洛阳市自制附表5.xlsx", old_format.read_bytes(), XLSX),
        ("a\u202exslx.exe", b"MZ" + b"\x00" * 100, ("application", "octet-stream")),
    ]))
    outcomes = intake(ws, [inbox], spec=spec)
    codes = {o.name: o.code for o in outcomes}
    assert codes["洛阳市附表.xlsx"] == "F02" and codes["洛阳市自制附表5.xlsx"] == "F06" and codes["随机.xlsx"] in ("F03", "F01")
    assert all(o.code for o in outcomes) and all(o.unit == "410300" for o in outcomes)
    shown = [o.as_json() for o in outcomes]
    assert "a<U+202E>xslx.exe" in {s["name"] for s in shown} and not any("\u202e" in json.dumps(s, ensure_ascii=False) for s in shown)
    ledger = Ledger(ws.path)
    rows = ledger.db.execute("SELECT filename, code, severity, fix, notice_path FROM arrivals ORDER BY id").fetchall()
    assert all(r["code"] and r["severity"] for r in rows)
    assert {r["notice_path"] for r in rows} and len({r["notice_path"] for r in rows}) == 1
    assert ledger.db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 0  # nothing counted
    ledger.close()
    [notice_path] = list((ws.path / "outbox").glob("notice_*.eml"))
    notice = email.message_from_bytes(notice_path.read_bytes(), policy=email.policy.default)
    assert notice["In-Reply-To"] == "<batch-1@lyjs.gov.cn>" and notice["References"] == "<batch-1@lyjs.gov.cn>"
    assert notice["Subject"].startswith("Re: 洛阳市三季度附表") and notice["To"] == "tongji@lyjs.gov.cn"
    body = notice.get_body(("plain",)).get_content()
    for code in ("F02", "F06", "A01"):
        assert f"[{code}]" in body
    assert "取消" in body and "a<U+202E>xslx.exe" in body
    [template] = list(notice.iter_attachments())
    assert template.get_filename() == "2025Q3_410300_洛阳市_附表.xlsx"
    summary = period_status(ws, spec, Period.parse("2025Q3"))
    unit = next(u for u in summary["units"] if u["code"] == "410300")
    assert unit["status"] == "unreadable" and any("[F02]" in x for x in unit["unreadable"])
    assert "410300" in {c["code"] for c in summary["chase"]}
    text = CliRunner().invoke(main, ["status", "--workspace", str(ws.path), "--period", "2025Q3"]).output
    assert "已收（无法审核）" in text and "[F02]" in text
    # A second intake of the same mailbox answers nothing twice.
    intake(ws, [inbox], spec=spec)
    assert len(list((ws.path / "outbox").glob("notice_*.eml"))) == 1


def test_a_reply_threads_and_numbers_its_sections_from_one(spec, tmp_path, books=None):
    from builders import build_filled

    ws = _workspace(tmp_path)
    path, _ = build_filled(tmp_path / "ly.xlsx", spec, ws, "410300", "2025Q3",
                           mutate=lambda v: v["t5"][0].update(ucon_count=v["t5"][0]["ucon_count"] + 3))
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "1.eml").write_bytes(_message([("洛阳市.xlsx", path.read_bytes(), XLSX)], "<q3-ly@lyjs.gov.cn>"))
    [outcome] = intake(ws, [inbox], spec=spec)
    assert outcome.status == "accepted_with_warnings"
    [reply_path] = [p for p in (ws.path / "outbox").glob("*.eml") if not p.name.startswith("notice_")]
    reply = email.message_from_bytes(reply_path.read_bytes(), policy=email.policy.default)
    assert reply["In-Reply-To"] == "<q3-ly@lyjs.gov.cn>" and reply["Subject"].startswith("Re: 洛阳市三季度附表")
    body = reply.get_body(("plain",)).get_content()
    # Sections numbered in order: the warnings, then the missing 分析报告 (none was attached), nothing more.
    assert "一、需要核实的问题" in body and "二、尚未收到的报送材料" in body and "三、" not in body


def test_random_bytes_named_eml_are_unreadable_not_other_material(spec, tmp_path):
    ws = _workspace(tmp_path)
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "洛阳.eml").write_bytes(bytes(range(7, 256)) * 30)
    [outcome] = intake(ws, [inbox], spec=spec)
    assert (outcome.status, outcome.code) == ("unreadable", "L09")
