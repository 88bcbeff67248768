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
# The lines the 办法's forms print around a table (附表3–7: 统计员/批准人/报送日期; 附表2: 填表人/填表日期; the
# 填表说明 paragraph; 填表单位（盖章）), and what clerks add: never units.
NOTE_PREFIXES = ("填表人", "填报人", "统计员", "统计人", "审核人", "批准人", "负责人", "填表日期", "填报日期", "报送日期",
                 "填表说明", "填报说明", "注", "说明", "备注", "制表", "联系电话", "填表单位", "填报单位", "单位(盖章)", "单位(公章)", "栏次")


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
                                              or t.split("/")[0] in groups or any(t.startswith(g + "/") for g in groups)))
        if hits >= 2:
            top = r
            break
    if top is None:
        return None
    leaves = {_bare(l) for c in cols for _g, l in _names(c) if l}
    bottom = _header_bottom(grid, top, leaves)
    paths = _header_paths(grid, top, bottom, width)
    columns: dict[str, int] = {}
    match = HeaderMatch(top, bottom, columns, [])
    for col in cols:
        names = _names(col)
        where = []
        unit_seen = None
        for c, path in paths.items():
            for ng, nl in names:
                verdict = _path_matches(path, ng, nl, col)
                if verdict is True:
                    where.append(c)
                elif verdict:
                    unit_seen = verdict
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


def _header_bottom(grid: Sequence[Sequence[Any]], top: int, leaves: set[str], depth: int = 4) -> int:
    """The last row of the header block that starts at ``top``: rows of leaves ("项数", "面积（万㎡）", or a unit
    line "（万㎡）") below it, with blank rows between allowed — the second row of a label merged over two rows
    reads blank (the 办法's own 附表5: groups merged over rows 1–2, leaves on row 3)."""
    bottom = top
    for r in range(top + 1, min(top + 1 + depth, len(grid))):
        row = grid[r]
        texts = [fold(v) for v in row if fold(v) and not isinstance(v, (int, float))]
        if not texts:
            continue
        if any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row):
            break  # figures: the data begin
        if not all(_bare(x) in leaves or re.fullmatch(r"\(.*\)", x) for x in texts):
            break  # a unit, a note: not a header line
        bottom = r
    return bottom


def _header_paths(grid: Sequence[Sequence[Any]], top: int, bottom: int, width: int) -> dict[int, list[str]]:
    """Each sheet column's header as a path from the top row down (the header *tree*, read back).

    A label written once over several columns (merged, or typed once with blanks after) is carried right on its
    row, but only up to a column where a row above starts a label of its own (the edge of its parent); the leaf
    row is not carried.  Labels merged down (序号, 用户满意率（%）) leave blanks below them.  "组 / 栏" in one cell is
    two steps of the path."""
    own = {(r, c): fold(_cell(grid, r, c)) for r in range(top, bottom + 1) for c in range(width)}
    carried: dict[tuple[int, int], str] = {}
    for r in range(top, bottom + 1):
        for c in range(width):
            text = own[(r, c)]
            if not text and r < bottom and c > 0 and not any(own[(q, c)] for q in range(top, r)):
                text = carried.get((r, c - 1), "")
            carried[(r, c)] = text
    paths: dict[int, list[str]] = {}
    for c in range(width):
        path: list[str] = []
        for r in range(top, bottom + 1):
            for step in carried[(r, c)].split("/") if carried[(r, c)] else ():
                if step and (not path or path[-1] != step):
                    path.append(step)
        if path:
            paths[c] = path
    return paths


def _path_matches(path: list[str], group: str, leaf: str, col: Column) -> bool | str:
    """True when a column's header path reads as (group, leaf): the group at some step and the leaf in the steps
    below it (a leaf over two rows is joined: "面积" + "（万㎡）"), or "组栏" in one cell; for a column with no leaf,
    the group with nothing below it.  The printed unit when only the unit differs, else False."""
    # A label may itself hold a slash (附表6's "本季/年新注册项目"): steps a..i joined back are tried as the group too.
    spans = [(a, i) for i in range(len(path)) for a in range(i, -1, -1)]
    for a, i in spans:
        step = "/".join(path[a:i + 1])
        rest = "".join(path[i + 1:])
        if _same_group(step, group):
            if not leaf:
                if not rest:
                    return True
                continue
            if rest and _bare(rest) == _bare(leaf):
                printed, wanted = _unit_of(rest), _unit_of(leaf) or _unit_token(col)
                if printed and wanted and printed != wanted:
                    return printed
                return True
        elif leaf and not rest and _bare(step) == _bare(group + leaf):
            return True
    return False


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
    if ":" in text:  # "2、竣工工程：已通过竣工验收的工程。" — a sentence of the 填表说明; no unit name has a colon
        return "note"
    return "data"


