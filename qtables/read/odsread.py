"""A second reader for OpenDocument spreadsheets, used when the fast one refuses a file.

python-calamine expects LibreOffice's compact content.xml; Gnumeric writes the same document indented,
with whitespace between cells, which calamine rejects.  This reader walks content.xml with defusedxml
(the package pre-scan has already refused DOCTYPE/ENTITY and bounded the sizes) and offers the two
calls ``RawWorkbook`` makes of a calamine workbook.  Repeated rows and columns are expanded only up to
the last cell with content, so a sheet "repeated" to row 1,048,576 costs nothing.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from defusedxml import ElementTree

NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
}


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


@dataclass(frozen=True)
class _Meta:
    name: str
    visible: str  # "Visible" or "Hidden", as calamine's enum prints


class _Sheet:
    def __init__(self, rows: list[list[Any]]):
        self._rows = rows

    def to_python(self, skip_empty_area: bool = False) -> list[list[Any]]:
        return self._rows


class OdsBook:
    """The subset of CalamineWorkbook that RawWorkbook uses: sheets_metadata, get_sheet_by_name."""

    def __init__(self, data: bytes, *, max_rows: int = 1_048_576, max_cols: int = 16_384):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            root = ElementTree.fromstring(zf.read("content.xml"))
        hidden_styles = {
            s.get(_q("style", "name"))
            for s in root.iter(_q("style", "style"))
            if any(p.get(_q("table", "display")) == "false" for p in s.iter(_q("style", "table-properties")))
        }
        self.sheets_metadata: list[_Meta] = []
        self._sheets: dict[str, _Sheet] = {}
        for table in root.iter(_q("table", "table")):
            name = table.get(_q("table", "name"), "")
            visible = "Hidden" if table.get(_q("table", "style-name")) in hidden_styles else "Visible"
            self.sheets_metadata.append(_Meta(name, visible))
            self._sheets[name] = _Sheet(_grid(table, max_rows, max_cols))

    def get_sheet_by_name(self, name: str) -> _Sheet:
        return self._sheets[name]


def _rows_of(table) -> list:
    """Rows in order, including those inside header-row and row-group elements."""
    out = []
    for child in table:
        if child.tag == _q("table", "table-row"):
            out.append(child)
        elif child.tag in (_q("table", "table-header-rows"), _q("table", "table-rows"), _q("table", "table-row-group")):
            out.extend(_rows_of(child))
    return out


def _grid(table, max_rows: int, max_cols: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    pending_empty = 0
    for row in _rows_of(table):
        repeat = min(int(row.get(_q("table", "number-rows-repeated"), "1")), max_rows)
        values = _row_values(row, max_cols)
        if not any(v != "" for v in values):
            pending_empty += repeat
            continue
        rows.extend([[]] * pending_empty)
        pending_empty = 0
        rows.extend([list(values) for _ in range(repeat)])
        if len(rows) > max_rows:
            break
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows]


def _row_values(row, max_cols: int) -> list[Any]:
    values: list[Any] = []
    pending_empty = 0
    for cell in row:
        if cell.tag not in (_q("table", "table-cell"), _q("table", "covered-table-cell")):
            continue
        repeat = min(int(cell.get(_q("table", "number-columns-repeated"), "1")), max_cols)
        value = _value(cell)
        if value == "":
            pending_empty += repeat
            continue
        values.extend([""] * pending_empty)
        pending_empty = 0
        values.extend([value] * repeat)
        if len(values) > max_cols:
            break
    return values


def _value(cell) -> Any:
    kind = cell.get(_q("office", "value-type"))
    if kind in ("float", "percentage", "currency"):
        raw = cell.get(_q("office", "value"), "")
        try:
            number = float(raw)
        except ValueError:
            return _text(cell)
        return number
    if kind == "date":
        raw = cell.get(_q("office", "date-value"), "")
        try:
            return datetime.fromisoformat(raw) if "T" in raw else date.fromisoformat(raw)
        except ValueError:
            return _text(cell)
    if kind == "boolean":
        return cell.get(_q("office", "boolean-value"), "false") == "true"
    return _text(cell)


def _text(cell) -> str:
    paragraphs = []
    for p in cell.findall(_q("text", "p")):
        paragraphs.append(_inline(p))
    return "\n".join(paragraphs)


def _inline(node) -> str:
    parts = [node.text or ""]
    for child in node:
        if child.tag == _q("text", "s"):
            parts.append(" " * int(child.get(_q("text", "c"), "1")))
        elif child.tag == _q("text", "tab"):
            parts.append("\t")
        elif child.tag == _q("text", "line-break"):
            parts.append("\n")
        else:
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)
