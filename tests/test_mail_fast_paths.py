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


def test_a_reply_is_written_byte_for_byte_as_the_email_package_writes_it():
    from email.message import EmailMessage

    from qtables.intake.mail import _attach_workbook, as_bytes

    data = os.urandom(150_001)
    fast, standard = EmailMessage(), EmailMessage()
    for m in (fast, standard):
        m["Subject"], m["From"], m["To"], m["Message-ID"] = "【审核结果】郑州市", "qtables@localhost", "tj@410100.gov.cn", "<1@q>"
        m.set_content("贵单位报送的附表审核结果：通过。")
    _attach_workbook(fast, data, "审核回执.xlsx")
    standard.add_attachment(data, maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            filename="审核回执.xlsx")
    for m in (fast, standard):
        m.set_boundary("==qtables-test==")
    assert as_bytes(fast) == bytes(fast) == bytes(standard)
    back = __import__("email").message_from_bytes(as_bytes(fast), policy=__import__("email").policy.default)
    [part] = list(back.iter_attachments())
    assert part.get_filename() == "审核回执.xlsx" and part.get_content() == data


def test_a_message_the_modern_parser_refuses_still_gives_its_attachments():
    """A header the modern parser raises on (a NUL in an RFC 2231 parameter) sends the message to compat32, whose
    Message has no iter_parts: its attachment must still come out (it was silently dropped before)."""
    data = python_eml("tj@410100.gov.cn", [("郑州市附表.xlsx", os.urandom(3000))], subject="郑州市2025年第三季度附表")
    bad = data.replace(b"Content-Type: multipart/mixed; boundary=", b"Content-Type: multipart/mixed; x*=utf-7\x00''a; boundary=", 1)
    assert bad != data
    [item] = [i for i in message_items(bad, "mail", "mail.eml") if i.name.endswith(".xlsx")]
    assert item.name == "郑州市附表.xlsx" and len(item.data) == 3000 and item.sender == "tj@410100.gov.cn"
    assert item.subject == "郑州市2025年第三季度附表"  # encoded words decoded there too
