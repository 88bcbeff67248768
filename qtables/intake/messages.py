"""Mail messages (RFC 5322/MIME and Outlook .msg): attachments with their names decoded, forwarded mail, nested parts."""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import io
import re
from email.message import Message
from pathlib import Path
from typing import Iterator

import olefile

from qtables.intake.items import Item, Limits, UnpackContext, container_kind
from qtables.intake import skeleton
from qtables.intake.archives import zip_items
from qtables.timing import received_time


def parse_message(data: bytes) -> Message:
    """Parse a message with the compat32 policy: headers stay strings, decoded here only where they are read
    (``_header``, ``_filename``: RFC 2047 words, RFC 2231 parameters, raw 8-bit).  The default policy parses
    every header it is asked for into a registry object — 29 of them a message, about two thirds of the time
    reading a message took — and chokes on some (found by fuzzing: a NUL in an RFC 2231 charset)."""
    try:
        return skeleton.parse(data, email.policy.compat32) or email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception:  # noqa: BLE001 - the skeleton's structure was not the parser's: the whole standard parse
        return email.message_from_bytes(data, policy=email.policy.compat32)


def message_items(data: bytes, source_id: str, source: str, limits: Limits | None = None, received: str = "",
                  ours: str = "") -> Iterator[Item]:
    """The items of one raw RFC 822 message (used for IMAP)."""
    ctx = UnpackContext(limits or Limits())
    yield from message_parts(parse_message(data), source_id, source, ctx, received, 0, ours)


def fix_8bit(text: str | None) -> str | None:
    """Header text read from raw 8-bit bytes (surrogate-escaped): decode it as UTF-8, else GB18030."""
    if not text or not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("gb18030", "replace")


def _header(msg: Message, name: str) -> str | None:
    """A header's text, decoded: raw 8-bit bytes as UTF-8 or GB18030 (old Chinese mailers write them so), RFC 2047
    encoded words.  Read from the raw header: compat32's own access replaces raw 8-bit bytes with U+FFFD."""
    try:
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    except Exception:  # noqa: BLE001 - a malformed header is treated as absent
        return None
    if value is None:
        return None
    text = _FOLD.sub(" ", str(value)).strip()
    text = fix_8bit(text) or ""
    if "=?" in text:
        try:
            text = str(email.header.make_header(email.header.decode_header(text)))
        except Exception:  # noqa: BLE001 - undecodable: kept as it came
            pass
    return text


_FOLD = re.compile(r"\r?\n(?=[ \t])")


_RAW_NAME = re.compile(r'(?:file)?name\s*=\s*"([^"]*)"|(?:file)?name\s*=\s*([^;\s]+)', re.I)


def _raw_8bit_name(part: Message) -> str | None:
    """A filename written as raw 8-bit bytes: recovered from the unparsed header."""
    try:
        raw_items = part.raw_items()
    except Exception:  # noqa: BLE001
        return None
    for header, value in raw_items:
        if header.lower() in ("content-disposition", "content-type") and isinstance(value, str):
            if not any("\udc80" <= ch <= "\udcff" for ch in value):
                continue
            m = _RAW_NAME.search(value)
            if m:
                return fix_8bit(m.group(1) or m.group(2))
    return None


def _filename(part: Message) -> str | None:
    raw = _raw_8bit_name(part)
    if raw:
        return raw
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        name = None
    if not name:
        # Some mailers put the name only in Content-Type; others in a raw 8-bit parameter.
        try:
            name = part.get_param("name", header="content-type")
            if isinstance(name, tuple):
                name = email.utils.collapse_rfc2231_value(name)
        except Exception:  # noqa: BLE001
            name = None
    name = fix_8bit(name) if isinstance(name, str) else None
    if name and "=?" in name:
        try:
            name = str(email.header.make_header(email.header.decode_header(name)))
        except Exception:  # noqa: BLE001
            pass
    return name


def message_parts(msg: Message, source_id: str, source: str, ctx: UnpackContext, received: str, depth: int,
                  ours: str = "") -> Iterator[Item]:
    """The items of one message; ``received`` is the fallback time (the file's), ``ours`` the server's (IMAP)."""
    ctx.messages += 1
    if ctx.messages > ctx.limits.messages_per_run:
        yield Item(source_id, "(邮件)", b"", source, source_id, problem="L06", detail=f"本次处理的邮件超过 {ctx.limits.messages_per_run} 封")
        return
    sender = email.utils.parseaddr(_header(msg, "From") or "")[1].lower() or None
    subject = _header(msg, "Subject")
    message_id = _header(msg, "Message-ID")
    when, basis = received_time(msg, _header, received, ours)
    group = f"{source_id}"
    counter = [0]
    try:
        for item in _parts(msg, source_id, source, ctx, sender, subject, message_id, when, group, depth, counter):
            item.received_basis = basis  # a message inside this one was received when this one was
            yield item
    except Exception as exc:  # noqa: BLE001 - a message too broken to walk is one coded item, never a crash
        yield Item(f"{source_id}#broken{counter[0]}", "(邮件)", b"", source, group, sender, subject, message_id, when,
                   problem="L09", detail=f"邮件结构无法解析（{exc.__class__.__name__}）")


def _parts(msg: Message, source_id: str, source: str, ctx: UnpackContext, sender, subject, message_id, when, group, depth, counter) -> Iterator[Item]:
    if depth > ctx.limits.nesting_depth:
        yield Item(f"{source_id}#deep", "(嵌套邮件)", b"", source, group, sender, subject, message_id, when, problem="L05",
                   detail=f"邮件嵌套超过 {ctx.limits.nesting_depth} 层")
        return
    try:
        # get_payload, not iter_parts: a message the modern parser refused is read by compat32, whose Message has
        # no iter_parts (its attachments were silently dropped before).
        payload = msg.get_payload() if msg.is_multipart() else None
        parts = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else [msg]
    except Exception:  # noqa: BLE001 - a broken multipart is read as far as it goes
        parts = []
    for part in parts:
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                # A forwarded message: its attachments count, under the outer sender.
                yield from _parts(inner, f"{source_id}/fwd{counter[0]}", source, ctx, sender, subject, message_id, when, group, depth + 1, counter)
                counter[0] += 1
            continue
        if part.is_multipart() and part is not msg:
            yield from _parts(part, source_id, source, ctx, sender, subject, message_id, when, group, depth + 1, counter)
            continue
        name = _filename(part)
        disposition = (part.get_content_disposition() or "").lower()
        if not name and disposition != "attachment" and ctype.startswith(("text/", "multipart/")):
            continue  # the body of the message
        data = getattr(part, skeleton.PAYLOAD_ATTR, None)  # decoded already (skeleton.py)
        if data is None:
            try:
                data = part.get_payload(decode=True) or b""
            except Exception:  # noqa: BLE001 - garbage transfer encoding: keep what decodes
                data = b""
        index = counter[0]
        counter[0] += 1
        sid = f"{source_id}#{index}"
        label = name or f"附件{index + 1}"
        if len(data) > ctx.limits.attachment_bytes:
            yield Item(sid, label, b"", source, group, sender, subject, message_id, when, problem="L01",
                       detail=f"附件大小 {len(data)} 字节，超过限制 {ctx.limits.attachment_bytes}")
            continue
        kind = container_kind(data)
        if kind == "zip":
            yield from zip_items(data, sid, label, source, group, ctx, (sender, subject, message_id), when, depth + 1)
        elif kind == "eml" and ctype == "message/rfc822":
            yield from message_parts(parse_message(data), sid, source, ctx, when, depth + 1, ours=when)
        else:
            yield Item(sid, label, data, source, group, sender, subject, message_id, when)


def _msg_text(ole: olefile.OleFileIO, prefix: str, prop: str) -> str | None:
    for suffix, encoding in (("001F", "utf-16-le"), ("001E", "gb18030")):
        stream = f"{prefix}__substg1.0_{prop}{suffix}"
        if ole.exists(stream):
            return ole.openstream(stream).read().decode(encoding, "replace").rstrip("\x00")
    return None


def msg_items(data: bytes, source_id: str, source: str, ctx: UnpackContext, received: str) -> Iterator[Item]:
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception:  # noqa: BLE001
        yield Item(source_id, Path(source).name, data, source, source_id, received_at=received)
        return
    with ole:
        sender = (_msg_text(ole, "", "5D01") or _msg_text(ole, "", "0C1F") or "").strip().lower() or None
        subject = _msg_text(ole, "", "0037")
        attachments = sorted({entry[0] for entry in ole.listdir() if entry and entry[0].startswith("__attach_version1.0_")})
        for i, folder in enumerate(attachments):
            prefix = folder + "/"
            name = _msg_text(ole, prefix, "3707") or _msg_text(ole, prefix, "3704") or f"附件{i + 1}"
            stream = f"{prefix}__substg1.0_37010102"
            payload = ole.openstream(stream).read() if ole.exists(stream) else b""
            sid = f"{source_id}#{i}"
            if container_kind(payload) == "zip":
                yield from zip_items(payload, sid, name, source, source_id, ctx, (sender, subject, None), received, 1)
            else:
                yield Item(sid, name, payload, source, source_id, sender, subject, None, received)
