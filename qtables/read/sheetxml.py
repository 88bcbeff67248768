"""SpreadsheetML written by hand: styles extended in place, a worksheet from rows, a minimal package.

Used by the receipt editor (receiptpkg), which must add to a submitted
package without rewriting what is there, and for the receipt of a clean
submission (the 审核结果 sheet alone).  Text always goes in as inline strings,
never as a formula, and characters XML 1.0 forbids are replaced.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
T_SHEET = REL + "/worksheet"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
FILL_RGB = {"E": "FFFFC7CE", "W": "FFFFEB9C", "I": "FFDDEBF7"}

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ATTR = re.compile(r'([\w:]+)="([^"]*)"')


class Unsupported(Exception):
    """A package shaped in a way the hand-written editor does not rewrite."""


def esc(text: Any) -> str:
    """Text for XML content or an attribute value: escaped, without characters XML 1.0 forbids."""
    s = _BAD_XML.sub("\ufffd", str(text))
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def attrs(tag: str) -> dict[str, str]:
    return dict(_ATTR.findall(tag))


def set_attr(tag: str, name: str, value: str) -> str:
    """A start tag with one attribute set (replaced, or added before the end of the tag)."""
    pattern = re.compile(rf'(\s){re.escape(name)}="[^"]*"')
    if pattern.search(tag):
        return pattern.sub(lambda m: f'{m.group(1)}{name}="{value}"', tag, count=1)
    end = -2 if tag.endswith("/>") else -1
    return f'{tag[:end]} {name}="{value}"{tag[end:]}'


@dataclass
class Styles:
    """styles.xml with parts appended: fills, fonts and cell formats (indexes returned)."""

    text: str
    fills: list[str] = field(default_factory=list)
    fonts: list[str] = field(default_factory=list)
    borders: list[str] = field(default_factory=list)
    xfs: list[str] = field(default_factory=list)
    _copies: dict[tuple[int, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._fill_count = self._count("fills")
        self._font_count = self._count("fonts")
        self._border_count = self._count("borders")
        self._xf_count = self._count("cellXfs")
        block = re.search(r"<cellXfs\b[^>]*>(.*?)</cellXfs>", self.text, re.S)
        if block is None:
            raise Unsupported("cellXfs")
        self._existing = re.findall(r"<xf\b[^>]*?/>|<xf\b[^>]*?>.*?</xf>", block.group(1), re.S)
        if len(self._existing) != self._xf_count:
            raise Unsupported("cellXfs count")
        self.fill_of = {sev: self.add_fill(f'<fill><patternFill patternType="solid"><fgColor rgb="{rgb}"/><bgColor indexed="64"/>'
                                           "</patternFill></fill>") for sev, rgb in FILL_RGB.items()}

    def _count(self, element: str) -> int:
        m = re.search(rf"<{element}\b[^>]*?>(.*?)</{element}>", self.text, re.S)
        if m is None:
            raise Unsupported(element)
        inner = {"fills": "fill", "fonts": "font", "borders": "border", "cellXfs": "xf"}[element]
        return len(re.findall(rf"<{inner}\b", m.group(1)))

    def add_fill(self, xml: str) -> int:
        self.fills.append(xml)
        return self._fill_count + len(self.fills) - 1

    def add_font(self, xml: str) -> int:
        self.fonts.append(xml)
        return self._font_count + len(self.fonts) - 1

    def add_border(self, xml: str) -> int:
        self.borders.append(xml)
        return self._border_count + len(self.borders) - 1

    def add_xf(self, xml: str) -> int:
        self.xfs.append(xml)
        return self._xf_count + len(self.xfs) - 1

    def marked(self, style: int, severity: str) -> int:
        """A copy of cell format ``style`` with the severity's fill."""
        key = (style, severity)
        if key not in self._copies:
            base = self._existing[style] if 0 <= style < len(self._existing) else self._existing[0]
            head_end = base.index(">") + 1
            head = base[:head_end]
            head = set_attr(set_attr(head, "fillId", str(self.fill_of[severity])), "applyFill", "1")
            self._copies[key] = self.add_xf(head + base[head_end:])
        return self._copies[key]

    def result(self) -> str:
        text = self.text
        for element, items, total in (("fills", self.fills, self._fill_count), ("fonts", self.fonts, self._font_count),
                                      ("borders", self.borders, self._border_count), ("cellXfs", self.xfs, self._xf_count)):
            if not items:
                continue
            m = re.search(rf"(<{element}\b[^>]*?>)(.*?)(</{element}>)", text, re.S)
            assert m is not None
            head = set_attr(m.group(1), "count", str(total + len(items)))
            text = text[:m.start()] + head + m.group(2) + "".join(items) + m.group(3) + text[m.end():]
        return text


def add_rels(rels_xml: str | None, new: list[tuple[str, str, str]]) -> str:
    body = "".join(f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"/>' for rid, kind, target in new)
    if rels_xml is None:
        return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">{body}</Relationships>'
    return rels_xml.replace("</Relationships>", body + "</Relationships>", 1)



@dataclass
class ResultSheet:
    """The 审核结果 sheet as worksheet XML: rows of (cell values, style role), widths, merges, heights."""

    name: str
    rows: list[tuple[int, list[tuple[Any, str]], float | None]]  # (row number, [(value, role)], height)
    widths: list[float]
    merges: list[str]
    freeze_row: int
    title_rows: str

    def xml(self, styles: Styles) -> str:
        bold = styles.add_font('<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>')
        big = styles.add_font('<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font>')
        wrap = '<alignment horizontal="left" vertical="top" wrapText="1"/>'  # figures under their header, as text
        # The findings table ruled like a printed form: every cell of its header and rows in a thin border.
        thin = "".join(f'<{side} style="thin"><color auto="1"/></{side}>' for side in ("left", "right", "top", "bottom"))
        ruled = styles.add_border(f"<border>{thin}<diagonal/></border>")
        role_xf = {
            "plain": styles.add_xf('<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'),
            "title": styles.add_xf(f'<xf numFmtId="0" fontId="{big}" fillId="0" borderId="0" xfId="0" applyFont="1"/>'),
            "head": styles.add_xf(f'<xf numFmtId="0" fontId="{bold}" fillId="0" borderId="{ruled}" xfId="0" applyFont="1" applyBorder="1"'
                                  ' applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf>'),
            "wrap": styles.add_xf(f'<xf numFmtId="0" fontId="0" fillId="0" borderId="{ruled}" xfId="0" applyBorder="1" applyAlignment="1">'
                                  f'{wrap}</xf>'),
            "top": styles.add_xf(f'<xf numFmtId="0" fontId="0" fillId="0" borderId="{ruled}" xfId="0" applyBorder="1" applyAlignment="1">'
                                 '<alignment horizontal="center" vertical="top"/></xf>'),  # 序号, 代码
        }
        for sev, fill in styles.fill_of.items():
            role_xf[f"sev-{sev}"] = styles.add_xf(f'<xf numFmtId="0" fontId="0" fillId="{fill}" borderId="{ruled}" xfId="0" applyFill="1" '
                                                  'applyBorder="1" applyAlignment="1"><alignment horizontal="center" vertical="top"/></xf>')
        ruled_roles = {"head", "wrap", "top", *(f"sev-{sev}" for sev in styles.fill_of)}
        body = []
        for r, cells, height in self.rows:
            ht = f' ht="{height:g}" customHeight="1"' if height else ""
            out = []
            for c, (value, role) in enumerate(cells, start=1):
                ref, s = f"{col_letters(c)}{r}", role_xf[role]
                if value is None or value == "":
                    if role in ruled_roles:  # an empty cell of the table keeps its rules
                        out.append(f'<c r="{ref}" s="{s}"/>')
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out.append(f'<c r="{ref}" s="{s}"><v>{value!r}</v></c>')
                else:  # everything else as inline text: never a formula, whatever it starts with
                    out.append(f'<c r="{ref}" s="{s}" t="inlineStr"><is><t xml:space="preserve">{esc(value)}</t></is></c>')
            body.append(f'<row r="{r}"{ht}>{"".join(out)}</row>')
        cols = "".join(f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>' for i, w in enumerate(self.widths, start=1))
        merges = "".join(f'<mergeCell ref="{m}"/>' for m in self.merges)
        top = f"A{self.freeze_row + 1}"
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            f'<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="{self.freeze_row}" topLeftCell="{top}" '
            f'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="{top}" sqref="{top}"/></sheetView>'
            f'</sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>{"".join(body)}</sheetData>'
            + (f'<mergeCells count="{len(self.merges)}">{merges}</mergeCells>' if self.merges else "")
            + '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0" useFirstPageNumber="1" '
            'firstPageNumber="1"/>'
            f'<headerFooter><oddFooter>&amp;C{esc(self.name)}　第 &amp;P 页</oddFooter></headerFooter></worksheet>'
        )


_MIN_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def standalone(result_sheet: ResultSheet) -> bytes:
    """A workbook holding the 审核结果 sheet alone (a clean submission, or one that cannot be annotated)."""
    import zipfile

    styles = Styles(_MIN_STYLES)
    sheet = result_sheet.xml(styles)
    name = esc(result_sheet.name)
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT_SHEET}"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            "</Types>"),
        "_rels/.rels": add_rels(None, [("rId1", REL + "/officeDocument", "xl/workbook.xml")]),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets><definedNames>'
            f"<definedName name=\"_xlnm.Print_Titles\" localSheetId=\"0\">'{name}'!{result_sheet.title_rows}</definedName>"
            "</definedNames></workbook>"),
        "xl/_rels/workbook.xml.rels": add_rels(None, [("rId1", T_SHEET, "worksheets/sheet1.xml"),
                                                       ("rId2", REL + "/styles", "styles.xml")]),
        "xl/worksheets/sheet1.xml": sheet,
        "xl/styles.xml": styles.result(),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for part, text in parts.items():
            z.writestr(part, text.encode("utf-8"))
    return out.getvalue()
