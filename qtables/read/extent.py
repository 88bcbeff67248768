"""How far a worksheet's cells reach, settled before python-calamine allocates them.

calamine reads a sheet into one dense rectangle spanning its cells and aborts the whole process when
that rectangle cannot be allocated (a single cell at XFD1048576 is enough).  calamine places a cell
by its ``r`` reference — letters in either case, then digits — or, when it has none, by counting:
the row after the last row element's end (or the row a ``<row r>`` names), the column after the
previous cell.  So every cell calamine will read has to be accounted for, not only the references
that look like one: a row of unlabelled cells followed by thousands of empty rows spans a rectangle
far larger than its few hundred kilobytes.

* Fast path (every sheet): C-speed searches prove that each cell tag has the form every known
  writer uses — ``<c r="B12" s="3" t="s">``, the reference first — and that no reference anywhere is
  longer than the limits allow (see ``_plain``).  A regex parsing every cell tag would say the same at
  several times the cost (≈ 2 ms a workbook).
* Exact path (anything else): the sheet parsed by expat and calamine's placing rules followed event
  by event; on a well-formed document quick-xml (calamine's parser) and expat see the same elements.
  A sheet expat cannot parse is refused, since its cells cannot be placed for certain.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from functools import lru_cache
from xml.parsers import expat

from qtables.read.package import ZIP_ERRORS, ReadLimits, ReadProblem, _dtd_in, _inflate
from qtables.read.sheetxml import col_number


def check_extent(data: bytes | zipfile.ZipFile, part: str, limits: ReadLimits, raw: bytes | None = None) -> None:
    """Refuse a worksheet part calamine could not hold — a DTD (X01), cells placed past the row or column
    limits (L08), or a sheet too irregular to tell (X02) — before calamine loads it.  ``data``: the package
    or its bytes; ``raw``: the package's bytes beside an open package."""
    try:
        if isinstance(data, zipfile.ZipFile):
            info = data.getinfo(part)
            blob = _inflate(data, info, limits.decompressed_bytes + 1, raw)
        else:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                info = zf.getinfo(part)
                blob = _inflate(zf, info, limits.decompressed_bytes + 1, data)
    except ZIP_ERRORS:
        return  # a part calamine cannot inflate either: it reports the sheet as damaged
    if _dtd_in(blob, whole=True):
        raise ReadProblem("X01", detail=part)
    check_cells(blob, part, limits)


# Digits fold to 0, letters of either case to A, ' to ".
_FOLD = bytes.maketrans(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'", b"0" * 10 + b"A" * 52 + b'"')


@lru_cache(maxsize=16)
def _long_refs(sheet_rows: int, sheet_columns: int) -> tuple[bytes, bytes] | None:
    """What a reference past the limits looks like once folded: one more digit than the row limit allows
    before its closing quote; one more letter than the column limit allows before its first digit.  A
    longer reference holds the same needle, so one find each settles every reference, wherever it stands."""
    letters = next(n for n in range(8) if col_number("Z" * (n + 1)) > sheet_columns)
    digits = next(n for n in range(12) if 10 ** (n + 1) - 1 > sheet_rows)
    if not letters or not digits:
        return None  # no reference is short enough: every sheet with cells takes the exact path
    return b"0" * (digits + 1) + b'"', b"A" * (letters + 1) + b"0"


# A prefixed cell (``:c``, as in ``<x:c``), or a ``<c`` not followed by `` r="``.  Searched for its one literal
# ``c``, each then looked at: one C pass, where two counts and a find took twice as long.  Any ``<c`` counts,
# in text or not: something that only looks like a tag sends the sheet to the exact path, never past it.
_IRREGULAR_CELL = re.compile(rb'c(?<=[<:]c)(?<!<c(?= r="))')


def _plain(blob: bytes, limits: ReadLimits) -> bool:
    """Whether every cell calamine can read is placed by a reference within the limits — proved by
    searches at C speed between the first and the last mention of sheetData (calamine
    reads cells from the sheetData element to its end):
    * every unprefixed cell tag starts ``<c r="``: no ``<c`` is followed by anything else, and there is no
      ``:c`` (a prefixed cell, ``<x:c``, is a cell to calamine);
    * no reference anywhere has more digits or letters than the limits allow — letters of either case,
      in any attribute, so a repeated ``r`` is covered too.
    So every cell has its own reference, and whichever ``r`` calamine takes lies within the limits.  A
    sheet that fails a test is not shown unsafe, only placed exactly (rich text in a cell, a row past 9999)."""
    first, last = blob.find(b"sheetData"), blob.rfind(b"sheetData")
    if first == last:
        return True  # no sheetData (calamine reads no cell) or no end to it (calamine fails at the end of the part)
    needles = _long_refs(limits.sheet_rows, limits.sheet_columns)
    if needles is None or _IRREGULAR_CELL.search(blob, first, last):
        return False
    folded = blob[first:last].translate(_FOLD)
    return folded.find(needles[0]) < 0 and folded.find(needles[1]) < 0


def check_cells(blob: bytes, part: str, limits: ReadLimits) -> None:
    """Refuse (L08) a sheet whose cells reach past the row or column limits, wherever calamine would
    place them; X02 when the sheet is not plain and cannot be parsed to find out."""
    if _plain(blob, limits):
        return
    _within(*_placed_extent(blob, part), limits)


class _CalamineFails(Exception):
    """calamine stops with an error at this point of the sheet: nothing after it is placed or allocated."""


def _placed_extent(blob: bytes, part: str) -> tuple[int, int]:
    """The largest 1-based row and column of any cell calamine would place, following its cell reader
    (``xlsx/cells_reader.rs``): only inside sheetData; a row's ``r`` sets the row; a row's end moves to
    the next row and the first column; a cell goes where its ``r`` says or at the counted place, then
    the column moves on; a cell's content (v, f, is) is read whole and places nothing."""
    state = {"data": False, "done": False, "skip": 0, "row": 0, "col": 0, "rows": 0, "cols": 0}

    def local(name: str) -> str:
        return name.split(":", 1)[-1]  # quick-xml's local name: after the first colon

    def start(name: str, attrs: dict[str, str]) -> None:
        if state["done"]:
            return
        if state["skip"]:
            state["skip"] += 1
            return
        tag = local(name)
        if not state["data"]:
            state["data"] = tag == "sheetData"
            return
        if tag == "row" and "r" in attrs:
            state["row"] = _parse_ref(attrs["r"], need_column=False)[0]
        elif tag == "c":
            if "r" in attrs:
                row, col = _parse_ref(attrs["r"], need_column=True)
                state["col"] = col
            else:
                row, col = state["row"], state["col"]
            state["rows"], state["cols"] = max(state["rows"], row + 1), max(state["cols"], col + 1)
            state["col"] += 1
            state["skip"] = 1

    def end(name: str) -> None:
        if state["skip"]:
            state["skip"] -= 1
            return
        if state["done"] or not state["data"]:
            return
        tag = local(name)
        if tag == "row":
            state["row"] += 1
            state["col"] = 0
        elif tag == "sheetData":
            state["done"] = True

    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    try:
        parser.Parse(blob, True)
    except _CalamineFails:
        pass  # calamine raises an error here and allocates nothing; the cells before it still count
    except expat.ExpatError as exc:
        raise ReadProblem("X02", detail=f"{part}（第 {exc.lineno} 行：{expat.ErrorString(exc.code)}）") from None
    except (LookupError, ValueError, UnicodeError):  # an encoding Python does not know (found by fuzzing)
        raise ReadProblem("X02", detail=f"{part}（编码无法识别）") from None
    return state["rows"], state["cols"]


def _parse_ref(text: str, need_column: bool) -> tuple[int, int]:
    """calamine's ``get_row_and_optional_column``: letters (either case) for the column, then digits for
    the row; 0-based.  Anything else is an error there, so placing stops."""
    m = re.fullmatch(r"([A-Za-z]*)([0-9]+)", text)
    if m is None or int(m.group(2)) == 0 or (need_column and not m.group(1)):
        raise _CalamineFails(text)
    return int(m.group(2)) - 1, col_number(m.group(1).upper()) - 1


def check_ods(content: bytes, limits: ReadLimits) -> None:
    """An OpenDocument sheet's extent, before calamine opens the file (it reads every table then).  calamine
    repeats a cell ``table:number-columns-repeated`` times and a row ``table:number-rows-repeated`` times,
    capped only at 1,048,576 rows, 16,384 columns and 10⁸ cells: three hundred bytes of XML made it hold
    1.8 GB.  Repeated empty cells and rows (LibreOffice fills every sheet out with them) place nothing;
    a cell with a value type, a formula or any content counts at the last place its repeats reach."""
    state = {"row": 0, "col": 0, "row_repeat": 1, "rows": 0, "cols": 0, "cell": None, "depth": 0}

    def repeat(attrs: dict[str, str], name: str) -> int:
        text = attrs.get(name, "1").strip()
        return int(text) if text.isdigit() else 1

    def start(name: str, attrs: dict[str, str]) -> None:
        if state["cell"] is not None:
            state["cell"][1] = True  # any element inside a cell is content (text:p, …)
            state["depth"] += 1
            return
        if name == "table:table":
            state["row"] = 0
        elif name == "table:table-row":
            state["col"], state["row_repeat"] = 0, repeat(attrs, "table:number-rows-repeated")
        elif name in ("table:table-cell", "table:covered-table-cell"):
            filled = "office:value-type" in attrs or "table:formula" in attrs
            state["cell"] = [repeat(attrs, "table:number-columns-repeated"), filled]

    def end(name: str) -> None:
        if state["cell"] is not None and state["depth"]:
            state["depth"] -= 1
            return
        if name in ("table:table-cell", "table:covered-table-cell") and state["cell"] is not None:
            columns, filled = state["cell"]
            state["cell"] = None
            if filled:
                state["rows"] = max(state["rows"], state["row"] + state["row_repeat"])
                state["cols"] = max(state["cols"], state["col"] + columns)
            state["col"] += columns
        elif name == "table:table-row":
            state["row"] += state["row_repeat"]

    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    try:
        parser.Parse(content, True)
    except (expat.ExpatError, LookupError, ValueError, UnicodeError):
        return  # calamine reports content it cannot parse (or decode) as a damaged file
    _within(state["rows"], state["cols"], limits)


# BIFF cell records whose first four bytes are the cell's row and column (MS-XLS 2.4): Formula, LabelSst,
# Blank, Number, Label, BoolErr, RString, RK; MulRk and MulBlank name their last column in their last two bytes.
_BIFF_CELLS = {0x0006, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x00D6, 0x027E}
_BIFF_MULTI = {0x00BD, 0x00BE}


def check_xls(stream: bytes, limits: ReadLimits) -> None:
    """An .xls workbook stream's extent, before calamine opens the file (it reads every sheet then).  calamine
    reserves room for the cells a sheet's Dimensions record declares — 32-bit rows, subtracted without a
    check — so one patched record made it ask for 43 TB and abort the process; and it places each cell
    record where its row and column say.  Both are held to the limits here, record by record."""
    at, size = 0, len(stream)
    while at + 4 <= size:
        kind, length = struct.unpack_from("<HH", stream, at)
        body = at + 4
        at = body + length
        if at > size:
            break  # a record cut short: calamine reports the damaged stream itself
        if kind == 0x0200 and length in (10, 14):
            if length == 14:
                first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", stream, body)
            else:
                first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", stream, body)
            if first_col > 0xFF or last_col < first_col:
                first_col = 0
            if last_row >= 1 and last_col >= 1:
                rows, cols = (last_row - 1 - first_row + 1) % 2 ** 32, (last_col - 1 - first_col + 1) % 2 ** 32
            else:
                rows, cols = 1, 1
            _within(rows, cols, limits, declared=True)
        elif kind in _BIFF_CELLS and length >= 4:
            row, col = struct.unpack_from("<HH", stream, body)
            _within(row + 1, col + 1, limits)
        elif kind in _BIFF_MULTI and length >= 6:
            row, = struct.unpack_from("<H", stream, body)
            last, = struct.unpack_from("<H", stream, body + length - 2)
            _within(row + 1, last + 1, limits)


def _within(rows: int, cols: int, limits: ReadLimits, declared: bool = False) -> None:
    """L08 when a sheet places (or, ``declared``, its Dimensions record declares) a cell past the limits."""
    what = "声明" if declared else ""
    if rows > limits.sheet_rows:
        raise ReadProblem("L08", detail=f"工作表{what}有第 {rows} 行，超过限制 {limits.sheet_rows} 行")
    if cols > limits.sheet_columns:
        raise ReadProblem("L08", detail=f"工作表{what}有第 {cols} 列，超过限制 {limits.sheet_columns} 列")
