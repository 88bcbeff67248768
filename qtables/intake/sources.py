"""Everything that can arrive, unpacked into items: (where it came from, its name, its bytes, who sent it).

Sources: files; folders (recursive); .eml; mbox; Maildir; Outlook .msg (read
from its OLE container with olefile, BSD-licensed); zip archives, including
zips made on Chinese Windows (GBK names without the UTF-8 flag) and zips in
zips.  Attachment names in RFC 2231, RFC 2047 and raw 8-bit GBK headers come
out as the right Chinese name; forwarded messages (message/rfc822) are searched
too.  A name is metadata only: nothing is ever written under it.
"""

from __future__ import annotations

import mailbox
import os
from pathlib import Path
from typing import Iterator


from qtables.intake.items import Item, Limits, UnpackContext, container_kind, mtime_iso
from qtables.intake.archives import zip_items
from qtables.intake.messages import message_parts, msg_items, parse_message


def iter_items(paths: list[str | os.PathLike[str]], limits: Limits | None = None) -> Iterator[Item]:
    ctx = UnpackContext(limits or Limits())
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


MAIL_SUFFIXES = (".eml", ".msg", ".mbox")


def _file(path: Path, ctx: UnpackContext) -> Iterator[Item]:
    size = path.stat().st_size
    source_id = f"file:{path.resolve()}"
    if size > ctx.limits.attachment_bytes * 4:
        yield Item(source_id, path.name, b"", str(path), source_id, received_at=mtime_iso(path), problem="L01",
                   detail=f"文件大小 {size} 字节，超过限制")
        return
    data = path.read_bytes()
    kind = container_kind(data)
    received = mtime_iso(path)
    if kind == "mbox":
        yield from _mbox(path, ctx)
    elif kind == "eml":
        yield from message_parts(parse_message(data), source_id, str(path), ctx, received, 0)
    elif kind == "msg":
        yield from msg_items(data, source_id, str(path), ctx, received)
    elif kind == "zip":
        yield from zip_items(data, source_id, path.name, str(path), source_id, ctx, None, received, 0)
    elif path.suffix.lower() in MAIL_SUFFIXES:
        # Named as mail but nothing in it parses as a message: unreadable, not "other material".
        yield Item(source_id, path.name, data, str(path), source_id, received_at=received, problem="L09",
                   detail=f"“{path.name}”不是可以解析的邮件文件")
    else:
        yield Item(source_id, path.name, data, str(path), source_id, received_at=received)


# -- mail -----------------------------------------------------------------


def _mbox(path: Path, ctx: UnpackContext) -> Iterator[Item]:
    box = mailbox.mbox(str(path), factory=None, create=False)
    try:
        for key, msg in box.iteritems():
            data = msg.as_bytes()
            parsed = parse_message(data)
            yield from message_parts(parsed, f"mbox:{path.resolve()}#{key}", f"{path}#{key}", ctx, mtime_iso(path), 0)
    finally:
        box.close()


def _maildir(path: Path, ctx: UnpackContext) -> Iterator[Item]:
    box = mailbox.Maildir(str(path), factory=None, create=False)
    for key in sorted(box.keys()):
        with box.get_file(key) as fh:
            data = fh.read()
        parsed = parse_message(data)
        yield from message_parts(parsed, f"maildir:{path.resolve()}#{key}", f"{path}#{key}", ctx, mtime_iso(path), 0)


# -- Outlook .msg -----------------------------------------------------------


# -- zip -------------------------------------------------------------------


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
