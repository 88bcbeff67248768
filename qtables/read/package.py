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
    # Every XML part's prolog is looked at before any reader parses it; a worksheet's when it is loaded
    # (check_extent inflates it whole anyway), provided the worksheets are known for certain.
    checked: set[str] = set()  # parts _sheet_parts has already looked at
    parts = {"": "content.xml"} if kind == "ods" else _sheet_parts(zf, data, checked)
    deferred = set(parts.values()) if parts and kind != "ods" else set()  # calamine parses content.xml on opening
    for info in infos:
        if info.filename.endswith((".xml", ".rels")) and info.filename not in deferred and info.filename not in checked:
            if _has_dtd(zf, info, data):
                raise ReadProblem("X01", detail=info.filename)
    if kind != "ods":
        _check_string_table(zf, infos, data, limits)
    return parts


def _head(zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: int = 2048, raw: bytes | None = None) -> bytes:
    try:
        return _inflate(zf, info, size, raw)
    except ZIP_ERRORS:
        raise ReadProblem("F03", detail=f"部件 {info.filename} 无法解压") from None


# A DTD (and so any entity) stands in the prolog: after the declaration, whitespace, comments and
# processing instructions, before the root element.
_MISC = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.S)


def _has_dtd(zf: zipfile.ZipFile, info: zipfile.ZipInfo, raw: bytes | None) -> bool:
    """Whether a part declares a DTD.  The first 2 KB settle it unless the prolog runs on past them (a long
    comment can stand before a DOCTYPE); then the whole part is read."""
    text = _head(zf, info, raw=raw)
    verdict = _dtd_in(text, whole=len(text) < 2048)
    if verdict is None:
        verdict = _dtd_in(_head(zf, info, info.file_size + 1, raw), whole=True)
    return bool(verdict)


def _dtd_in(text: bytes, whole: bool) -> bool | None:
    if b"\0" in text[:512]:  # UTF-16 (or worse): no prolog walk, any declaration anywhere counts
        for codec in ("utf-16", "utf-16-le", "utf-16-be"):
            decoded = text.decode(codec, "ignore").encode("utf-8", "ignore")
            if _DTD.search(decoded):
                return True
        return None if not whole else False
    # Positions, not slices: a worksheet is looked at whole here, and a slice would copy it.
    at = _MISC.match(text, 3 if text.startswith(b"\xef\xbb\xbf") else 0).end()
    if text[at:at + 9].upper() == b"<!DOCTYPE" or text[at:at + 8].upper() == b"<!ENTITY":
        return True
    if not whole and (at >= len(text) or text.startswith((b"<!", b"<?"), at)):
        return None  # the prolog goes on past what was read
    return False


def _check_string_table(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], raw: bytes, limits: ReadLimits) -> None:
    """calamine reserves room for as many strings as the shared-string table's uniqueCount says, before
    reading one: a count far beyond what the part could hold aborts the process (or panics).  A real
    table holds at least five bytes a string (``<si/>``)."""
    for info in infos:
        if not info.filename.replace("\\", "/").lower().endswith("sharedstrings.xml"):
            continue
        blob = _head(zf, info, limits.decompressed_bytes + 1, raw)
        at = blob.find(b"uniqueCount")
        while at >= 0:
            value = _ATTR_VALUE.match(blob, at + 11)
            counts = [int(d) for d in re.findall(rb"\d+", value.group(2))] if value else []
            if any(n > max(1024, len(blob) // 4) for n in counts):
                raise ReadProblem("X02", detail=f"{info.filename}（声明 {max(counts)} 个字符串，部件只有 {len(blob)} 字节）")
            at = blob.find(b"uniqueCount", at + 11)


_ATTR_VALUE = re.compile(rb"""\s*=\s*(["'])(.*?)\1""", re.S)


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


def _sheet_parts(zf: zipfile.ZipFile, raw: bytes, checked: set[str]) -> dict[str, str] | None:
    """The worksheet part calamine reads for each sheet name — or None when the package is not laid out
    plainly enough to know for certain (then every part is checked before a sheet is loaded).  Plain:
    one office document at xl/workbook.xml, relationship ids used once, no two members whose names
    differ only in case or slashes (calamine looks parts up that way), every sheet's target present.
    The parts read here are checked for a DTD first, and added to ``checked``."""
    members: dict[str, str] = {}
    for name in zf.namelist():
        key = name.replace("\\", "/").lower()
        if key in members:
            return None
        members[key] = name

    def elements(path: str, wanted: str) -> list[dict[str, str]] | None:
        name = members.get(path)
        if name is None:
            return None
        info = zf.getinfo(name)
        if _has_dtd(zf, info, raw):
            raise ReadProblem("X01", detail=name)
        checked.add(name)
        try:
            blob = _inflate(zf, info, 16 * 1024 * 1024, raw)
        except ZIP_ERRORS:
            return None
        return None if b"&" in blob and wanted == "Relationship" else _elements(blob, wanted)

    package_rels = elements("_rels/.rels", "Relationship")
    office = [r.get("Target", "") for r in package_rels or [] if r.get("Type", "").endswith("/relationships/officeDocument")]
    if len(office) != 1 or office[0].lstrip("/").lower() != "xl/workbook.xml":
        return None
    rels, sheets = elements("xl/_rels/workbook.xml.rels", "Relationship"), elements("xl/workbook.xml", "sheet")
    if rels is None or sheets is None:
        return None
    targets = {r["Id"]: r.get("Target", "") for r in rels if "Id" in r}
    if len(targets) != sum("Id" in r for r in rels):
        return None
    out: dict[str, str] = {}
    for sheet in sheets:
        ids = [v for k, v in sheet.items() if k == "id" or k.endswith(":id")]
        target = targets.get(ids[0]) if len(ids) == 1 else None
        if target is None or "name" not in sheet:
            return None
        member = members.get((target[1:] if target.startswith("/") else "xl/" + target).lower())
        if member is None:
            return None
        out.setdefault(sheet["name"], member)  # calamine takes the first sheet of a name
    return out


def _elements(blob: bytes, wanted: str) -> list[dict[str, str]] | None:
    """The attributes (raw names, as calamine matches them) of every element with this local name."""
    from xml.parsers import expat

    found: list[dict[str, str]] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if name.split(":", 1)[-1] == wanted:
            found.append(attrs)

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    try:
        parser.Parse(blob, True)
    except (expat.ExpatError, LookupError, ValueError, UnicodeError):  # not XML, or an encoding Python does not know
        return None
    return found
