"""Rewrite a zip package part by part, copying untouched parts as their compressed bytes.

An annotated receipt changes a handful of small parts of the submitted package
(a few sheets, the styles, the workbook) and adds some; the rest — above all
the template's multi-megabyte ``_checks`` helper sheet — is copied byte for
byte without inflating and deflating it again.  The standard ``zipfile`` has
no raw copy, so this module writes the local headers, the central directory
and its end record itself (no zip64: packages are far below its limits, and a
source that needs it is refused so the caller can fall back).
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import BinaryIO

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")
_UTF8 = 0x800


class CannotCopy(Exception):
    """The source package uses a feature this writer does not reproduce (zip64, encryption)."""


def _dos_time(info: zipfile.ZipInfo) -> tuple[int, int]:
    y, mo, d, h, mi, s = info.date_time
    return (h << 11) | (mi << 5) | (s // 2), ((max(y, 1980) - 1980) << 9) | (mo << 5) | d


def _raw_data(source: BinaryIO, info: zipfile.ZipInfo) -> bytes:
    source.seek(info.header_offset)
    head = source.read(_LOCAL.size)
    if len(head) != _LOCAL.size or head[:4] != b"PK\x03\x04":
        raise CannotCopy(info.filename)
    fields = _LOCAL.unpack(head)
    source.seek(info.header_offset + _LOCAL.size + fields[9] + fields[10])
    data = source.read(info.compress_size)
    if len(data) != info.compress_size:
        raise CannotCopy(info.filename)
    return data


def rewrite(source: BinaryIO, out: BinaryIO, replaced: dict[str, bytes], added: dict[str, bytes]) -> None:
    """Copy the zip in ``source`` to ``out``: parts in ``replaced`` get new content, ``added`` ones are
    appended, every other part is copied as its compressed bytes."""
    zin = zipfile.ZipFile(source)
    entries: list[tuple[str, int, int, int, int, int, int, int, bytes]] = []
    offset = 0

    def write(name: str, method: int, crc: int, size: int, payload: bytes, time_date: tuple[int, int], flags: int) -> None:
        nonlocal offset
        encoded = name.encode("utf-8")
        flags = (flags & ~0x8) | (_UTF8 if not name.isascii() else 0)
        out.write(_LOCAL.pack(b"PK\x03\x04", 20, flags, method, time_date[0], time_date[1], crc, len(payload), size,
                              len(encoded), 0))
        out.write(encoded)
        out.write(payload)
        entries.append((name, flags, method, time_date[0], time_date[1], crc, len(payload), size, encoded))
        offsets.append(offset)
        offset += _LOCAL.size + len(encoded) + len(payload)

    def deflate(data: bytes) -> bytes:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush()

    offsets: list[int] = []
    fp = zin.fp
    assert fp is not None
    for info in zin.infolist():
        if info.flag_bits & 0x1 or info.file_size >= 0xFFFFFFFF or info.compress_size >= 0xFFFFFFFF:
            raise CannotCopy(info.filename)
        if info.filename in added:
            continue
        if info.filename in replaced:
            data = replaced[info.filename]
            write(info.filename, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data), deflate(data), _dos_time(info), 0)
        else:
            write(info.filename, info.compress_type, info.CRC, info.file_size, _raw_data(fp, info), _dos_time(info),
                  info.flag_bits)
    stamp = (0, (2025 - 1980) << 9 | (1 << 5) | 1)
    for name, data in added.items():
        write(name, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data), deflate(data), stamp, 0)
    start = offset
    for (name, flags, method, t, d, crc, csize, size, encoded), at in zip(entries, offsets):
        out.write(_CENTRAL.pack(b"PK\x01\x02", 20, 20, flags, method, t, d, crc, csize, size, len(encoded), 0, 0, 0, 0, 0, at))
        out.write(encoded)
    size = sum(_CENTRAL.size + len(e[8]) for e in entries)
    if len(entries) >= 0xFFFF:
        raise CannotCopy("too many parts")
    out.write(_END.pack(b"PK\x05\x06", 0, 0, len(entries), len(entries), size, start, 0))
