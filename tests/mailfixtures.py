"""Mail and archive fixtures as real senders make them (including the awkward ones)."""

from __future__ import annotations

import base64
import io
import zipfile
from email.message import EmailMessage

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def python_eml(sender: str, attachments: list[tuple[str, bytes]], subject: str = "附表", date: str = "Tue, 30 Sep 2025 10:00:00 +0800") -> bytes:
    """Python's email package: non-ASCII names come out in RFC 2231."""
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Date"] = sender, "zlz@hnjs.gov.cn", subject, date
    m.set_content("请查收附件。")
    for name, data in attachments:
        m.add_attachment(data, maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=name)
    return bytes(m)


def rfc2047_eml(sender: str, name: str, data: bytes, charset: str = "gbk") -> bytes:
    """Outlook/Foxmail style: an RFC 2047 encoded-word inside the quoted filename."""
    word = f"=?{charset}?B?{base64.b64encode(name.encode(charset)).decode()}?="
    return _raw(sender, f'attachment; filename="{word}"'.encode(), f'{XLSX}; name="{word}"'.encode(), data)


def raw_gbk_eml(sender: str, name: str, data: bytes) -> bytes:
    """Old Chinese mailers: the filename as raw 8-bit GBK bytes in the header."""
    raw = name.encode("gbk")
    return _raw(sender, b'attachment; filename="' + raw + b'"', XLSX.encode() + b'; name="' + raw + b'"', data)


def _raw(sender: str, disposition: bytes, ctype: bytes, data: bytes) -> bytes:
    body = base64.encodebytes(data)
    return b"\r\n".join([
        f"From: {sender}".encode(), b"To: zlz@hnjs.gov.cn", b"Subject: =?utf-8?B?" + base64.b64encode("报表".encode()) + b"?=",
        b"Date: Wed, 01 Oct 2025 09:00:00 +0800", b"Message-ID: <raw-" + sender.encode() + b">", b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="BOUNDARY"', b"", b"--BOUNDARY", b"Content-Type: text/plain; charset=gbk", b"",
        "请查收".encode("gbk"), b"--BOUNDARY", b"Content-Type: " + ctype, b"Content-Disposition: " + disposition,
        b"Content-Transfer-Encoding: base64", b"", body, b"--BOUNDARY--", b"",
    ])


def forwarded_eml(forwarder: str, inner: bytes) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = forwarder, "zlz@hnjs.gov.cn", "转发：附表"
    m["Date"] = "Thu, 02 Oct 2025 09:00:00 +0800"
    m.set_content("转发县里报来的附表。")
    from email import message_from_bytes, policy

    m.add_attachment(message_from_bytes(inner, policy=policy.default))
    return bytes(m)


def gbk_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A zip as Chinese Windows writes it: GBK member names, no UTF-8 flag.

    Python's zipfile always flags non-ASCII names as UTF-8, so the names are
    written as ASCII placeholders of the same byte length and patched in.
    """
    buf = io.BytesIO()
    placeholders = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, data) in enumerate(members):
            raw = name.encode("gbk")
            placeholder = (f"{i:03d}" + "x" * len(raw))[: len(raw)].encode()
            assert len(placeholder) == len(raw)
            placeholders.append((placeholder, raw))
            zf.writestr(placeholder.decode(), data)
    blob = buf.getvalue()
    for placeholder, raw in placeholders:
        blob = blob.replace(placeholder, raw)
    return blob


def docx_bytes(text: str = "情况说明") -> bytes:
    """A minimal Word package (what sniff calls docx): an 分析报告 or 情况说明 attached beside the 附表."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", f"<w:document>{text}</w:document>")
    return buf.getvalue()
