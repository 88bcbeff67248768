"""Hostile and broken input: every case has an asserted code and status, alone and in one batch."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest

from builders import build_filled
from conftest import TEST_KEY
from hostile import cases as H
from mailfixtures import gbk_zip, python_eml
from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.intake.run import intake
from qtables.read.workbook import ReadLimits
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import init_workspace

# Peak resident memory of this process image (VmHWM). ru_maxrss would not do: on Linux it
# survives execve, so a child forked from a large test process starts with the parent's peak.
PEAK = "def peak():\n    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"

SMALL = ReadLimits(decompressed_bytes=8 * 1024 * 1024, compression_ratio=100, zip_members=50, sheet_rows=20000)


@pytest.fixture(scope="module")
def good(spec, workspace, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-good")
    return {code: build_filled(root / f"{code}.xlsx", spec, workspace, code, "2025Q3", seed=60 + i)[0].read_bytes()
            for i, code in enumerate(("410181", "411729", "410225"))}


def _workbook_cases(good: dict[str, bytes], spec, workspace, tmp: Path) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, expected finding code)."""
    tmp.mkdir(parents=True, exist_ok=True)
    base = good["410181"]
    other = good["411729"]

    def tamper(edit) -> bytes:
        src = tmp / "src.xlsx"
        src.write_bytes(base)
        wb = openpyxl.load_workbook(src)
        edit(wb)
        out = tmp / "t.xlsx"
        wb.save(out)
        return out.read_bytes()

    def replay(wb):
        # 新蔡县's genuine identity and signature pasted into 巩义市's workbook.
        src = tmp / "other.xlsx"
        src.write_bytes(other)
        theirs = openpyxl.load_workbook(src)["_qtables"]
        for row in theirs.iter_rows():
            for cell in row:
                wb["_qtables"][cell.coordinate].value = cell.value
        for prop in wb.custom_doc_props.props:
            prop.value = theirs.cell(row=[r[0].value for r in theirs.iter_rows()].index(prop.name.split(".", 1)[1]) + 1, column=2).value \
                if prop.name.split(".", 1)[1] in [r[0].value for r in theirs.iter_rows()] else prop.value

    cases = {
        "billion-laughs.xlsx": (H.replace_part(base, "xl/sharedStrings.xml", H.billion_laughs()), "X01"),
        "xxe-custom-props.xlsx": (H.replace_part(base, "docProps/custom.xml", H.xxe()), "X01"),
        "xxe-workbook.xlsx": (H.replace_part(base, "xl/workbook.xml", H.xxe()), "X01"),
        "xxe-sheet.xlsx": (H.replace_part(base, "xl/worksheets/sheet6.xml", H.xxe()), "X01"),  # seen when the sheet is loaded
        "huge-sheet.xlsx": (H.huge_sheet_cell(base), "L08"),
        "far-cell-lowercase.xlsx": (H.sheet_tail(base, b'<row r="30"><c r="xfd1048576"><v>1</v></c></row>'), "L08"),
        "far-cell-after-gt.xlsx": (H.sheet_tail(base, b'<row r="30"><c t="n" x=">" r="XFD1048576"><v>1</v></c></row>'), "L08"),
        "far-cell-prefixed.xlsx": (H.sheet_tail(base, b'<row r="30"><x:c r="XFD30"><v>1</v></x:c></row>'), "L08"),
        "unlabelled-wide.xlsx": (H.sheet_tail(base, H.UNLABELLED_WIDE), "L08"),
        "unlabelled-long.xlsx": (H.sheet_tail(base, H.UNLABELLED_LONG), "L08"),
        "far-cell-target-case.xlsx": (H.sheet_target_case(base, b'<row r="30"><c r="XFD30"><v>1</v></c></row>'), "L08"),
        "sheet-not-well-formed.xlsx": (H.sheet_tail(base, b"<row><c><v>1</v></row>"), "X02"),
        "string-count-absurd.xlsx": (H.string_count(base, "100000000000"), "X02"),
        "string-count-u64.xlsx": (H.string_count(base, "18446744073709551615"), "X02"),
        "dtd-after-comment.xlsx": (H.dtd_after_comment(base), "X01"),
        "bomb-part.xlsx": (H.bomb_part(base, 12 * 1024 * 1024), "L03"),
        "high-ratio.xlsx": (H.bomb_part(base, 4 * 1024 * 1024), "L04"),
        "macros.xlsm": (H.macro(base), "M01"),
        "empty.xlsx": (b"", "F04"),
        "truncated.xlsx": (base[: len(base) // 3], "F03"),
        "random.xlsx": (os.urandom(3000), "F01"),
        "pdf-renamed.xlsx": (b"%PDF-1.7\n" + b"0" * 500, "F01"),
        "csv-renamed.xlsx": ("单位,项数\n郑州,12\n".encode("gbk"), "F01"),
        "docx-renamed.xlsx": (H.zip_of({"word/document.xml": b"<w:document/>", "[Content_Types].xml": H.XLSX_CT}), "F01"),
        "plain-zip-renamed.xlsx": (H.zip_of({"a.txt": b"hello"}), "F01"),
        # Binary cells hold 32-bit places no guard reads before calamine allocates them: refused by name.
        "binary-workbook.xlsb": (H.zip_of({"xl/workbook.bin": b"\x83\x01\x00", "[Content_Types].xml": H.XLSX_CT}), "F07"),
        "not-a-template.xlsx": (_plain_workbook(tmp), "F05"),
        "html-renamed.xls": (b"<html><table><tr><td>1</td></tr></table></html>", "F01"),
        "header-edited.xlsx": (tamper(lambda wb: wb["附表5"].cell(row=5, column=3, value="项目数")), "S03"),
        "row-label-edited.xlsx": (tamper(lambda wb: wb["附表5"].cell(row=6, column=2, value="巩义")), "S04"),
        "row-inserted.xlsx": (tamper(lambda wb: wb["附表5"].insert_rows(6)), "S05"),
        "column-deleted.xlsx": (tamper(lambda wb: wb["附表5"].delete_cols(4)), "S05"),
        "sheet-renamed.xlsx": (tamper(lambda wb: setattr(wb["附表3"], "title", "在建")), "S01"),
        "sheet-removed.xlsx": (tamper(lambda wb: wb.remove(wb["附表1"])), "S01"),
        "sheet-added.xlsx": (tamper(lambda wb: wb.create_sheet("草稿")), "S02"),
        "identity-edited.xlsx": (tamper(lambda wb: wb["_qtables"].cell(row=3, column=2, value="410100")), "I05"),
        "signature-forged.xlsx": (tamper(lambda wb: (wb["_qtables"].cell(row=8, column=2, value="0" * 64),
                                                     [setattr(p, "value", "0" * 64) for p in wb.custom_doc_props.props if p.name.endswith("signature")])), "I01"),
        "signature-replayed.xlsx": (tamper(replay), "S04"),
        "formula-overwritten.xlsx": (tamper(lambda wb: wb["附表5"].cell(row=7, column=3, value=1)), "D01"),
        "total-label-edited.xlsx": (tamper(lambda wb: wb["附表5"].cell(row=7, column=2, value="总计")), "S04"),
        "detail-row-deleted.xlsx": (tamper(lambda wb: wb["附表4"].delete_rows(20)), "S05"),
        "row-above-header.xlsx": (tamper(lambda wb: wb["附表6"].insert_rows(2)), "S05"),
        "props-disagree.xlsx": (tamper(lambda wb: [setattr(p, "value", "2024Q3") for p in wb.custom_doc_props.props if p.name.endswith("period")]), "I05"),
        "category-renamed.xlsx": (tamper(lambda wb: wb["附表6"].cell(row=6, column=1, value="住宅")), "S04"),
    }
    for text in ('=HYPERLINK("http://example.invalid","点击")', "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3"):
        name = f"formula-text-{abs(hash(text)) % 1000:03d}.xlsx"
        # into 附表1's 不良行为事实 of its first (filled) record
        cases[name] = (tamper(lambda wb, t=text: _as_text(wb["附表1"].cell(row=6, column=6), t)), "OK-TEXT")
    return cases


def _as_text(cell, text: str) -> None:
    cell.value = text
    cell.data_type = "s"  # typed as text (Excel: a leading apostrophe), not a formula


def _plain_workbook(tmp: Path) -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "随手做的表"
    path = tmp / "plain.xlsx"
    wb.save(path)
    return path.read_bytes()


def test_each_hostile_workbook_gets_its_code_alone(good, spec, workspace, tmp_path):
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key, limits=SMALL)
    cases = _workbook_cases(good, spec, workspace, tmp_path)
    assert len(cases) >= 30
    for name, (data, code) in cases.items():
        report = check_file(name, ctx, data=data)
        codes = {f.code for f in report.findings}
        if code == "OK-TEXT":
            # A formula-looking string typed into a text cell is just text: read as typed, never evaluated.
            assert report.status == "accepted", (name, codes)
            assert report.data.tables["t1"].rows[0]["fact"].startswith(("=", "@", "+", "-"))
        else:
            assert code in codes, (name, codes)
            assert report.exit_code == (2 if code[0] in "FLX" else (0 if code in ("M01", "S02") else 1)), (name, report.exit_code)


def test_a_sheet_at_excels_limits_is_refused_with_bounded_memory(good, tmp_path, workspace, spec):
    path = tmp_path / "huge.xlsx"
    path.write_bytes(H.huge_sheet_cell(good["410181"]))
    code = PEAK + (
        "import sys, json\n"
        "from qtables.check.checker import check_file\n"
        "from qtables.check.context import CheckContext\n"
        "from qtables.spec import load_spec\n"
        "from qtables.spec.registry import load_registry\n"
        "r = check_file(sys.argv[1], CheckContext(load_spec(), load_registry(), b'k' * 32))\n"
        "print(json.dumps([[f.code for f in r.findings], peak()]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    codes, peak_kb = json.loads(out.stdout)
    assert "L08" in codes  # (I01 too: this child process checks with another key)
    assert peak_kb < 300 * 1024, f"peak {peak_kb / 1024:.0f} MiB"


def _small_limits(ws):
    from qtables.ledger.workspace import open_workspace

    cfg = ws.path / "qtables.toml"
    text = cfg.read_text(encoding="utf-8").replace("zip_members = 2000", "zip_members = 50")
    text = text.replace("decompressed_bytes = 209715200", "decompressed_bytes = 8388608")
    cfg.write_text(text, encoding="utf-8")
    return open_workspace(ws.path)


def _mail_cases(good: dict[str, bytes]) -> dict[str, tuple[bytes, str, str]]:
    """name -> (file bytes, expected status of the hostile item, expected code or '')."""
    book = good["410225"]
    evil_names = {
        "traversal.eml": "../../../../etc/附表.xlsx",
        "absolute.eml": "/etc/passwd.xlsx",
        "backslash.eml": "..\\..\\Windows\\System32\\附表.xlsx",
        "reserved.eml": "CON.xlsx",
        "nul.eml": "附表\x00.xlsx",
        "bidi.eml": "附表\u202eslx.exe",
    }
    out: dict[str, tuple[bytes, str, str]] = {}
    for name, attachment in evil_names.items():
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "evil@x.cn", "zlz@hnjs.gov.cn", "附表"
        msg.set_content("x")
        msg.add_attachment(book, maintype="application", subtype="octet-stream", filename=attachment)
        out[name] = (bytes(msg), "duplicate", "")
    member_names = ["../../escape.xlsx", "/abs/path.xlsx", "C:\\temp\\x.xlsx", "AUX.xlsx"]
    for i, member in enumerate(member_names):
        out[f"zip-member-{i}.zip"] = (H.zip_of({member: book}), "duplicate", "")
    out["gbk-zip.zip"] = (gbk_zip([("兰考县附表.xlsx", book)]), "duplicate", "")
    out["zip-nested-7.zip"] = (H.nested_zip(7, book), "unreadable", "L05")
    out["zip-many-members.zip"] = (H.zip_of({f"m{i}.txt": b"x" for i in range(60)}), "unreadable", "L02")
    out["zip-corrupt.zip"] = (b"PK\x03\x04" + os.urandom(300), "unreadable", "")
    out["zip-empty.zip"] = (H.zip_of({}), "", "")
    out["zip-ratio.zip"] = (H.zip_of({"zeros.bin": b"\0" * (5 * 1024 * 1024)}), "unreadable", "L04")
    out["zip-stored-xlsx.zip"] = (H.zip_of({"兰考县附表.xlsx": book}, compression=0), "duplicate", "")
    raw = python_eml("a@x.cn", [("兰考县附表.xlsx", book)])
    out["mime-no-boundary.eml"] = (raw.replace(b'boundary="', b'boundaryX="'), "", "")
    out["mime-wrong-charset.eml"] = (raw.replace(b"Subject:", b"Subject: =?x-unknown?B?5Lit5paH?= ") , "duplicate", "")
    broken = (b"From: a@x.cn\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n"
              b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"x.xlsx\"\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64 at all###\r\n--B--\r\n")
    out["mime-garbage-base64.eml"] = (broken, "unreadable", "")
    out["mime-no-end-boundary.eml"] = (raw.rsplit(b"--", 2)[0], "", "")
    out["mime-unnamed-attachment.eml"] = (raw.replace(b'filename*=utf-8\'\'', b"x-ignored*=utf-8''").replace(b"filename=", b"x-ignored="), "", "")
    out["mime-headers-only.eml"] = (b"From: a@x.cn\r\nSubject: \xd6\xd0\xce\xc4\r\nContent-Type: text/plain\r\n\r\n", "", "")
    deep = b"From: a@x.cn\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    body = b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"d.xlsx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(book)
    for level in range(12):
        body = (f'Content-Type: multipart/mixed; boundary="L{level}"\r\n\r\n--L{level}\r\n'.encode() + body + f"\r\n--L{level}--\r\n".encode())
    out["mime-nested-12.eml"] = (deep + body, "unreadable", "L05")
    chain = python_eml("a@x.cn", [("兰考县附表.xlsx", book)])
    from mailfixtures import forwarded_eml

    for _ in range(8):
        chain = forwarded_eml("fwd@x.cn", chain)
    out["forward-chain-8.eml"] = (chain, "unreadable", "L05")
    return out


def test_one_batch_of_everything_leaves_good_submissions_as_they_would_be_alone(good, spec, workspace, tmp_path):
    books = _workbook_cases(good, spec, workspace, tmp_path / "wb")
    mails = _mail_cases(good)
    assert len(books) + len(mails) >= 60
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i, code in enumerate(("410181", "411729", "410225")):
        (inbox / f"good-{i}.eml").write_bytes(python_eml(f"good{i}@x.cn", [(f"good-{code}.xlsx", good[code])]))
    for name, (data, _code) in books.items():
        (inbox / f"wb-{name}").write_bytes(data)
    for name, (data, _status, _code) in mails.items():
        (inbox / f"mail-{name}").write_bytes(data)
    outside_before = set(tmp_path.parent.iterdir())
    ws = _small_limits(init_workspace(tmp_path / "ws", signing_key=TEST_KEY))
    outcomes = intake(ws, [inbox], spec=spec)
    assert set(tmp_path.parent.iterdir()) == outside_before  # nothing written outside the workspace's folder
    for path in (ws.path).rglob("*"):
        assert ws.path in path.resolve().parents or path.resolve() == ws.path
    by_source = {}
    for o in outcomes:
        by_source.setdefault(Path(o.source).name, []).append(o)
    # the good ones, exactly as alone
    alone = _small_limits(init_workspace(tmp_path / "alone", signing_key=TEST_KEY))
    solo = intake(alone, [inbox / f"good-{i}.eml" for i in range(3)], spec=spec)
    assert [(o.status, o.unit, o.findings) for o in solo] == [
        (o.status, o.unit, o.findings) for i in range(3) for o in by_source[f"good-{i}.eml"]]
    assert {o.status for o in solo} == {"accepted"}
    # every hostile workbook recorded, with its expected status
    for name, (_data, code) in books.items():
        o = by_source[f"wb-{name}"][0]
        expected = {"OK-TEXT": {"accepted", "duplicate"}, "M01": {"accepted_with_warnings", "duplicate"},
                    "S02": {"accepted_with_warnings", "duplicate"}}.get(code, {"unreadable"} if code[0] in "FLX" else {"rejected"})
        if name == "plain-zip-renamed.xlsx":
            expected = {"attachment"}  # intake unpacks any zip archive, whatever its name; its member is other material
        assert o.status in expected, (name, o.status, code)
    for name, (_data, status, code) in mails.items():
        items = by_source.get(f"mail-{name}", [])
        if status:
            assert any(o.status == status for o in items), (name, [(o.status, o.message) for o in items])
        if code:
            assert any(code in o.message or o.status == "unreadable" for o in items), name
    ledger = Ledger(ws.path)
    archived = {p.name for p in (ws.path / "archive").rglob("*") if p.is_file()}
    assert {o.sha256 for o in outcomes if o.status != "already-recorded"} <= archived | {o.sha256 for o in outcomes if not o.sha256}
    for path in (ws.path / "archive").rglob("*"):
        if path.is_file():
            assert oct(path.stat().st_mode)[-3:] == "444"
    for p in (ws.path / "receipts").rglob("*.xlsx"):
        assert "\u202e" not in p.name and ".." not in p.name and "\x00" not in p.name
    ledger.close()


def test_a_zip_bomb_is_refused_before_inflating_with_bounded_memory(tmp_path, good):
    import zipfile

    bomb = tmp_path / "附表（炸弹）.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("附表.xlsx", "w", force_zip64=True) as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(1024):  # 1 GiB of zeros, about 1 MiB on disk
                fh.write(chunk)
        zf.writestr("兰考县附表.xlsx", good["410225"])
    assert bomb.stat().st_size < 5 * 1024 * 1024
    ws = init_workspace(tmp_path / "ws", signing_key=TEST_KEY)
    code = PEAK + (
        "import json, sys\n"
        "from qtables.intake.run import intake\n"
        "from qtables.ledger.workspace import open_workspace\n"
        "out = intake(open_workspace(sys.argv[1]), [sys.argv[2]])\n"
        "print(json.dumps([[o.status, o.message] for o in out] + [peak()]))\n"
    )
    run = subprocess.run([sys.executable, "-c", code, str(ws.path), str(bomb)], capture_output=True, text=True, timeout=300)
    *outcomes, peak_kb = json.loads(run.stdout)
    assert outcomes[0][0] == "unreadable" and "超过限制" in outcomes[0][1]
    assert peak_kb < 300 * 1024, f"peak {peak_kb / 1024:.0f} MiB"


@pytest.mark.parametrize("cells, refused", [
    ('<row r="1"><c r="XFD1"><v>1</v></c></row>', "列"),  # a far column in the first row
    ('<row r="2"><c r="A1048576"><v>1</v></c></row>', "行"),  # a far row named only by the cell
    ("<row r='30000'><c r='A30000'><v>1</v></c></row>", "行"),  # single quotes are XML too
    ('<row r="3"><c r="A3" s="12345"><v>1</v></c></row>', None),  # a long style number: a false alarm, read
    ('<row r="19999"><c r="ZZ19999"><v>1</v></c></row>', None),  # at the limits, not past them
    ('<row r="2"><c r="xfd2"><v>1</v></c></row>', "列"),  # calamine reads letters in either case
    ('<row r="2"><c s="1" t=">" r="A30000"><v>1</v></c></row>', "行"),  # a > inside a value ends no tag
    ("<row r='2'><c r='A2' t='x>' r='A30000'><v>1</v></c></row>", "X02"),  # a repeated r: not XML, not placed
    ('<row r="2"><x:c r="XFD2"><v>1</v></x:c></row>', "列"),  # a prefixed cell is a cell to calamine
    ("<row>" + "<c><v>1</v></c>" * 703 + "</row>", "列"),  # unlabelled cells counted along the row
    ("<row>" + "<c><v>1</v></c>" * 702 + "</row>", None),
    ('<row r="19998"/><row/><row><c><v>1</v></c></row>', None),  # row 20000
    ('<row r="19998"/><row/><row/><row><c><v>1</v></c></row>', "行"),  # row 20001, counted from the last r
    ("<row>" + "<c><v>1</v></c>" * 400 + '<!-- <c r="A1"/> --><![CDATA[<c r="A1"/>]]>' + "<c><v>1</v></c>" * 400 + "</row>", "列"),
    ('<row r="3"><c r="B3"><v>1</v></c><c><v>2</v></c></row>', None),  # the unlabelled cell after B3 is C3
    ('<row r="15000"><c r="A15000" s="2"><v>1</v></c></row>', None),  # not short: placed exactly, within limits
    ('<row><c r="A1"><v>1<c r="XFD1"/></v></c></row>', None),  # inside a value: not a cell to calamine
    ("<row><c><v>1</v></row>", "X02"),  # not well-formed and not plain: cannot be placed for certain
])
def test_the_extent_guard_names_what_lies_past_the_limits(cells, refused):
    """The guard runs before calamine allocates a sheet's dense range (a cell at XFD1048576 aborts the process)."""
    import io
    import zipfile

    from qtables.read.workbook import ReadProblem, check_extent

    sheet = f'<worksheet><cols><col min="1" max="1" width="10.7109375"/></cols><sheetData>{cells}</sheetData></worksheet>'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
    limits = ReadLimits(sheet_rows=20000, sheet_columns=702)
    if refused is None:
        check_extent(buf.getvalue(), "xl/worksheets/sheet1.xml", limits)
    else:
        with pytest.raises(ReadProblem) as problem:
            check_extent(buf.getvalue(), "xl/worksheets/sheet1.xml", limits)
        if refused == "X02":
            assert problem.value.code == "X02"
        else:
            assert problem.value.code == "L08" and refused in problem.value.details["detail"]


def test_a_member_with_a_bad_crc_still_gets_its_receipt(spec, workspace, tmp_path):
    """Found by fuzzing intake: a workbook whose [Content_Types].xml fails its CRC (calamine never reads that
    part, so the check goes on) made the receipt editor raise BadZipFile — after the submission was recorded,
    so every later intake stopped at it.  The next editor is tried; the 审核结果 sheet alone at worst."""
    import io
    import struct
    import zipfile

    from qtables.receipt.workbook import RESULT_SHEET, write_receipt

    path, _ = build_filled(tmp_path / "bad.xlsx", spec, workspace, "410181", "2025Q3", seed=5,
                           mutate=lambda v: v["t5"][0].update(satisfaction_rate=120))
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")  # the central directory's entries, until [Content_Types].xml
    while at >= 0:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46:at + 46 + name_len]) == b"[Content_Types].xml":
            struct.pack_into("<I", data, at + 16, struct.unpack_from("<I", data, at + 16)[0] ^ 0xFFFF)
            break
        at = data.find(b"PK\x01\x02", at + 4)
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(bytes(data))).read("[Content_Types].xml")
    bad = tmp_path / "crc.xlsx"
    bad.write_bytes(bytes(data))
    report = check_file(bad, CheckContext(spec, workspace.registry, workspace.signing_key))
    assert "T5-01" in {f.code for f in report.findings}
    receipt = write_receipt(report, tmp_path / "out", original=bad)
    with zipfile.ZipFile(receipt) as zf:
        assert any(RESULT_SHEET.encode() in zf.read(n) for n in zf.namelist() if n.endswith("workbook.xml"))
