"""The annotated receipt made by editing the submitted package, not by an openpyxl load and save.

Every part of the submission is kept byte for byte (values, formulas, the
template identity, protection, validations, the helper sheets) except:

* the styles, which gain one fill per severity, the fonts of the 审核结果 sheet
  and, per (original style, severity), a copy of the cell's style with that fill;
* each marked sheet, whose marked cells point at those styles (a cell with no
  ``<c>`` element is added in column order) and which gains a comments part and
  its VML drawing (what Excel and LibreOffice show as a cell note);
* the workbook, its relationships and the content types, which gain the
  审核结果 sheet in front (its print titles, the other sheets' local names
  shifted by one, the first tab active and the only one selected).

``patch`` returns None for a package shaped in a way it does not rewrite
(prefixed element names, existing notes on a marked sheet, zip64 …): the
caller then falls back to the openpyxl round trip.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from qtables.read.sheetxml import (CT_SHEET, MAIN, REL, T_SHEET, ResultSheet, Styles, Unsupported, add_rels, attrs,
                                    set_attr, col_letters, col_number, esc, standalone)
from qtables.read.package import ZIP_ERRORS
from qtables.read.zipcopy import CannotCopy, rewrite

__all__ = ["Marks", "ResultSheet", "patch", "standalone"]

T_COMMENTS = REL + "/comments"
T_VML = REL + "/vmlDrawing"
CT_COMMENTS = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
CT_VML = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
# Elements that must follow <legacyDrawing> in a worksheet (ECMA-376 CT_Worksheet order).
_AFTER_LEGACY = ("<legacyDrawingHF", "<drawingHF", "<picture", "<oleObjects", "<controls", "<webPublishItems", "<tableParts",
                 "<extLst", "</worksheet>")


def _resolve(base: str, target: str) -> str:
    """A relationship target as a package part name (without the leading slash)."""
    if target.startswith("/"):
        return target[1:]
    parts = base.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _rels_path(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels"


def _merged_top_left(sheet_xml: str) -> dict[str, str]:
    """Every cell of a merged range -> the range's top-left cell (where a fill and a note belong)."""
    out: dict[str, str] = {}
    for ref in re.findall(r'<mergeCell\b[^>]*\bref="([A-Z]+\d+):([A-Z]+\d+)"', sheet_xml):
        (c1, r1), (c2, r2) = (_CELL_REF.match(x).groups() for x in ref)  # type: ignore[union-attr]
        for r in range(int(r1), int(r2) + 1):
            for c in range(col_number(c1), col_number(c2) + 1):
                out[f"{col_letters(c)}{r}"] = f"{c1}{r1}"
    return out


def _style_cells(sheet_xml: str, wanted: dict[str, str], styles: Styles) -> str:
    """Point each wanted cell (ref -> severity) at its marked style, adding missing cells and rows."""
    for ref, severity in wanted.items():
        col, row = _CELL_REF.match(ref).groups()  # type: ignore[union-attr]
        cell = re.search(rf'<c\b[^>]*?\br="{ref}"[^>]*?/?>', sheet_xml)
        if cell is not None:
            tag = cell.group(0)
            style = int(attrs(tag).get("s", "0"))
            sheet_xml = sheet_xml[:cell.start()] + set_attr(tag, "s", str(styles.marked(style, severity))) + sheet_xml[cell.end():]
            continue
        new = f'<c r="{ref}" s="{styles.marked(0, severity)}"/>'
        sheet_xml = _insert_cell(sheet_xml, int(row), col_number(col), new)
    return sheet_xml


def _insert_cell(sheet_xml: str, row: int, col: int, new: str) -> str:
    row_tag = re.search(rf'<row\b[^>]*?\br="{row}"[^>]*?(/?)>', sheet_xml)
    if row_tag is not None:
        if row_tag.group(1):  # <row .../>
            opened = row_tag.group(0)[:-2] + ">"
            return sheet_xml[:row_tag.start()] + opened + new + "</row>" + sheet_xml[row_tag.end():]
        end = sheet_xml.index("</row>", row_tag.end())
        body = sheet_xml[row_tag.end():end]
        for cell in re.finditer(r'<c\b[^>]*?\br="([A-Z]+)\d+"', body):
            if col_number(cell.group(1)) > col:
                at = row_tag.end() + cell.start()
                return sheet_xml[:at] + new + sheet_xml[at:]
        return sheet_xml[:end] + new + sheet_xml[end:]
    new_row = f'<row r="{row}">{new}</row>'
    for other in re.finditer(r'<row\b[^>]*?\br="(\d+)"', sheet_xml):
        if int(other.group(1)) > row:
            return sheet_xml[:other.start()] + new_row + sheet_xml[other.start():]
    if "<sheetData/>" in sheet_xml:
        return sheet_xml.replace("<sheetData/>", f"<sheetData>{new_row}</sheetData>", 1)
    end = sheet_xml.index("</sheetData>")
    return sheet_xml[:end] + new_row + sheet_xml[end:]


def _comments_xml(notes: dict[str, str]) -> str:
    items = "".join(f'<comment ref="{ref}" authorId="0"><text><r><t xml:space="preserve">{esc(text)}</t></r></text></comment>'
                    for ref, text in notes.items())
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{MAIN}"><authors><author>qtables</author>'
            f"</authors><commentList>{items}</commentList></comments>")


def _vml_xml(notes: dict[str, str], sheet_no: int, heights: dict[str, int]) -> str:
    shapes = []
    for i, ref in enumerate(notes):
        col, row = _CELL_REF.match(ref).groups()  # type: ignore[union-attr]
        c, r = col_number(col) - 1, int(row) - 1
        shapes.append(
            f'<v:shape id="_x0000_s{sheet_no * 1024 + i + 1}" type="#_x0000_t202" style="position:absolute;margin-left:80pt;'
            f'margin-top:2pt;width:240pt;height:{heights[ref]}pt;z-index:{i + 1};visibility:hidden" fillcolor="#ffffe1" '
            'o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/>'
            '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div>'
            f'</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor>{c + 1}, 15, {r}, 2, '
            f'{c + 5}, 15, {r + 8}, 2</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>{r}</x:Row><x:Column>{c}</x:Column>'
            "</x:ClientData></v:shape>")
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit"><o:idmap v:ext="edit" '
            f'data="{sheet_no}"/></o:shapelayout><v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
            'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/>'
            "</v:shapetype>" + "".join(shapes) + "</xml>")


def _free_id(rels_xml: str | None, stem: str) -> str:
    used = set(re.findall(r'\bId="([^"]+)"', rels_xml or ""))
    n = 1
    while f"{stem}{n}" in used:
        n += 1
    return f"{stem}{n}"


def _add_legacy_drawing(sheet_xml: str, rid: str) -> str:
    root = re.search(r"<worksheet\b[^>]*>", sheet_xml)
    if root is None:
        raise Unsupported("worksheet root")
    if f'xmlns:r="{REL}"' not in root.group(0):
        if "xmlns:r=" in root.group(0):
            raise Unsupported("r prefix bound elsewhere")
        sheet_xml = sheet_xml[:root.start()] + set_attr(root.group(0), "xmlns:r", REL) + sheet_xml[root.end():]
    tag = f'<legacyDrawing r:id="{rid}"/>'
    for follower in _AFTER_LEGACY:
        at = sheet_xml.find(follower)
        if at >= 0:
            return sheet_xml[:at] + tag + sheet_xml[at:]
    raise Unsupported("worksheet end")


@dataclass
class Marks:
    """What to put on the submission: per sheet, cell -> (severity, note text); and per sheet the rows to print:
    the rows left blank of a list's capacity hidden (first, last; 1-based), the filled rows' heights (points)."""

    cells: dict[str, dict[str, tuple[str, str]]]
    hidden: dict[str, tuple[int, int]] = field(default_factory=dict)
    heights: dict[str, dict[int, float]] = field(default_factory=dict)


def _edit_rows(sheet_xml: str, hidden: tuple[int, int] | None, heights: dict[int, float]) -> str:
    """Hide the rows of ``hidden`` (they print no blank grid) and give rows their heights (wrapped text printed
    whole, not over the next row)."""
    def edit(m: re.Match) -> str:
        tag = m.group(0)
        r = int(m.group(1))
        if hidden and hidden[0] <= r <= hidden[1]:
            tag = set_attr(tag, "hidden", "1")
        elif r in heights:
            tag = set_attr(set_attr(tag, "ht", f"{heights[r]:g}"), "customHeight", "1")
        return tag

    return re.sub(r'<row\b[^>]*?\br="(\d+)"[^>]*?/?>', edit, sheet_xml)


def _notes_at_end(sheet_xml: str) -> str:
    """A marked sheet prints its notes (the 批注 that say what is wrong) after the sheet."""
    return re.sub(r"<pageSetup\b(?![^>]*cellComments)", '<pageSetup cellComments="atEnd"', sheet_xml, count=1)


def patch(data: bytes, marks: Marks, result_sheet: "ResultSheet") -> bytes | None:
    """The receipt package, or None when this package is not one this editor rewrites (use openpyxl)."""
    try:
        return _patch(data, marks, result_sheet)
    except (Unsupported, CannotCopy, KeyError, ValueError, UnicodeDecodeError, AttributeError):
        return None
    except ZIP_ERRORS:
        # A member whose CRC or deflate stream is damaged (calamine read the file all the same; found by
        # fuzzing intake): this editor cannot copy it; the next one is tried, the 审核结果 sheet alone last.
        return None


def _patch(data: bytes, marks: Marks, result_sheet: "ResultSheet") -> bytes:
    import zipfile

    zin = zipfile.ZipFile(io.BytesIO(data))
    names = set(zin.namelist())

    def text(part: str) -> str:
        return zin.read(part).decode("utf-8")

    root_rels = text("_rels/.rels")
    book_part = next(_resolve("", t) for t, kind in _rel_targets(root_rels) if kind.endswith("/officeDocument"))
    book = text(book_part)
    if re.search(r"<\w+:(workbook|sheets|sheet)\b", book):
        raise Unsupported("prefixed workbook")
    book_rels_part = _rels_path(book_part)
    book_rels = text(book_rels_part)
    targets = {rid: (target, kind) for rid, target, kind in _rels(book_rels)}
    sheets = []  # (name, part)
    for tag in re.findall(r"<sheet\b[^>]*/>", book):
        a = attrs(tag)
        target, _kind = targets[a["r:id"]]
        sheets.append((_unescape(a["name"]), _resolve(book_part, target)))
    if not sheets:
        raise Unsupported("no sheets")
    styles_part = next(_resolve(book_part, t) for t, kind in targets.values() if kind.endswith("/styles"))
    styles = Styles(text(styles_part))
    types = text("[Content_Types].xml")
    replaced: dict[str, bytes] = {}
    added: dict[str, bytes] = {}

    by_name = dict(sheets)
    for n, (sheet_name, cells) in enumerate(marks.cells.items(), start=1):
        part = by_name.get(sheet_name)
        if part is None or not cells:
            continue
        xml = text(part)
        if re.search(r"<\w+:(worksheet|sheetData|row|c)\b", xml):
            raise Unsupported("prefixed sheet")
        rels_part = _rels_path(part)
        rels = text(rels_part) if rels_part in names else None
        if rels is not None and (T_COMMENTS in rels or T_VML in rels):
            raise Unsupported("sheet has notes")
        top_left = _merged_top_left(xml)
        wanted: dict[str, str] = {}
        notes: dict[str, str] = {}
        for ref, (severity, note) in cells.items():
            at = top_left.get(ref, ref)
            wanted[at] = severity if at not in wanted or _rank(severity) < _rank(wanted[at]) else wanted[at]
            notes[at] = f"{notes[at]}\n\n{note}" if at in notes else note
        xml = _style_cells(xml, wanted, styles)
        folder = part.rsplit("/", 1)[0]
        comments_part, vml_part = f"xl/comments_qt{n}.xml", f"xl/drawings/vmlDrawing_qt{n}.vml"
        rid_c, rid_v = _free_id(rels, "rIdQtC"), _free_id(rels, "rIdQtV")
        rel_up = "../" * (folder.count("/") + 1)
        xml = _notes_at_end(_add_legacy_drawing(xml, rid_v))
        replaced[part] = xml.encode("utf-8")
        replaced_or_added = replaced if rels is not None else added
        replaced_or_added[rels_part] = add_rels(rels, [(rid_c, T_COMMENTS, rel_up + comments_part),
                                                        (rid_v, T_VML, rel_up + vml_part)]).encode("utf-8")
        notes = {ref: text_[:30000] for ref, text_ in notes.items()}
        heights = {ref: min(400, 40 + 14 * (t.count("\n") + len(t) // 24)) for ref, t in notes.items()}
        added[comments_part] = _comments_xml(notes).encode("utf-8")
        added[vml_part] = _vml_xml(notes, n, heights).encode("utf-8")
        types = types.replace("</Types>", f'<Override PartName="/{comments_part}" ContentType="{CT_COMMENTS}"/></Types>', 1)
    if 'Extension="vml"' not in types and any(p.endswith(".vml") for p in added):
        types = types.replace("</Types>", f'<Default Extension="vml" ContentType="{CT_VML}"/></Types>', 1)

    for sheet_name in set(marks.hidden) | set(marks.heights):
        part = by_name.get(sheet_name)
        if part is None:
            continue
        xml = replaced[part].decode("utf-8") if part in replaced else text(part)
        replaced[part] = _edit_rows(xml, marks.hidden.get(sheet_name), marks.heights.get(sheet_name, {})).encode("utf-8")

    # The 审核结果 sheet, in front.
    result_part = "xl/worksheets/sheet_qt_result.xml"
    if result_part in names:
        raise Unsupported("receipt of a receipt")
    added[result_part] = result_sheet.xml(styles).encode("utf-8")
    rid = _free_id(book_rels, "rIdQtR")
    replaced[book_rels_part] = add_rels(book_rels, [(rid, T_SHEET, _relative(book_part, result_part))]).encode("utf-8")
    types = types.replace("</Types>", f'<Override PartName="/{result_part}" ContentType="{CT_SHEET}"/></Types>', 1)
    replaced["[Content_Types].xml"] = types.encode("utf-8")
    replaced[book_part] = _workbook_with_result(book, rid, result_sheet.name, result_sheet.title_rows).encode("utf-8")
    replaced[styles_part] = styles.result().encode("utf-8")
    for _name, part in sheets:
        if part not in replaced:
            # <sheetViews> stands near the top of a sheet: look at its head, not the whole (helper sheets are megabytes).
            with zin.open(part) as fh:
                head = fh.read(8192)
            if b"tabSelected" in head or len(head) == 8192 and b"<sheetData" not in head:
                xml = zin.read(part)
                if b'tabSelected="1"' in xml:
                    replaced[part] = xml.replace(b'tabSelected="1"', b'tabSelected="0"')
        elif 'tabSelected="1"' in replaced[part].decode("utf-8"):
            replaced[part] = replaced[part].replace(b'tabSelected="1"', b'tabSelected="0"')
    out = io.BytesIO()
    rewrite(io.BytesIO(data), out, replaced, added)
    return out.getvalue()


def _rank(severity: str) -> int:
    return {"E": 0, "W": 1, "I": 2}.get(severity, 3)


def _unescape(value: str) -> str:
    import html

    return html.unescape(value)


def _rels(rels_xml: str) -> list[tuple[str, str, str]]:
    out = []
    for tag in re.findall(r"<Relationship\b[^>]*/?>", rels_xml):
        a = attrs(tag)
        if a.get("TargetMode") == "External":
            continue
        out.append((a["Id"], _unescape(a["Target"]), a["Type"]))
    return out


def _rel_targets(rels_xml: str) -> list[tuple[str, str]]:
    return [(target, kind) for _rid, target, kind in _rels(rels_xml)]


def _relative(base: str, part: str) -> str:
    folder = base.rsplit("/", 1)[0] + "/"
    return part[len(folder):] if part.startswith(folder) else "/" + part


def _workbook_with_result(book: str, rid: str, name: str, title_rows: str) -> str:
    ids = [int(x) for x in re.findall(r'<sheet\b[^>]*\bsheetId="(\d+)"', book)]
    tag = f'<sheet name="{esc(name)}" sheetId="{max(ids, default=0) + 1}" r:id="{rid}"/>'
    if f'xmlns:r="{REL}"' not in re.search(r"<workbook\b[^>]*>", book).group(0):  # type: ignore[union-attr]
        raise Unsupported("workbook r prefix")
    book = re.sub(r"<sheets>", "<sheets>" + tag, book, count=1)
    # Local names belong to sheets by position: every one moves one place back.
    book = re.sub(r'(<definedName\b[^>]*\blocalSheetId=")(\d+)"', lambda m: f'{m.group(1)}{int(m.group(2)) + 1}"', book)
    titles = f"<definedName name=\"_xlnm.Print_Titles\" localSheetId=\"0\">'{esc(name)}'!{title_rows}</definedName>"
    if "<definedNames>" in book:
        book = book.replace("<definedNames>", "<definedNames>" + titles, 1)
    elif "<definedNames/>" in book:
        book = book.replace("<definedNames/>", f"<definedNames>{titles}</definedNames>", 1)
    else:
        book = book.replace("</sheets>", f"</sheets><definedNames>{titles}</definedNames>", 1)
    view = re.search(r"<workbookView\b[^>]*?/?>", book)
    if view is not None:
        patched = set_attr(set_attr(view.group(0), "activeTab", "0"), "firstSheet", "0")
        book = book[:view.start()] + patched + book[view.end():]
    return book




