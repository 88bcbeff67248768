"""Zip archives: member names (GBK from Chinese Windows, UTF-8 flag), nesting, size and ratio limits."""

from __future__ import annotations

import io
import zipfile
from typing import Iterator


from qtables.read.workbook import ZIP_ERRORS
from qtables.intake.items import Item, UnpackContext, container_kind


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


def zip_items(data: bytes, source_id: str, name: str, source: str, group: str, ctx: UnpackContext, mail, received: str, depth: int) -> Iterator[Item]:
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
            if container_kind(payload) == "zip":
                yield from zip_items(payload, sid, label, source, group, ctx, mail, received, depth + 1)
            else:
                yield Item(sid, label, payload, source, group, sender, subject, message_id, received)
