"""The zip package of a returned workbook, looked at before any reader parses it.

Limits on members, sizes and compression ratio; no DTD (so no entity) in any XML part a reader
will parse; and each sheet's extent, just before calamine loads it: calamine allocates the whole
rectangle a sheet's cells span and aborts the process on a cell at XFD1048576, so a sheet with a
reference past the limits is refused first.  Members are inflated straight from the package's
bytes where they can be.  Problems are raised as ReadProblem with a finding code.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Everything a damaged archive can raise while it is listed or inflated (zlib.error found by fuzzing).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError, KeyError)


class ReadProblem(Exception):
    def __init__(self, code: str, **details: Any):
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class ReadLimits:
    """What a workbook package may hold before it is parsed (from the workspace's [limits])."""

    decompressed_bytes: int = 200 * 1024 * 1024
    compression_ratio: int = 200
    zip_members: int = 2000
    sheet_rows: int = 20000
    sheet_columns: int = 702  # ZZ

    @classmethod
    def from_config(cls, config: dict) -> "ReadLimits":
        known = {k: int(v) for k, v in config.get("limits", {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def prescan_package(data: bytes, kind: str, limits: ReadLimits, zf: zipfile.ZipFile | None = None) -> dict[str, str]:
    """Check a zip-based workbook before any parser sees it: sizes, ratio, members, entity declarations.

    Returns the worksheet part of each sheet name (xlsx), so a sheet's extent can
    be checked just before it is loaded (see ``check_extent``).
    """
    try:
        zf = zf or zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except ZIP_ERRORS:
        raise ReadProblem("F03", detail="压缩结构损坏") from None
    # The caller owns the package (read_workbook keeps it open for the extent checks).
    if len(infos) > limits.zip_members:
        raise ReadProblem("L02", detail=f"工作簿内含 {len(infos)} 个部件，超过限制 {limits.zip_members}")
    declared = sum(i.file_size for i in infos)
    if declared > limits.decompressed_bytes:
        raise ReadProblem("L03", detail=f"工作簿解压后共 {declared} 字节，超过限制 {limits.decompressed_bytes}")
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size / max(1, info.compress_size) > limits.compression_ratio:
            raise ReadProblem("L04", detail=f"部件 {info.filename} 的压缩比超过限制 {limits.compression_ratio}")
    parts = {"": "content.xml"} if kind == "ods" else _sheet_parts(zf)
    # A worksheet's prolog is looked at when the sheet is loaded (check_extent inflates it whole anyway);
    # every other part here, before any reader parses it.
    deferred = set(parts.values()) if kind != "ods" else set()  # calamine parses an ODS's content.xml on opening
    for info in infos:
        if info.filename.endswith((".xml", ".rels")) and info.filename not in deferred:
            # A DTD (and so any entity) can only stand in the prolog, before the root element.
            if _DTD.search(_head(zf, info, raw=data)):
                raise ReadProblem("X01", detail=info.filename)
    return parts


def _head(zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: int = 2048, raw: bytes | None = None) -> bytes:
    try:
        return _inflate(zf, info, size, raw)
    except ZIP_ERRORS:
        raise ReadProblem("F03", detail=f"部件 {info.filename} 无法解压") from None


_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_DEFLATE_MAX_RATIO = 1100  # deflate's largest expansion is 1032:1 (258-byte matches at about 2 bits each)


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, raw: bytes | None = None) -> bytes:
    """At most ``limit`` bytes of a member.  With the package's bytes at hand, a plain stored or deflated
    member is inflated straight from them (zipfile's member reader costs more than the inflating for the
    small parts and sheets read here); anything else goes through zipfile."""
    if raw is not None and info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) and not info.flag_bits & 0x1:
        # Offsets come from the file: a damaged or hostile directory may point anywhere (found by fuzzing).
        head = _LOCAL_HEADER.unpack_from(raw, info.header_offset) if 0 <= info.header_offset <= len(raw) - 30 else None
        start = info.header_offset + _LOCAL_HEADER.size + head[9] + head[10] if head is not None else -1
        if head is not None and head[0] == b"PK\x03\x04" and start + info.compress_size <= len(raw):
            body = memoryview(raw)[start:start + info.compress_size]
            if info.compress_type == zipfile.ZIP_STORED:
                return bytes(body[:limit])
            if len(body) * _DEFLATE_MAX_RATIO < limit:
                # Deflate cannot expand more than ~1032:1, so this member cannot pass the limit: inflated in one
                # call into a buffer of its declared size (about twice as fast as the bounded stream below).
                return zlib.decompress(body, -15, max(info.file_size, 64))
            return zlib.decompressobj(-15).decompress(body, limit)
    with zf.open(info) as fh:
        return fh.read(limit)


_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]+)"')
_REL = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"')


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    import html

    try:
        book = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except ZIP_ERRORS:
        return {}
    targets = {rid.decode(): target.decode() for rid, target in _REL.findall(rels)}
    out = {}
    for name, rid in _SHEET.findall(book):
        target = targets.get(rid.decode())
        if target:
            part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            out[html.unescape(name.decode("utf-8", "replace"))] = part
    return out


def check_extent(data: bytes | zipfile.ZipFile, part: str, limits: ReadLimits, raw: bytes | None = None) -> None:
    """Refuse a sheet with cells beyond the row/column limits before a reader allocates it.  ``data``: the
    package or its bytes; ``raw``: the package's bytes beside an open package."""
    try:
        if isinstance(data, zipfile.ZipFile):
            blob = _inflate(data, data.getinfo(part), limits.decompressed_bytes + 1, raw)
        else:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                blob = _inflate(zf, zf.getinfo(part), limits.decompressed_bytes + 1, data)
    except ZIP_ERRORS:
        return  # the reader reports a missing or damaged part itself
    if _DTD.search(blob, 0, 2048):
        raise ReadProblem("X01", detail=part)
    if not _may_exceed(blob, limits):
        return
    # Only a sheet that may exceed the limits is scanned in full, to name the exact row or column:
    # every row and cell reference, in either kind of quotes.
    refs = _REF.findall(blob)
    last = max((int(digits) for _letters, digits in refs if digits), default=0)
    if last > limits.sheet_rows:
        raise ReadProblem("L08", detail=f"工作表有第 {last} 行，超过限制 {limits.sheet_rows} 行")
    widest = max((_col_number(letters) for letters in {letters for letters, _digits in refs} if letters), default=0)
    if widest > limits.sheet_columns:
        raise ReadProblem("L08", detail=f"工作表有第 {widest} 列，超过限制 {limits.sheet_columns} 列")


# Digits fold to 0, capital letters to A and ' to ", so one literal search finds any row number with as many
# digits as the row limit (or more) and any column with as many letters as the column limit (or more).
_FOLD = bytes.maketrans(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'", b"0" * 10 + b"A" * 26 + b'"')
_REF = re.compile(rb"""<(?:\w+:)?(?:row|c)\b[^>]*?\br\s*=\s*["']([A-Z]*)(\d*)["']""")


def _may_exceed(blob: bytes, limits: ReadLimits) -> bool:
    """A quick, conservative test (C-speed translate and find): False only when no reference in the sheet
    data can exceed the limits; True may be a false alarm (a style number as long), settled by the full scan."""
    long_row, long_col = _needles(limits.sheet_rows, limits.sheet_columns)
    start = max(blob.find(b"sheetData"), 0)  # column widths before it have long digit runs of their own
    folded = blob.translate(_FOLD)
    return folded.find(long_row, start) >= 0 or folded.find(long_col, start) >= 0


@lru_cache(maxsize=16)
def _needles(sheet_rows: int, sheet_columns: int) -> tuple[bytes, bytes]:
    """What a row number or a column past the limits looks like once folded: as many digits as the row
    limit (or more) before a quote, as many letters as the column limit's (or more) after one."""
    rows_limit, cols_limit = str(sheet_rows), _col_letters(sheet_columns)
    row_digits = len(rows_limit) + (set(rows_limit) == {"9"})  # 99999: only a longer number exceeds it
    col_letters = len(cols_limit) + (set(cols_limit) == {"Z"})  # ZZ: only a longer column exceeds it
    return b"0" * row_digits + b'"', b'"' + b"A" * col_letters


def _col_letters(n: int) -> str:
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out
