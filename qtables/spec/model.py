"""The spec as plain objects: tables, columns, rows, rules and choice lists.

Loaded and validated by ``qtables.spec.loader``; everything downstream (the
template writer, the reader, the checker, the merge) reads these objects and
never the JSON directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from qtables.spec.expr import Node

SEVERITY_TEXT = {"E": "强制性", "W": "核实性"}
PERIOD_KIND_TEXT = {"quarter": "季报", "year": "年报", "scoring": "考核评分"}


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Column:
    id: str
    header: tuple[str, ...]
    type: str
    role: str | None = None
    unit: str | None = None
    decimals: int | None = None
    required: bool = False
    blank: str = "missing"
    min: float | None = None
    max: float | None = None
    choices: str | None = None
    strict: bool = True
    formula: Node | None = None
    formula_text: str | None = None
    total: str | None = None
    total_formula: Node | None = None
    total_formula_text: str | None = None
    carry_from: str | None = None
    width: float | None = None
    aliases: tuple[str, ...] = ()  # other printed forms, "group / leaf"

    @property
    def is_numeric(self) -> bool:
        return self.type in ("integer", "decimal", "percent")

    @property
    def is_derived(self) -> bool:
        return self.formula is not None or self.role == "subtotal"

    @property
    def is_input(self) -> bool:
        """A cell the submitter types into (unlocked in the template)."""
        return self.type != "key" and not self.is_derived

    @property
    def label(self) -> str:
        """The header as one line, e.g. “本季度在建工程 / 项数”."""
        return " / ".join(h.replace("\n", "") for h in self.header)


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    scope: str  # "row" or "table"
    table: str
    target: str
    assertion: Node
    assertion_text: str
    message: str
    when: Node | None = None
    when_text: str | None = None
    found: Node | None = None
    expected: Node | None = None
    needs: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    pointer: str = ""

    @property
    def severity_text(self) -> str:
        return SEVERITY_TEXT[self.severity]


@dataclass(frozen=True)
class ScoringItem:
    key: str
    label: str
    standard: str
    points: float
    group_no: int
    group_label: str
    stated_points: float | None = None
    not_for: str | None = None  # "no_counties": 不适用 to a unit with no 县（市） under it (省直管县, 济源)


@dataclass(frozen=True)
class ScoringGroup:
    no: int
    label: str
    points: float
    items: tuple[ScoringItem, ...]


@dataclass(frozen=True)
class FixedRow:
    key: str
    label: str


INSTRUCTIONS_LABEL = "填报提示（qtables，非制度原文）："


@dataclass
class Table:
    id: str
    name: str
    sheet: str
    title: str
    kind: str  # records | keyed | categories | scoring
    periods: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: list[Rule]
    capacity: int = 0
    row_source: str | None = None
    fixed_rows: tuple[FixedRow, ...] = ()
    groups: tuple[ScoringGroup, ...] = ()
    total_label: str | None = None
    top_line: tuple[str, ...] = ()
    bottom_line: tuple[str, ...] = ()
    notes: str = ""  # the 办法's own notes under the table, verbatim
    schedule: str = ""  # when and by whom the form is filled, quoted from the 办法 (scoring forms)
    instructions: str = ""  # qtables' own instructions (not the 办法's text)

    @property
    def printed_notes(self) -> str:
        """The text under the table: the 办法's notes, then qtables' instructions marked as such, then the schedule."""
        parts = [self.notes, f"{INSTRUCTIONS_LABEL}{self.instructions}" if self.instructions else "", self.schedule]
        return "\n".join(p for p in parts if p)
    source_file: str = ""
    _by_id: dict[str, Column] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {c.id: c for c in self.columns}

    def column(self, column_id: str) -> Column:
        return self._by_id[column_id]

    def has_column(self, column_id: str) -> bool:
        return column_id in self._by_id

    @cached_property
    def input_columns(self) -> list[Column]:
        return [c for c in self.columns if c.is_input]

    @cached_property
    def input_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.input_columns)

    @cached_property
    def header_depth(self) -> int:
        return max(len(c.header) for c in self.columns)

    @property
    def has_total(self) -> bool:
        return self.total_label is not None or self.kind == "scoring"

    @property
    def scoring_items(self) -> list[ScoringItem]:
        return [item for g in self.groups for item in g.items]


@dataclass
class Spec:
    version: str
    title: str
    tables: dict[str, Table]
    sets: dict[str, tuple[str, ...]]
    choices: dict[str, Choice]
    workbook_rules: list[Rule]
    warnings: list[str]
    raw_digest: str = ""
    continuity: dict[str, Any] | None = None  # project continuity across periods (spec.json "continuity")
    deadlines: dict[str, Any] = field(default_factory=dict)  # the 办法's dates (spec.json "deadlines")
    materials: list[dict[str, Any]] = field(default_factory=list)  # required beside the tables (the 分析报告)
    quality_index: dict[str, Any] | None = None  # 质量指数 (第七条), qtables' own definition (spec.json "quality_index")
    deviations: list[dict[str, str]] = field(default_factory=list)  # where the spec departs from the 办法, and why
    form: dict[str, Any] = field(default_factory=dict)  # 表号, 制定机关 … printed above each table (spec.json "form")

    def table(self, table_id: str) -> Table:
        return self.tables[table_id]

    def tables_in(self, set_names: list[str]) -> list[Table]:
        ids: list[str] = []
        for name in set_names:
            for tid in self.sets[name]:
                if tid not in ids:
                    ids.append(tid)
        return [self.tables[t] for t in ids]

    def rules_for(self, set_names: list[str], table_ids: list[str]) -> list[Rule]:
        """Every rule that applies to a workbook holding these tables, in a stable order."""
        present = set(table_ids)
        out: list[Rule] = []
        for tid in table_ids:
            # a table used in both periods may have rules for one of them (附表6's annual = Σ quarters: year only)
            out.extend(r for r in self.tables[tid].rules if not r.sets or set(r.sets) & set(set_names))
        for rule in self.workbook_rules:
            if set(rule.sets) & set(set_names) and rule.table in present:
                out.append(rule)
        return out

    def as_dict(self) -> dict[str, Any]:  # pragma: no cover - debugging aid
        return {"version": self.version, "tables": list(self.tables)}
