"""Reading a 附表 laid out by hand: columns by their printed headers, units by their names.

Used by ``import-master`` (a previous period's summary typed in Excel over the years) and by the
checker's recognition of a non-template workbook.  Nothing is taken by position: every value column
is found under its group by the header text the 办法 prints (or an alias declared in the spec), and
a column that is missing, ambiguous or in another unit is a refusal that names it, never a guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Sequence

from qtables.spec.model import Column, Table
from qtables.spec.registry import Unit

_SPACES = re.compile(r"[\s\u3000]+")
_UNIT_IN_TEXT = re.compile(r"\((.*?)\)")
TOTAL_LABELS = {"合计", "总计", "全省合计", "全市合计", "合 计", "总 计"}
SUBTOTAL_LABELS = {"小计"}
NOTE_PREFIXES = ("填表人", "填报人", "审核人", "批准人", "负责人", "填表日期", "填报日期", "注", "说明", "备注", "制表", "联系电话")


def fold(value: Any) -> str:
    """Header text as compared: NFKC (full-width to half-width), no spaces or line breaks, () brackets,
    万平方米 → 万㎡, 平方米/m2 → ㎡, lower case."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = _SPACES.sub("", text)
    text = text.replace("万平方米", "万㎡").replace("万m2", "万㎡").replace("万m²", "万㎡")
    text = text.replace("平方米", "㎡").replace("m2", "㎡").replace("m²", "㎡")
    text = text.replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")")
    # NFKC turns ㎡ into m2; put it back so the unit reads the same everywhere.
    text = text.replace("m2", "㎡")
    return text.casefold()


def _bare(text: str) -> str:
    """A folded header without its unit in brackets: "面积(万㎡)" → "面积"."""
    return _UNIT_IN_TEXT.sub("", text)


def _unit_of(text: str) -> str | None:
    m = _UNIT_IN_TEXT.search(text)
    return m.group(1) if m else None


@dataclass
class HeaderMatch:
    """Where a table's columns are on a sheet."""

    top: int  # first header row (0-based)
    bottom: int  # last header row
    columns: dict[str, int]  # value column id -> sheet column index
    label_cols: list[int]  # columns holding 序号 / unit names
    missing: list[Column] = field(default_factory=list)
    ambiguous: list[tuple[Column, list[int]]] = field(default_factory=list)
    wrong_unit: list[tuple[Column, str]] = field(default_factory=list)  # (column, unit printed on the sheet)

    @property
    def complete(self) -> bool:
        return not (self.missing or self.ambiguous or self.wrong_unit)


def _value_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if c.type != "key"]


def _names(col: Column) -> list[tuple[str, str]]:
    """(group, leaf) pairs a column may be printed as: its header, then its aliases ("group / leaf")."""
    out = []
    header = col.header
    group, leaf = (header[0], header[-1]) if len(header) > 1 else (header[0], "")
    out.append((fold(group), fold(leaf)))
    for alias in col.aliases:
        g, _, l = alias.partition("/")
        out.append((fold(g), fold(l)))
    return out


def _cell(grid: Sequence[Sequence[Any]], r: int, c: int) -> Any:
    row = grid[r] if r < len(grid) else ()
    return row[c] if c < len(row) else None


def find_header(grid: Sequence[Sequence[Any]], table: Table, *, scan: int = 40) -> HeaderMatch | None:
    """The header block of ``table`` on a sheet, or None if the sheet does not look like it."""
    cols = _value_columns(table)
    groups = {g for c in cols for g, _l in _names(c)}
    width = max((len(r) for r in grid[: scan + 4]), default=0)
    top = None
    for r in range(min(scan, len(grid))):
        texts = [fold(v) for v in grid[r]]
        hits = sum(1 for t in texts if t and (t in groups or _bare(t) in {_bare(g) for g in groups}
                                              or t.split("/")[0] in groups))
        if hits >= 2:
            top = r
            break
    if top is None:
        return None
    # Leaf rows: the rows under the group row whose cells read as leaves ("项数", "面积（万㎡）") or as
    # the second line of one ("（万㎡）").
    leaves = {_bare(l) for c in cols for _g, l in _names(c) if l}
    bottom = top
    for r in range(top + 1, min(top + 4, len(grid))):
        texts = [fold(v) for v in grid[r] if fold(v) and not isinstance(v, (int, float))]
        leafish = sum(1 for x in texts if _bare(x) in leaves or re.fullmatch(r"\(.*\)", x))
        if leafish < 2:
            break
        bottom = r
    # Each sheet column's (group, leaf): the group carried right over merged or blank cells.
    found: dict[int, tuple[str, str]] = {}
    group = ""
    for c in range(width):
        head = fold(_cell(grid, top, c))
        if head:
            group = head
        leaf = "".join(fold(_cell(grid, r, c)) for r in range(top + 1, bottom + 1))
        if "/" in head:  # "本季度在建工程 / 项数" on one line
            g, _, l = head.partition("/")
            found[c] = (g, l)
            group = g
        elif head or leaf:
            found[c] = (group, leaf)
    columns: dict[str, int] = {}
    match = HeaderMatch(top, bottom, columns, [])
    for col in cols:
        names = _names(col)
        where = []
        unit_seen = None
        for c, (g, l) in found.items():
            for ng, nl in names:
                if not _same_group(g, ng):
                    continue
                if nl == "" and l == "":
                    where.append(c)
                elif nl and l and _bare(l) == _bare(nl):
                    printed, wanted = _unit_of(l), _unit_of(nl) or _unit_token(col)
                    if printed and wanted and printed != wanted:
                        unit_seen = printed
                        continue
                    where.append(c)
                elif nl == "" and l and _bare(g + l) == _bare(ng):
                    where.append(c)
        where = sorted(set(where))
        if len(where) == 1:
            columns[col.id] = where[0]
        elif len(where) > 1:
            match.ambiguous.append((col, where))
        elif unit_seen:
            match.wrong_unit.append((col, unit_seen))
        else:
            match.missing.append((col))
    first_value = min(columns.values(), default=width)
    match.label_cols = [c for c in range(first_value) if c not in columns.values()]
    return match


def _unit_token(col: Column) -> str | None:
    return fold(col.unit) if col.unit and col.unit not in ("项", "人", "%") else None


def _same_group(printed: str, wanted: str) -> bool:
    if printed == wanted:
        return True
    a, b = _bare(printed), _bare(wanted)
    return bool(a) and a == b


# -- units -----------------------------------------------------------------

_SEQ_PREFIX = re.compile(r"^[(（]?\s*\d+\s*[)）、.．,，:：]?\s*")


def _plain_name(text: str) -> str:
    return _SEQ_PREFIX.sub("", fold(text))


@dataclass
class UnitIndex:
    """Unit names as they appear in hand-made sheets: full, with 序号, short, former names, codes."""

    by_name: dict[str, Unit]
    by_short: dict[str, list[Unit]]
    by_code: dict[str, Unit]

    @classmethod
    def of(cls, units: Sequence[Unit]) -> "UnitIndex":
        by_name, by_short, by_code = {}, {}, {}
        for u in units:
            by_code[u.code] = u
            for name in (u.name, *u.former_names):
                by_name[fold(name)] = u
                short = re.sub(r"(市|县|区|回族区)$", "", fold(name))
                if len(short) >= 2:
                    by_short.setdefault(short, [])
                    if u not in by_short[short]:
                        by_short[short].append(u)
        return cls(by_name, by_short, by_code)

    def find(self, text: Any) -> Unit | None:
        raw = fold(text)
        if not raw:
            return None
        if raw in self.by_code:
            return self.by_code[raw]
        name = _plain_name(raw)
        if name in self.by_name:
            return self.by_name[name]
        hits = self.by_short.get(name, [])
        return hits[0] if len(hits) == 1 else None


def row_kind(label: str) -> str:
    """"total", "subtotal", "note", "blank" or "data" for a row's label text."""
    text = _plain_name(label)
    if not text:
        return "blank"
    if text in {fold(t) for t in TOTAL_LABELS} or text.endswith("合计"):
        return "total"
    if text in SUBTOTAL_LABELS:
        return "subtotal"
    if any(text.startswith(fold(p)) for p in NOTE_PREFIXES):
        return "note"
    return "data"


