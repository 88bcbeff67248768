"""The sheet-extent guard against python-calamine itself, on random sheets shaped to fool it.

calamine places a cell by its reference (either case), or by counting when it has none; the guard
(qtables/check/extent.py) must never pass a sheet whose cells calamine would place past the limits.
Small limits keep every "far" cell here cheap for calamine to actually load, so its own answer can be
asked for every sheet.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from qtables.read.extent import _placed_extent, _plain, check_cells
from qtables.read.package import ReadLimits, ReadProblem

LIMITS = ReadLimits(sheet_rows=99, sheet_columns=30)  # plain references: 1 letter, 2 digits

_WB = ('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
       '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>')
_RELS = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>')
_CT = ('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '</Types>')


def _calamine_extent(sheet: bytes) -> tuple[int, int] | None:
    """(rows, columns) of the range calamine builds — 1-based ends — or None when it refuses the sheet."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in (("[Content_Types].xml", _CT), ("_rels/.rels", _RELS), ("xl/workbook.xml", _WB),
                           ("xl/_rels/workbook.xml.rels", _WB_RELS)):
            zf.writestr(name, text)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
    try:
        rng = CalamineWorkbook.from_filelike(io.BytesIO(buf.getvalue())).get_sheet_by_name("S")
    except Exception:  # noqa: BLE001 - calamine refused the sheet: nothing allocated
        return None
    if rng.end is None:
        return 0, 0
    return rng.end[0] + 1, rng.end[1] + 1


def _col(n: int) -> str:
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


_TRICKS = {
    "unlabelled": "<c{t}>{value}</c>",  # placed by counting
    "empty": "<c/>",  # empty and unlabelled: still moves the column on
    "r-not-first": '<c s="2" r="{ref}"{t}>{value}</c>',
    "gt-then-r": '<c r="A{row}" t=">" r="{ref}">{value}</c>',  # a > in a value, then a repeated r
    "prefixed": '<x:c r="{ref}"{t}>{value}</x:c>',
    "prefixed-unlabelled": "<x:c{t}>{value}</x:c>",
    "spaced": '<c  r = "{ref}"{t}>{value}</c>',
    "comment": '<!-- <c r="A1"/> --><c>{value}</c>',  # a fake labelled cell beside a real unlabelled one
    "cdata": '<c><v>1</v></c><![CDATA[</row><c r="A1">]]>',
    "single-quotes": "<c r='{ref}'{t}>{value}</c>",
    "rich-text": '<c r="{ref}" t="inlineStr"><is><r><rPr><color rgb="FF0000"/></rPr><t>x</t></r></is></c>',
}


def _random_sheet(rng: random.Random) -> bytes:
    """A sheet of plain labelled cells, some of them (per sheet: none, a few, many, all) written with one
    trick; references now and then past the limits, or in small letters; rows now and then unlabelled."""
    trick = rng.choice([None, *_TRICKS])
    odd = rng.choice([0.03, 0.3, 1.0]) if trick else 0.0
    far = rng.choice([0.0, 0.0, 0.02, 0.2])  # how often a reference lies past the limits
    case = rng.choice([0.0, 0.0, 0.1, 1.0])  # how often a reference is written in small letters

    def ref(row: int) -> str:
        col = _col(rng.randint(27, 760) if rng.random() < far else rng.randint(1, 26))
        text = f"{col}{row + 100 if rng.random() < far else row}"
        return text.lower() if rng.random() < case else text

    def cell(row: int) -> str:
        value = rng.choice(["<v>1</v>", "<v>2.5</v>", '<f>1+1</f><v>2</v>'])
        shape = _TRICKS[trick] if trick and rng.random() < odd else '<c r="{ref}" s="1"{t}>{value}</c>'
        return shape.format(ref=ref(row), row=row, value=value, t="")

    rows, row = [], 0
    for _ in range(rng.randint(1, 8)):
        row += rng.choice([1, 1, 1, 2, 5, 10])
        attr = rng.choice([f' r="{row}"'] * 8 + ["", f" r='{row}'", f' r="{row + 90}"'])
        cells = "".join(cell(row) for _ in range(rng.choice([0, 1, 2, 3, 5, 20, 40])))
        rows.append(f"<row{attr}>{cells}</row>" if cells else f"<row{attr}/>")
        if rng.random() < 0.1:
            rows.append("<row/>" * rng.randint(1, 90))  # unlabelled empty rows: each moves the row on
    return (f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:x="urn:x">'
            f'<sheetData>{"".join(rows)}</sheetData></worksheet>').encode()


def test_the_guard_never_passes_a_sheet_calamine_would_place_past_the_limits():
    rng = random.Random(20261202)
    seen = {"refused": 0, "passed": 0, "plain": 0, "exact": 0}
    for _ in range(3000):
        sheet = _random_sheet(rng)
        actual = _calamine_extent(sheet)
        plain = _plain(sheet, LIMITS)
        seen["plain" if plain else "exact"] += 1
        try:
            check_cells(sheet, "xl/worksheets/sheet1.xml", LIMITS)
        except ReadProblem:
            seen["refused"] += 1
            continue
        seen["passed"] += 1
        if actual is not None:
            assert actual[0] <= LIMITS.sheet_rows and actual[1] <= LIMITS.sheet_columns, (actual, sheet)
    # The shapes above reach both paths and both verdicts often enough to mean something.
    assert min(seen.values()) > 100, seen


def test_the_exact_path_places_cells_where_calamine_does():
    """On well-formed sheets whose cells all hold a value, placing by the exact path gives calamine's own
    range end; with empty cells it may only be larger (calamine leaves empty cells out of its range)."""
    rng = random.Random(7)
    compared = 0
    for _ in range(600):
        sheet = _random_sheet(rng)
        actual = _calamine_extent(sheet)
        try:
            placed = _placed_extent(sheet, "sheet")
        except ReadProblem:
            continue  # not well-formed: refused, never placed
        if actual is None:
            continue
        assert placed[0] >= actual[0] and placed[1] >= actual[1], (placed, actual, sheet)
        if b"<c/>" not in sheet and b"rich" not in sheet:
            assert placed == actual, (placed, actual, sheet)
            compared += 1
    assert compared > 100


@pytest.mark.parametrize("limits", [ReadLimits(), ReadLimits(sheet_rows=99999, sheet_columns=16384), ReadLimits(sheet_rows=5, sheet_columns=3)])
def test_plain_sheets_take_the_fast_path_within_the_limits(limits):
    sheet = b'<worksheet><sheetData><row r="3"><c r="B3" s="1" t="s"><v>0</v></c><c r="C3"/></row></sheetData></worksheet>'
    # Under 26 columns no one-letter reference is sure to be within the limits: placed exactly instead.
    assert _plain(sheet, limits) == (limits.sheet_columns >= 26)
    check_cells(sheet, "sheet", limits)
    far = sheet.replace(b'r="C3"', b'r="C' + str(limits.sheet_rows + 1).encode() + b'"')
    assert not _plain(far, limits)
    with pytest.raises(ReadProblem):
        check_cells(far, "sheet", limits)


def test_a_panic_inside_calamine_is_a_damaged_file_and_ctrl_c_is_not():
    """pyo3 raises a Rust panic as PanicException, a BaseException: read.py counts it as the file's fault."""
    from qtables.read.workbook import _reader_failed

    panic = type("PanicException", (BaseException,), {})
    assert _reader_failed(panic("capacity overflow")) and _reader_failed(ValueError("x"))
    assert not _reader_failed(KeyboardInterrupt()) and not _reader_failed(SystemExit(1))


def _ods(rows_xml: str) -> bytes:
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>'
               f'<table:table table:name="附表5">{rows_xml}</table:table></office:spreadsheet></office:body></office:document-content>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


_VALUE = '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'
_FILLER = ('<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="16384"/>'
           '</table:table-row>')


@pytest.mark.parametrize("rows, refused", [
    (f'<table:table-row table:number-rows-repeated="1000000000">{_VALUE}</table:table-row>', "行"),  # 1.8 GB in calamine
    ('<table:table-row><table:table-cell table:number-columns-repeated="1000" office:value-type="float" office:value="1"/></table:table-row>', "列"),
    (f"<table:table-row>{_VALUE}</table:table-row>{_FILLER}<table:table-row>{_VALUE}</table:table-row>", "行"),  # a value after the filler
    (f"<table:table-row>{_VALUE}{_VALUE}</table:table-row>{_FILLER}", None),  # LibreOffice's empty filler places nothing
    (f'<table:table-row table:number-rows-repeated="20000">{_VALUE}</table:table-row>', None),  # at the limit
])
def test_an_ods_is_placed_before_calamine_opens_it(rows, refused):
    _assert_refused("x.ods", _ods(rows), refused)


def _assert_refused(name: str, data: bytes, refused: str | None) -> None:
    """Refused with L08 naming the row or column, or (refused None) read on past the guard."""
    from qtables.read.workbook import ReadProblem as Problem, read_workbook

    if refused is None:
        try:
            read_workbook(name, data=data)
        except Problem as problem:
            assert problem.code != "L08", problem.details
    else:
        with pytest.raises(Problem) as problem:
            read_workbook(name, data=data)
        assert problem.value.code == "L08" and refused in problem.value.details["detail"]


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _xls(tmp_path, sheet_records: bytes) -> bytes:
    """A BIFF8 workbook stream with one sheet, in an OLE container (enough to reach the guard)."""
    from olewriter import write_ole

    bof_globals = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0))
    bof_sheet = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0, 0, 0, 0))
    eof = _record(0x000A, b"")
    name = "附表5".encode("utf-16-le")
    globals_len = len(bof_globals) + 4 + 8 + len(name) + len(eof)
    sheet = _record(0x0085, struct.pack("<IBBBB", globals_len, 0, 0, 3, 1) + name)
    stream = bof_globals + sheet + eof + bof_sheet + sheet_records + eof
    path = tmp_path / "x.xls"
    write_ole(path, {"Workbook": stream})
    return path.read_bytes()


@pytest.mark.parametrize("records, refused", [
    (_record(0x0200, struct.pack("<IIHHH", 0, 0xFFFFFFF0, 0, 255, 0)), "行"),  # calamine asked for 43 TB and aborted
    (_record(0x0200, struct.pack("<IIHHH", 100, 50, 0, 5, 0)), "行"),  # rows subtracted past zero: as huge
    (_record(0x0203, struct.pack("<HHHd", 30000, 0, 0, 1.0)), "行"),  # a Number cell past the row limit
    (_record(0x00BD, struct.pack("<HH", 3, 700) + b"\0" * 12 + struct.pack("<H", 720)), "列"),  # MulRk's last column
    (_record(0x0200, struct.pack("<IIHHH", 0, 40, 0, 12, 0)) + _record(0x0203, struct.pack("<HHHd", 39, 11, 0, 1.0)), None),
])
def test_an_xls_is_held_to_the_limits_before_calamine_opens_it(tmp_path, records, refused):
    _assert_refused("x.xls", _xls(tmp_path, records), refused)


def test_a_cut_or_garbled_xls_stream_is_left_to_calamine_never_a_traceback(tmp_path):
    import os as _os

    from qtables.read.extent import check_xls
    from qtables.read.package import ReadLimits as Limits

    stream = _record(0x0200, struct.pack("<IIHHH", 0, 40, 0, 12, 0)) + _record(0x0203, struct.pack("<HHHd", 39, 11, 0, 1.0))
    rng = random.Random(3)
    for cut in range(len(stream)):
        check_xls(stream[:cut], Limits())  # every truncation: no exception
    for _ in range(2000):
        blob = bytearray(stream + _os.urandom(rng.randint(0, 64)))
        for _ in range(rng.randint(1, 6)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        try:
            check_xls(bytes(blob), Limits())
        except ReadProblem as problem:
            assert problem.code == "L08"


def test_a_rust_panic_in_calamine_is_a_damaged_file_and_prints_no_backtrace(tmp_path):
    """A Formula record whose token runs past the record makes calamine's .xls reader panic on opening.  The
    clerk gets F03, and the console stays free of the panic's message and stack (RUST_BACKTRACE on, too)."""
    import os as _os
    import subprocess
    import sys

    bad = _record(0x0200, struct.pack("<IIHHH", 0, 2, 0, 2, 0)) + _record(
        0x0006, struct.pack("<HHH", 0, 0, 0) + b"\0" * 8 + struct.pack("<HIH", 0, 0, 50) + b"\x17\x30")
    path = tmp_path / "bad.xls"
    path.write_bytes(_xls(tmp_path, bad))
    code = ("import sys\nfrom qtables.read.workbook import ReadProblem, read_workbook\n"
            "try:\n    read_workbook(sys.argv[1])\nexcept ReadProblem as p:\n    print(p.code)\n")
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                         env=dict(_os.environ, RUST_BACKTRACE="1"))
    assert run.stdout.strip() == "F03", (run.stdout, run.stderr)
    assert "panicked" not in run.stderr and "backtrace" not in run.stderr, run.stderr


def test_an_xml_part_in_an_encoding_python_does_not_know_is_refused_or_left_never_a_traceback():
    """Found by fuzzing intake: encoding="U9F-8" made expat ask Python for the codec, and the LookupError went
    past every ExpatError handler to a traceback."""
    from qtables.read.extent import _placed_extent, check_ods
    from qtables.read.package import _elements

    odd = b'<?xml version="1.0" encoding="U9F-8"?><worksheet><sheetData><row><c><v>1</v></c></row></sheetData></worksheet>'
    with pytest.raises(ReadProblem) as problem:
        _placed_extent(odd, "xl/worksheets/sheet1.xml")
    assert problem.value.code == "X02"
    assert _elements(odd, "sheet") is None  # the package's layout is then not trusted: every part checked
    check_ods(odd, LIMITS)  # calamine reports it
