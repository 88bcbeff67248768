"""Everything that can arrive, unpacked into items: (where it came from, its name, its bytes, who sent it).

Sources: files; folders (recursive); .eml; mbox; Maildir; Outlook .msg (read
from its OLE container with olefile, BSD-licensed); zip archives, including
zips made on Chinese Windows (GBK names without the UTF-8 flag) and zips in
zips.  Attachment names in RFC 2231, RFC 2047 and raw 8-bit GBK headers come
out as the right Chinese name; forwarded messages (message/rfc822) are searched
too.  A name is metadata only: nothing is ever written under it.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import io
import mailbox
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path
from typing import Iterator

import olefile

from qtables.read import ZIP_ERRORS, sniff

WORKBOOK_KINDS = {"xlsx", "xlsm", "xls", "ods"}


@dataclass
class Limits:
    attachment_bytes: int = 25 * 1024 * 1024
    decompressed_bytes: int = 200 * 1024 * 1024
    compression_ratio: int = 200
    zip_members: int = 2000
    nesting_depth: int = 5
    messages_per_run: int = 5000

    @classmethod
    def from_config(cls, config: dict) -> "Limits":
        known = {k: int(v) for k, v in config.get("limits", {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Item:
    source_id: str  # stable identity of where the bytes came from (for idempotent reruns)
    name: str  # the attachment or file name, for people only
    data: bytes
    source: str  # a human description: the file, the mailbox, the message
    group: str  # items from one message or file share a group
    sender: str | None = None
    subject: str | None = None
    message_id: str | None = None
    received_at: str = ""
    problem: str | None = None  # a limit or format problem found while unpacking (finding code)
    detail: str = ""


@dataclass
class _Context:
    limits: Limits
    messages: int = 0
    notes: list[str] = field(default_factory=list)


def iter_items(paths: list[str | os.PathLike[str]], limits: Limits | None = None) -> Iterator[Item]:
    ctx = _Context(limits or Limits())
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            if (path / "cur").is_dir() and (path / "new").is_dir():
                yield from _maildir(path, ctx)
            else:
                for child in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                    yield from _file(child, ctx)
        elif path.is_file():
            yield from _file(path, ctx)
        else:
            yield Item(f"missing:{path}", path.name, b"", str(path), str(path), problem="L00", detail=f"找不到 {path}")


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).astimezone().isoformat(timespec="seconds")


def _file(path: Path, ctx: _Context) -> Iterator[Item]:
    size = path.stat().st_size
    source_id = f"file:{path.resolve()}"
    if size > ctx.limits.attachment_bytes * 4:
        yield Item(source_id, path.name, b"", str(path), source_id, received_at=_mtime(path), problem="L01",
                   detail=f"文件大小 {size} 字节，超过限制")
        return
    data = path.read_bytes()
    kind = _container_kind(data)
    received = _mtime(path)
    if kind == "mbox":
        yield from _mbox(path, ctx)
    elif kind == "eml":
        yield from _message(parse_message(data), source_id, str(path), ctx, received, 0)
    elif kind == "msg":
        yield from _msg(data, source_id, str(path), ctx, received)
    elif kind == "zip":
        yield from _zip(data, source_id, path.name, str(path), source_id, ctx, None, received, 0)
    else:
        yield Item(source_id, path.name, data, str(path), source_id, received_at=received)


def _container_kind(data: bytes) -> str:
    """mbox, eml, msg, zip (a plain archive) or file."""
    if data.startswith(b"From ") and b"\n" in data[:200]:
        return "mbox"
    kind = sniff(data)
    if kind == "msg":
        return "msg"
    if kind in ("zip", "broken-zip"):
        return "zip"  # a damaged archive is still an archive: unpacking reports it (L07)
    if kind in ("text", "unknown"):
        head = data[:4096].lower()
        markers = sum(m in head for m in (b"\nfrom:", b"\nsubject:", b"\nmime-version:", b"\nreceived:", b"\ncontent-type:", b"\nmessage-id:"))
        if markers >= 2 or head.startswith((b"from:", b"received:", b"return-path:", b"mime-version:", b"message-id:", b"subject:", b"date:", b"to:")) and markers >= 1:
            return "eml"
    return "file"


# -- mail -----------------------------------------------------------------


def _mbox(path: Path, ctx: _Context) -> Iterator[Item]:
    box = mailbox.mbox(str(path), factory=None, create=False)
    try:
        for key, msg in box.iteritems():
            data = msg.as_bytes()
            parsed = parse_message(data)
            yield from _message(parsed, f"mbox:{path.resolve()}#{key}", f"{path}#{key}", ctx, _mtime(path), 0)
    finally:
        box.close()


def _maildir(path: Path, ctx: _Context) -> Iterator[Item]:
    box = mailbox.Maildir(str(path), factory=None, create=False)
    for key in sorted(box.keys()):
        with box.get_file(key) as fh:
            data = fh.read()
        parsed = parse_message(data)
        yield from _message(parsed, f"maildir:{path.resolve()}#{key}", f"{path}#{key}", ctx, _mtime(path), 0)


def parse_message(data: bytes) -> Message:
    """Parse a message; a header the modern parser chokes on (found by fuzzing: a NUL in an
    RFC 2231 charset) falls back to the lenient compat32 policy."""
    try:
        msg = email.message_from_bytes(data, policy=email.policy.default)
        msg.get_content_type()
        return msg
    except Exception:  # noqa: BLE001 - any parser failure: read it the old, forgiving way
        return email.message_from_bytes(data, policy=email.policy.compat32)


def message_items(data: bytes, source_id: str, source: str, limits: Limits | None = None, received: str = "") -> Iterator[Item]:
    """The items of one raw RFC 822 message (used for IMAP)."""
    ctx = _Context(limits or Limits())
    yield from _message(parse_message(data), source_id, source, ctx, received, 0)


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
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header is treated as absent
        return None
    return fix_8bit(str(value)) if value is not None else None


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


def _received(msg: Message, fallback: str) -> str:
    raw = _header(msg, "Date")
    if raw:
        try:
            dt = email.utils.parsedate_to_datetime(raw)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
            return dt.isoformat(timespec="seconds")
        except (TypeError, ValueError, IndexError):
            pass
    return fallback


def _message(msg: Message, source_id: str, source: str, ctx: _Context, received: str, depth: int) -> Iterator[Item]:
    ctx.messages += 1
    if ctx.messages > ctx.limits.messages_per_run:
        yield Item(source_id, "(邮件)", b"", source, source_id, problem="L06", detail=f"本次处理的邮件超过 {ctx.limits.messages_per_run} 封")
        return
    sender = email.utils.parseaddr(_header(msg, "From") or "")[1].lower() or None
    subject = _header(msg, "Subject")
    message_id = _header(msg, "Message-ID")
    when = _received(msg, received)
    group = f"{source_id}"
    counter = [0]
    try:
        yield from _parts(msg, source_id, source, ctx, sender, subject, message_id, when, group, depth, counter)
    except Exception as exc:  # noqa: BLE001 - a message too broken to walk is one coded item, never a crash
        yield Item(f"{source_id}#broken{counter[0]}", "(邮件)", b"", source, group, sender, subject, message_id, when,
                   problem="L09", detail=f"邮件结构无法解析（{exc.__class__.__name__}）")


def _parts(msg: Message, source_id: str, source: str, ctx: _Context, sender, subject, message_id, when, group, depth, counter) -> Iterator[Item]:
    if depth > ctx.limits.nesting_depth:
        yield Item(f"{source_id}#deep", "(嵌套邮件)", b"", source, group, sender, subject, message_id, when, problem="L05",
                   detail=f"邮件嵌套超过 {ctx.limits.nesting_depth} 层")
        return
    try:
        parts = list(msg.iter_parts()) if msg.is_multipart() else [msg]
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
        if _container_kind(data) == "zip":
            yield from _zip(data, sid, label, source, group, ctx, (sender, subject, message_id), when, depth + 1)
        elif _container_kind(data) == "eml" and ctype == "message/rfc822":
            yield from _message(parse_message(data), sid, source, ctx, when, depth + 1)
        else:
            yield Item(sid, label, data, source, group, sender, subject, message_id, when)


# -- Outlook .msg -----------------------------------------------------------


def _msg_text(ole: olefile.OleFileIO, prefix: str, prop: str) -> str | None:
    for suffix, encoding in (("001F", "utf-16-le"), ("001E", "gb18030")):
        stream = f"{prefix}__substg1.0_{prop}{suffix}"
        if ole.exists(stream):
            return ole.openstream(stream).read().decode(encoding, "replace").rstrip("\x00")
    return None


def _msg(data: bytes, source_id: str, source: str, ctx: _Context, received: str) -> Iterator[Item]:
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
            if _container_kind(payload) == "zip":
                yield from _zip(payload, sid, name, source, source_id, ctx, (sender, subject, None), received, 1)
            else:
                yield Item(sid, name, payload, source, source_id, sender, subject, None, received)


# -- zip -------------------------------------------------------------------


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """A member's name: UTF-8 when flagged, else the GBK that Chinese Windows writes."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", "replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _zip(data: bytes, source_id: str, name: str, source: str, group: str, ctx: _Context, mail, received: str, depth: int) -> Iterator[Item]:
    sender, subject, message_id = mail or (None, None, None)
    limits = ctx.limits

    def whole(problem: str, detail: str) -> Item:
        return Item(source_id, name, data, source, group, sender, subject, message_id, received, problem=problem, detail=detail)

    if depth > limits.nesting_depth:
        yield whole("L05", f"压缩包嵌套超过 {limits.nesting_depth} 层")
        return
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except ZIP_ERRORS as exc:
        yield whole("L07", f"压缩包损坏：{exc.__class__.__name__}")
        return
    # Check what the archive declares before inflating anything.
    if len(infos) > limits.zip_members:
        yield whole("L02", f"压缩包含 {len(infos)} 个文件，超过限制 {limits.zip_members}")
        return
    declared = sum(i.file_size for i in infos)
    if declared > limits.decompressed_bytes:
        yield whole("L03", f"解压后共 {declared} 字节，超过限制 {limits.decompressed_bytes}")
        return
    for info in infos:
        if info.compress_size and info.file_size / max(1, info.compress_size) > limits.compression_ratio:
            yield whole("L04", f"成员 {zip_member_name(info)} 的压缩比 {info.file_size // max(1, info.compress_size)} 超过限制 {limits.compression_ratio}")
            return
    with zf:
        for index, info in enumerate(infos):
            member = zip_member_name(info)
            sid = f"{source_id}!{index}"
            label = member.replace("\\", "/").rsplit("/", 1)[-1] or f"成员{index + 1}"
            try:
                with zf.open(info) as fh:
                    payload = fh.read(limits.attachment_bytes + 1)
            except ZIP_ERRORS as exc:
                yield Item(sid, label, b"", source, group, sender, subject, message_id, received, problem="L07",
                           detail=f"压缩包成员 {member} 无法解压：{exc.__class__.__name__}")
                continue
            if len(payload) > limits.attachment_bytes or len(payload) > info.file_size:
                yield Item(sid, label, b"", source, group, sender, subject, message_id, received, problem="L03",
                           detail=f"压缩包成员 {member} 实际大小超出声明或限制")
                continue
            if _container_kind(payload) == "zip":
                yield from _zip(payload, sid, label, source, group, ctx, mail, received, depth + 1)
            else:
                yield Item(sid, label, payload, source, group, sender, subject, message_id, received)


def count_sources(paths: list[str | os.PathLike[str]]) -> int:
    """How many top-level files there are (for a progress bar)."""
    n = 0
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            if (path / "cur").is_dir():
                n += sum(1 for d in ("cur", "new") for _ in (path / d).iterdir())
            else:
                n += sum(1 for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            n += 1
    return n
