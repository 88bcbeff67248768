"""Reading any file a unit sends back: the one module that opens workbooks.

The content decides what a file is, never its name: xlsx/xlsm (zip with
xl/workbook.xml), ods (zip with the OpenDocument mimetype), xls (OLE with a
Workbook stream), an encrypted OOXML package (OLE with EncryptionInfo), or
something else (PDF, Word, image, text …).  Values come from python-calamine,
which reads cached formula values and shared or inline strings alike and does
not trust a workbook's ``<dimension>``; custom document properties are read
from the package XML with defusedxml.  A zip package is looked at first
(``package``: limits, DTDs, the string table's declared size; ``extent``: each sheet's cells,
wherever calamine would place them, before it loads the sheet).
Problems are raised as ReadProblem with a finding code, never as a library's
exception.
"""

from __future__ import annotations

import contextlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import olefile
from defusedxml import ElementTree
from python_calamine import CalamineWorkbook

from qtables.read.odsread import OdsBook
from qtables.read.extent import check_extent, check_ods, check_xls  # noqa: F401 - check_extent is read's API too
from qtables.read.package import (  # noqa: F401 - ReadLimits, ReadProblem and ZIP_ERRORS are read's API too
    ZIP_ERRORS, ReadLimits, ReadProblem, prescan_package,
)


@contextlib.contextmanager
def rust_panics_quiet():
    """stderr (the file descriptor) sent to the null device while calamine reads: a Rust panic on a damaged
    file (an .xls record cut short, found by fuzzing) prints its message, and with RUST_BACKTRACE set a stack
    trace, before pyo3 turns it into an exception — which read.py reports as F03.  The clerk sees the coded
    Chinese finding, not a Rust backtrace."""
    global _null_fd
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to speak of (a GUI launcher): nothing to quiet
        yield
        return
    try:
        if _null_fd is None:
            _null_fd = os.open(os.devnull, os.O_WRONLY)  # opened once: this runs for every sheet read
        os.dup2(_null_fd, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_null_fd: int | None = None


@contextlib.contextmanager
def _named(name: str):
    """A ReadProblem raised inside gets the file's name, unless it already names one."""
    try:
        yield
    except ReadProblem as problem:
        problem.details.setdefault("name", name)
        raise


def _reader_failed(exc: BaseException) -> bool:
    """Whether an exception out of python-calamine is the file's fault: any Exception, and the Rust panic
    pyo3 raises as a BaseException (found with a shared-string count of 2**64 - 1); never Ctrl-C."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


_KIND_TEXT = {
    "pdf": "PDF 文档",
    "docx": "Word 文档",
    "doc": "Word 97-2003 文档",
    "pptx": "PowerPoint 演示文稿",
    "zip": "压缩包",
    "image": "图片",
    "text": "文本或 CSV 文件",
    "html": "网页文件",
    "msg": "Outlook 邮件",
    "ole": "Office 97-2003 文件",
    "unknown": "未知格式的文件",
}
_CUSTOM_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"
_ODF_META = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"


@dataclass
class Sheet:
    name: str
    visible: bool
    rows: list[list[Any]]

    def get(self, row: int, col: int) -> Any:
        """The value at 0-based (row, col); None for an empty cell."""
        if row < len(self.rows):
            line = self.rows[row]
            if col < len(line):
                value = line[col]
                return None if value == "" else value
        return None


@dataclass
class RawWorkbook:
    name: str
    format: str  # xlsx, xlsm, xls, ods
    sheet_names: list[str]
    visible: dict[str, bool]
    properties: dict[str, str]
    has_macros: bool
    _book: CalamineWorkbook = field(repr=False)
    _cache: dict[str, Sheet] = field(default_factory=dict, repr=False)
    _data: bytes = field(default=b"", repr=False)
    _parts: "dict[str, str] | None" = field(default_factory=dict, repr=False)  # None: not known for certain
    _checked: set[str] = field(default_factory=set, repr=False)
    _limits: "ReadLimits | None" = field(default=None, repr=False)
    _zip: "zipfile.ZipFile | None" = field(default=None, repr=False)

    def has_sheet(self, name: str) -> bool:
        return name in self.visible

    def _package(self) -> "zipfile.ZipFile | bytes":
        """The zip package, opened once for every sheet's extent check."""
        if self._zip is None:
            try:
                self._zip = zipfile.ZipFile(io.BytesIO(self._data))
            except ZIP_ERRORS:
                return self._data
        return self._zip

    def _check_extent(self, name: str) -> None:
        """The sheet's part, or — when the package does not say for certain which part calamine reads for
        the name — every part, each once."""
        if self._parts is not None and name in self._parts:
            parts = [self._parts[name]]
        else:
            package = self._package()
            parts = package.namelist() if isinstance(package, zipfile.ZipFile) else []
        for part in parts:
            if part in self._checked:
                continue
            try:
                check_extent(self._package(), part, self._limits, raw=self._data)  # type: ignore[arg-type]
            except ReadProblem as problem:
                problem.details["name"] = f"{self.name}（工作表“{name}”）"
                raise
            self._checked.add(part)

    def sheet(self, name: str) -> Sheet:
        if name not in self._cache:
            if self._limits is not None and self.format in ("xlsx", "xlsm"):
                self._check_extent(name)
            try:
                with rust_panics_quiet():
                    rows = self._book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except BaseException as exc:  # noqa: BLE001 - any reader failure is a damaged file
                if not _reader_failed(exc):
                    raise
                raise ReadProblem("F03", detail=f"工作表“{name}”无法读取") from None
            self._cache[name] = Sheet(name, self.visible.get(name, True), rows)
        return self._cache[name]


def sniff(data: bytes) -> str:
    """What a file is, from its bytes.  The last answer is kept with the bytes object it was for: intake asks
    about one attachment up to four times (unpacking, sorting, recording) and each asking opened its zip."""
    global _last_sniff
    if _last_sniff[0] is not data:
        _last_sniff = (data, _sniff(data)[0])
    return _last_sniff[1]


_last_sniff: tuple[object, str] = (None, "")


def _sniff(data: bytes) -> tuple[str, zipfile.ZipFile | None]:
    """What a file is, and for a zip-based spreadsheet its package, opened (read_workbook goes on with it)."""
    if not data:
        return "empty", None
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            names = set(zf.namelist())
            if "xl/workbook.xml" in names:
                return ("xlsm" if "xl/vbaProject.bin" in names else "xlsx"), zf
            if "xl/workbook.bin" in names:
                return "xlsb", None
            if "mimetype" in names and zf.read("mimetype").strip() == b"application/vnd.oasis.opendocument.spreadsheet":
                return "ods", zf
            if "word/document.xml" in names:
                return "docx", None
            if "ppt/presentation.xml" in names:
                return "pptx", None
        except ZIP_ERRORS:
            return "broken-zip", None
        return "zip", None
    return _sniff_other(data, head), None


def _sniff_other(data: bytes, head: bytes) -> str:
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        try:
            ole = olefile.OleFileIO(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - a damaged container is just damaged
            return "broken-ole"
        with ole:
            if ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage"):
                return "encrypted"
            if ole.exists("Workbook") or ole.exists("Book"):
                return "xls"
            if ole.exists("WordDocument"):
                return "doc"
            if ole.exists("__properties_version1.0"):
                return "msg"
        return "ole"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head[:4] in (b"\x89PNG", b"GIF8") or head[:3] == b"\xff\xd8\xff" or head[:2] == b"BM":
        return "image"
    sample = data[:2048].lstrip()
    if sample[:5].lower() in (b"<html", b"<!doc"):
        return "html"
    try:
        sample.decode("utf-8")
        return "text"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(sample) == 2048:
            return "text"  # the sample ends inside a multi-byte character
        try:
            sample.decode("gb18030")
            return "text"
        except UnicodeDecodeError:
            return "unknown"


def _check_xls(data: bytes, limits: ReadLimits) -> None:
    """The workbook stream of an .xls held to the limits before calamine reads it (extent.check_xls)."""
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - calamine reports a damaged container itself
        return
    with ole:
        for name in ("Workbook", "Book"):
            if ole.exists(name):
                try:
                    if ole.get_size(name) > limits.decompressed_bytes:
                        raise ReadProblem("L03", detail=f"工作簿数据共 {ole.get_size(name)} 字节，超过限制 {limits.decompressed_bytes}")
                    stream = ole.openstream(name).read()
                except ReadProblem:
                    raise
                except Exception:  # noqa: BLE001 - an unreadable stream: calamine reports it
                    return
                check_xls(stream, limits)
                return


def read_workbook(path: str | Path, *, data: bytes | None = None, limits: ReadLimits | None = None) -> RawWorkbook:
    """Open a workbook for reading. Raises ReadProblem(F01–F04, L0x, X01, X02) when it cannot or must not be one."""
    path = Path(path)
    name = path.name
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReadProblem("F03", name=name, detail=exc.strerror or str(exc)) from None
    kind, package = _sniff(data)
    if kind == "empty":
        raise ReadProblem("F04", name=name)
    if kind == "encrypted":
        raise ReadProblem("F02", name=name)
    if kind == "xlsb":
        # Binary cells carry 32-bit places that no guard here reads before calamine allocates them.
        raise ReadProblem("F07", name=name)
    if kind in ("broken-zip", "broken-ole"):
        raise ReadProblem("F03", name=name, detail="压缩结构损坏" if kind == "broken-zip" else "文件结构损坏")
    if kind not in ("xlsx", "xlsm", "xls", "ods"):
        raise ReadProblem("F01", name=name, kind=_KIND_TEXT.get(kind, _KIND_TEXT["unknown"]))
    limits = limits or ReadLimits()
    parts: dict[str, str] = {}
    with _named(name):
        if package is not None:
            parts = prescan_package(data, kind, limits, package)
        if kind == "xls":
            _check_xls(data, limits)
        if kind == "ods" and package is not None:
            try:
                content = package.read("content.xml")
            except ZIP_ERRORS:
                content = b""
            check_ods(content, limits)
    try:
        with rust_panics_quiet():
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            metadata = book.sheets_metadata
    except BaseException as exc:  # noqa: BLE001
        if not _reader_failed(exc):
            raise
        text = f"{exc.__class__.__name__}: {exc}"
        if "password" in text.lower() or "encrypt" in text.lower():
            raise ReadProblem("F02", name=name) from None
        if kind != "ods":
            raise ReadProblem("F03", name=name, detail="文件内容无法解析") from None
        # Gnumeric's (indented) content.xml: the second reader; damaged only when both fail.
        try:
            book = OdsBook(data, max_rows=limits.sheet_rows, max_cols=limits.sheet_columns)
            metadata = book.sheets_metadata
        except Exception:  # noqa: BLE001
            raise ReadProblem("F03", name=name, detail="OpenDocument 内容无法解析") from None
    visible = {m.name: str(m.visible).endswith("Visible") for m in metadata}
    return RawWorkbook(
        name=name,
        format=kind,
        sheet_names=[m.name for m in metadata],
        visible=visible,
        properties=_properties(data, kind, package),
        has_macros=kind == "xlsm",
        _book=book,
        _data=data,
        _parts=parts,
        _limits=limits,
        _zip=package,
    )


def _properties(data: bytes, kind: str, package: zipfile.ZipFile | None = None) -> dict[str, str]:
    """Custom document properties (xlsx: docProps/custom.xml; ods: meta.xml user-defined)."""
    out: dict[str, str] = {}
    try:
        with contextlib.nullcontext(package) if package is not None else zipfile.ZipFile(io.BytesIO(data)) as zf:
            if kind in ("xlsx", "xlsm") and "docProps/custom.xml" in zf.namelist():
                root = ElementTree.fromstring(zf.read("docProps/custom.xml"))
                for prop in root.findall(f"{_CUSTOM_NS}property"):
                    value = next(iter(prop), None)
                    out[prop.get("name", "")] = (value.text or "") if value is not None else ""
            elif kind == "ods" and "meta.xml" in zf.namelist():
                root = ElementTree.fromstring(zf.read("meta.xml"))
                for prop in root.iter(f"{_ODF_META}user-defined"):
                    out[prop.get(f"{_ODF_META}name", "")] = prop.text or ""
    except Exception:  # noqa: BLE001 - properties are a cross-check, the hidden sheet is authoritative
        return {}
    return out
