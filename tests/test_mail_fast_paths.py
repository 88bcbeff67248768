"""The mail fast paths: large base64 attachments decoded aside on reading (intake/skeleton.py) and written by
the C encoder and put in after the generator (intake/mail.py): the same items and the same bytes as the standard way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailfixtures import forwarded_eml, gbk_zip, python_eml, raw_gbk_eml, rfc2047_eml
from qtables.intake import skeleton
from qtables.intake.messages import message_items

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _items(data: bytes):
    return [(i.source_id, i.name, i.data, i.sender, i.subject, i.message_id, i.received_at, i.problem)
            for i in message_items(data, "mail", "mail.eml")]


def _standard_only(data: bytes, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(skeleton, "parse", lambda *_a, **_k: None)
        return _items(data)


def _cases():
    blob = os.urandom(120_000)  # a workbook-sized attachment
    plain = python_eml("tj@410100.gov.cn", [("郑州市附表.xlsx", blob), ("说明.pdf", b"%PDF-1.4 " + os.urandom(20_000))])
    return {
        "two attachments": plain,
        "crlf line ends": plain.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
        "rfc2047 name": rfc2047_eml("tj@410200.gov.cn", "开封市附表.xlsx", blob),
        "raw gbk name": raw_gbk_eml("tj@410300.gov.cn", "洛阳市附表.xlsx", blob),
        "forwarded": forwarded_eml("fw@411100.gov.cn", python_eml("tj@411100.gov.cn", [("漯河市附表.xlsx", blob)])),
        "zip inside": python_eml("tj@410200.gov.cn", [("附表.zip", gbk_zip([("开封市附表.xlsx", blob)]))]),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_a_large_attachment_decoded_aside_is_the_same_item(name, monkeypatch):
    data = _cases()[name]
    assert skeleton.parse(data, __import__("email").policy.default) is not None  # the fast way was taken
    assert _items(data) == _standard_only(data, monkeypatch)


def test_every_bundled_sample_mail_gives_the_same_items(monkeypatch):
    mails = sorted(SAMPLES.rglob("*.eml"))
    assert len(mails) >= 50
    fast = 0
    for path in mails:
        data = path.read_bytes()
        fast += skeleton.parse(data, __import__("email").policy.default) is not None
        assert _items(data) == _standard_only(data, monkeypatch), path.name
    assert fast >= len(mails) // 2


def test_what_the_fast_way_does_not_vouch_for_goes_to_the_standard_parser(monkeypatch):
    """Bad padding (the standard parser repairs it), a missing close delimiter, a boundary the parts never use."""
    blob = os.urandom(60_000)
    good = python_eml("tj@410100.gov.cn", [("附表.xlsx", blob)])
    head, _, body = good.partition(b"\n\n")
    lines = good.split(b"\n")
    long_lines = [i for i, line in enumerate(lines) if len(line) == 76]
    bad_padding = b"\n".join(lines[:long_lines[5]] + [lines[long_lines[5]][:-1]] + lines[long_lines[5] + 1:])
    unclosed = good[:good.rfind(b"--")]
    cases = {"bad padding": bad_padding, "unclosed": unclosed,
             "wrong boundary": good.replace(b'boundary="', b'boundary="x', 1)}
    for name, data in cases.items():
        assert _items(data) == _standard_only(data, monkeypatch), name


@pytest.mark.parametrize("name", ["审核回执.xlsx", "郑州市2025年第三季度建设工程质量分析报告附表（第2版）_审核回执.xlsx", "receipt.xlsx"])
@pytest.mark.parametrize("attached", [True, False])
def test_a_reply_written_directly_reads_back_as_the_email_package_writes_it(name, attached):
    """compose.Mail writes the bytes itself; both standard parsers must read it as the same mail the email
    package builds: every header, the text, the attachment's name and bytes."""
    import email
    from email import policy

    from qtables.intake.compose import Mail

    data = os.urandom(150_001)
    mail = Mail([("Subject", "Re: 郑州市附表 【审核结果】郑州市 2025年第3季度 建设工程质量分析报告附表：退回（有强制性问题）"),
                 ("From", "河南省建设工程质量监督总站 <zlz@hnjs.gov.cn>"), ("To", "tj@410100.gov.cn"),
                 ("Date", "Tue, 30 Sep 2025 10:00:00 +0800"), ("Message-ID", "<1@qtables.local>"),
                 ("In-Reply-To", "<abc@mail.gov.cn>"), ("References", "<abc@mail.gov.cn>")],
                "郑州市：\n\n贵单位报送的附表审核结果：通过。\n  1. [T5-01] 附表5!T6 用户满意率应在0～100之间" + "很长的一行" * 40,
                (name, data) if attached else None)
    raw = mail.to_bytes()
    assert all(len(line) <= 998 for line in raw.split(b"\n")) and raw.isascii()
    standard = mail.message()
    for pol in (policy.default, policy.compat32):
        ours, theirs = email.message_from_bytes(raw, policy=pol), email.message_from_bytes(bytes(standard), policy=pol)
        assert not ours.defects
        for header in ("Subject", "From", "To", "Date", "Message-ID", "In-Reply-To", "References"):
            decoded = str(email.header.make_header(email.header.decode_header(str(ours[header]))))
            assert decoded == str(email.header.make_header(email.header.decode_header(str(theirs[header])))), header
        parts = [p for p in ours.walk() if not p.is_multipart()]
        assert [p.get_content_type() for p in parts] == [p.get_content_type() for p in theirs.walk() if not p.is_multipart()]
        assert parts[0].get_payload(decode=True).decode("utf-8") == mail.text + "\n"
        if attached:
            assert parts[1].get_payload(decode=True) == data and parts[1].get_content_disposition() == "attachment"
            filename = parts[1].get_filename()
            assert (str(email.header.make_header(email.header.decode_header(filename))) if pol is policy.compat32 else filename) == name
            assert str(email.header.make_header(email.header.decode_header(parts[1].get_param("name")))) == name


def test_a_line_break_in_what_the_sender_wrote_starts_no_header_in_the_reply():
    """The reply answers the sender's subject and Message-ID: a CR/LF smuggled into either (RFC 2047 lets an
    encoded subject carry one) must not become a header of its own (a Bcc: sending the reply elsewhere)."""
    import email
    from email import policy

    from qtables.intake.compose import Mail

    mail = Mail([("Subject", "Re: 附表\r\nBcc: evil@example.com"), ("From", "qtables@localhost"), ("To", "tj@410100.gov.cn"),
                 ("In-Reply-To", "<a@b>\nBcc: evil@example.com"), ("Subject-Ascii", "x\r\nBcc: evil@example.com")], "正文")
    back = email.message_from_bytes(mail.to_bytes(), policy=policy.default)
    assert back["Bcc"] is None and not back.defects
    assert "evil@example.com" in str(back["Subject"]) and "\n" not in str(back["Subject"])


def test_a_message_the_modern_parser_refuses_still_gives_its_attachments():
    """A header the modern parser raises on (a NUL in an RFC 2231 parameter) sends the message to compat32, whose
    Message has no iter_parts: its attachment must still come out (it was silently dropped before)."""
    data = python_eml("tj@410100.gov.cn", [("郑州市附表.xlsx", os.urandom(3000))], subject="郑州市2025年第三季度附表")
    bad = data.replace(b"Content-Type: multipart/mixed; boundary=", b"Content-Type: multipart/mixed; x*=utf-7\x00''a; boundary=", 1)
    assert bad != data
    [item] = [i for i in message_items(bad, "mail", "mail.eml") if i.name.endswith(".xlsx")]
    assert item.name == "郑州市附表.xlsx" and len(item.data) == 3000 and item.sender == "tj@410100.gov.cn"
    assert item.subject == "郑州市2025年第三季度附表"  # encoded words decoded there too
