"""The hostile-input corpus, generated at test time (large cases are never committed).

Each case is (name, bytes builder, expected finding code, expected intake status).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

XLSX_CT = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def rezip(data: bytes, edit) -> bytes:
    """A copy of an xlsx with parts changed by ``edit(name, blob) -> blob | None`` (None drops the part)."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = edit(info.filename, src.read(info.filename))
            if blob is not None:
                dst.writestr(info.filename, blob)
        extra = edit("__add__", b"")
        for name, blob in (extra or {}).items() if isinstance(extra, dict) else []:
            dst.writestr(name, blob)
    return out.getvalue()


def billion_laughs() -> bytes:
    lines = [b'<?xml version="1.0"?>', b"<!DOCTYPE lolz [", b'<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = b"lol" if i == 1 else f"lol{i - 1}".encode()
        lines.append(f'<!ENTITY lol{i} "'.encode() + (b"&" + prev + b";") * 10 + b'">')
    lines.append(b"]>")
    lines.append(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    return b"\n".join(lines)


def xxe() -> bytes:
    return (b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"><property name="x"><vt:lpwstr>&x;</vt:lpwstr></property></Properties>')


def huge_sheet_cell(data: bytes) -> bytes:
    """Put one cell at XFD1048576 (Excel's last cell) in the 附表5 sheet."""
    def edit(name, blob):
        if name == "xl/worksheets/sheet6.xml":
            return blob.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
        return blob
    return rezip(data, edit)


def sheet_tail(data: bytes, tail: bytes) -> bytes:
    """Rows appended to the 附表5 sheet's data (the shapes python-calamine would place far away)."""
    return rezip(data, lambda name, blob: blob.replace(b"</sheetData>", tail + b"</sheetData>") if name == "xl/worksheets/sheet6.xml" else blob)


# calamine places a cell without ``r`` after the previous one, and a row without ``r`` after the last.
UNLABELLED_WIDE = b"<row r=\"40\">" + b"<c><v>1</v></c>" * 800 + b"</row>"
UNLABELLED_LONG = b'<row r="19990"/>' + b"<row/>" * 20 + b"<row><c><v>1</v></c></row>"


def string_count(data: bytes, count: str) -> bytes:
    """The shared-string table declaring ``count`` strings (calamine reserves room for them first)."""
    import re

    return rezip(data, lambda name, blob: re.sub(rb'uniqueCount="\d+"', f'uniqueCount="{count}"'.encode(), blob)
                 if name == "xl/sharedStrings.xml" else blob)


def dtd_after_comment(data: bytes) -> bytes:
    """A DOCTYPE after a comment longer than the head the prolog check reads first."""
    head = b'<?xml version="1.0"?>\n<!--' + b" padding" * 1000 + b" -->\n"
    return replace_part(data, "xl/sharedStrings.xml", head + billion_laughs().split(b"\n", 1)[1])


def sheet_target_case(data: bytes, tail: bytes) -> bytes:
    """The 附表5 sheet's relationship target in other letters (calamine finds parts case-blind), plus ``tail``."""
    def edit(name, blob):
        if name == "xl/_rels/workbook.xml.rels":
            return blob.replace(b"worksheets/sheet6.xml", b"worksheets/SHEET6.XML")
        if name == "xl/worksheets/sheet6.xml":
            return blob.replace(b"</sheetData>", tail + b"</sheetData>")
        return blob
    return rezip(data, edit)


def bomb_part(data: bytes, size: int) -> bytes:
    """A workbook with an extra part of ``size`` zero bytes (compresses about 1000:1)."""
    def edit(name, blob):
        if name == "__add__":
            return {"xl/media/padding.bin": b"\0" * size}
        return blob
    return rezip(data, edit)


def macro(data: bytes) -> bytes:
    def edit(name, blob):
        if name == "__add__":
            return {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512}
        return blob
    return rezip(data, edit)


def replace_part(data: bytes, part: str, new: bytes) -> bytes:
    return rezip(data, lambda name, blob: new if name == part else blob)


def zip_of(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    return out.getvalue()


def nested_zip(depth: int, inner: bytes) -> bytes:
    blob = inner
    for i in range(depth):
        blob = zip_of({f"level{i}.zip" if i else "附表.xlsx": blob})
    return blob


def write_all(target: Path, cases: dict[str, bytes]) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for name, blob in cases.items():
        path = target / name
        path.write_bytes(blob)
        out.append(path)
    return out
