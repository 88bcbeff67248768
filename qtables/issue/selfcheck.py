"""Compile the spec's rules to Excel: the hidden _checks sheet and the visible 自查 sheet.

Every rule that Excel can evaluate becomes one helper column on ``_checks``:
one cell per data row (row rules) or a single cell (table rules), holding 1
when the rule holds and 0 when it does not — ``IFERROR(IF(when, --(assert),
1), 0)``, the same pass/fail the Python runtime gives (an error is a failure).
The 自查 sheet counts the zeros, names the first offending cell, and has an
unlocked 说明 cell per rule; conditional formatting on the table sheets reads
the same helper cells, so the sheet and the marks can never disagree.

The helper is kept as small as the rules allow, since it travels in every
mail, archive and receipt and is recalculated on every edit: a row rule's
column is one shared formula (written once, its rows relative; every engine
expands it), and whether a row holds any input — ``rowfilled()``, asked by
most row rules and an array formula in Gnumeric — is one column per table
that the rules read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qtables.template.layout import TableLayout, a1, quote_sheet
from qtables.period import Period
from qtables.template.rules import Result, quarter_names
from qtables.spec import expr
from qtables.spec.expr import Ref
from qtables.spec.model import Rule
from qtables.template.names import CHECK_SHEET

_SENTINEL_ROW = 1048000  # a row no table reaches; replaced by the real row number


def prev_sheet(table_id: str) -> str:
    return f"_prev_{table_id}"


def quarters_sheet(table_id: str) -> str:
    return f"_quarters_{table_id}"


@dataclass
class ExcelContext:
    layouts: dict[str, TableLayout]
    period: Period
    has_previous: bool
    known_tables: frozenset[str] = frozenset()  # every table id of the spec
    quarter_names: tuple[str, ...] = ()  # q.* values carried on the hidden _quarters_ sheet (annual templates)
    filled_cols: dict[str, int] = field(default_factory=dict)  # table id -> its row-filled column on _checks
    keyed: str | None = None  # the table whose other periods the hidden _prev_/_quarters_ sheets carry (附表5/附表7)

    def resolver(self, table_id: str, row: int | None, mode: str, home: str | None = None) -> expr.Resolver:
        """Reference resolver for formulas about ``table_id`` at sheet ``row``.

        ``mode`` is "row" (a data row), "total" (the total row) or "table".
        References to ``home`` (the sheet the formula is written on) are left
        unqualified so users can read them.
        """
        own = self.layouts[table_id]

        def qual(layout: TableLayout) -> bool:
            return layout.sheet != home

        def resolve(ref: Ref, as_range: bool) -> str:
            p = ref.parts
            if len(p) == 1:
                if as_range:
                    return own.column_range(p[0], sheet=qual(own))
                if mode == "row":
                    return own.ref(row, p[0], sheet=qual(own))  # type: ignore[arg-type]
                if mode == "total":
                    return own.ref(own.total_row, p[0], sheet=qual(own))  # type: ignore[arg-type]
                raise expr.ExpressionError(f"表级规则不能直接引用列 {p[0]}")
            if p[0] in ("total", "stated"):  # on the sheet the 合计 cell is what it states
                return own.ref(own.total_row, p[1], sheet=qual(own))  # type: ignore[arg-type]
            if p[0] == "period":
                d = self.period.start if p[1] == "start" else self.period.end
                return f"DATE({d.year},{d.month},{d.day})"
            if p[0] == "prev":
                if mode != "row" or not self.has_previous:
                    raise expr.ExpressionError("没有上期数据")
                return f"{quote_sheet(prev_sheet(table_id))}!{a1(row, own.col(p[1]))}"  # type: ignore[arg-type]
            if p[0] == "q":
                if mode != "row" or p[1] not in self.quarter_names:
                    raise expr.ExpressionError("各季度数据只在省级审核时可用")
                return f"{quote_sheet(quarters_sheet(table_id))}!{a1(row, self.quarter_names.index(p[1]) + 1)}"  # type: ignore[arg-type]
            other = self.layouts.get(p[0])
            if other is None:
                raise expr.ExpressionError(f"本工作簿没有表 {p[0]}")
            if len(p) == 2:
                return other.column_range(p[1], sheet=qual(other))
            if p[1] == "total":
                return other.ref(other.total_row, p[2], sheet=qual(other))  # type: ignore[arg-type]
            if p[1] == "own":
                if other.own_key is None:
                    return "0"
                return other.ref(other.row_of(other.own_key), p[2], sheet=qual(other))
            return other.ref(other.row_of(p[1]), p[2], sheet=qual(other))

        return resolve

    def compile(self, node: expr.Node, table_id: str, row: int | None, mode: str, home: str | None = None) -> str:
        own = self.layouts[table_id]
        row_range = own.row_input_range(row, sheet=own.sheet != home) if mode == "row" else None
        row_number = str(row - own.first_data + 1) if mode == "row" and row is not None else None
        filled_col = self.filled_cols.get(table_id) if home == CHECK_SHEET and mode == "row" else None
        row_filled = a1(row, filled_col) if filled_col is not None and row is not None else None
        return expr.to_excel(node, self.resolver(table_id, row, mode, home), row_range=row_range, row_number=row_number,
                             row_filled=row_filled)

    def row_filled_formula(self, table_id: str, row: int) -> str:
        """The helper cell ``rowfilled()`` reads on _checks: 1 when the row has any input, else 0."""
        own = self.layouts[table_id]
        return f"=IF(SUMPRODUCT(--(LEN(TRIM({own.row_input_range(row)}))>0))>0,1,0)"

    def rule_cell_formula(self, rule: Rule, row: int | None) -> str:
        """The helper-cell formula: 1 when the rule holds, 0 when it does not."""
        mode = "row" if rule.scope == "row" else "table"
        assertion = self.compile(rule.assertion, rule.table, row, mode, home=CHECK_SHEET)
        if rule.when is None:
            return f"=IFERROR(IF({assertion},1,0),0)"
        when = self.compile(rule.when, rule.table, row, mode, home=CHECK_SHEET)
        return f"=IFERROR(IF({when},IF({assertion},1,0),1),0)"

    def rule_cell_formulas(self, rule: Rule, rows: range) -> list[str]:
        """Helper formulas for many rows: compiled once with a sentinel row, then renumbered."""
        if self._uses_rownum(rule):
            return [self.rule_cell_formula(rule, r) for r in rows]
        sentinel = f"${_SENTINEL_ROW + 1}"
        template = self.rule_cell_formula(rule, _SENTINEL_ROW)
        if template.count(sentinel) == 0 and len(rows) > 0:
            return [template for _ in rows]
        return [template.replace(sentinel, f"${r + 1}") for r in rows]

    def shared_rule_formula(self, rule: Rule, first_row: int) -> str | None:
        """The helper formula of a row rule's first row with its own row's references relative (``$E5``, not
        ``$E$5``), to be shared down the column — the formula every later row would get renumbered, since
        each row's references are to that same row.  None when the rows differ otherwise (``rownum()``)."""
        if self._uses_rownum(rule):
            return None
        return self.rule_cell_formula(rule, _SENTINEL_ROW).replace(f"${_SENTINEL_ROW + 1}", str(first_row + 1))

    @staticmethod
    def _uses_rownum(rule: Rule) -> bool:
        return any(expr.uses_function(n, "rownum") for n in (rule.assertion, rule.when) if n is not None)

    def compilable(self, rule: Rule) -> str | None:
        """None if Excel can evaluate the rule here, else why not (in Chinese)."""
        if ("quarters" in rule.needs or "previous" in rule.needs) and rule.table != self.keyed:
            return "需要其他报告期的本表数据，由汇总单位审核"  # the hidden sheets carry 附表5/附表7 only
        if "quarters" in rule.needs and not self.quarter_names:
            return "需要四个季度的数据，由汇总单位审核"
        if "quarters" in rule.needs and not quarter_names(rule) <= set(self.quarter_names):
            # all four quarters give sum_*, q4_*; some of them give part_* (the bounds): one set or the other runs
            return ("各季度数据齐全，由“等于四季之和”的规则核对" if any(n.startswith("sum_") for n in self.quarter_names)
                    else "第四季度尚未报送，由汇总单位在收到后核对")
        if "previous" in rule.needs and not self.has_previous:
            return "本模板未预填上期数据，由汇总单位审核时核对"
        if rule.table not in self.layouts:
            return "所涉表格不在本工作簿中"
        for ref, _ in expr.refs(rule.assertion):
            if ref.parts[0] in self.known_tables and ref.parts[0] not in self.layouts:
                return "所涉表格不在本工作簿中"
        return None


@dataclass(frozen=True)
class CheckColumn:
    """Where a rule's helper cells live on _checks."""

    rule: Rule
    col: int
    first_row: int  # sheet row of the first helper cell
    last_row: int

    @property
    def range(self) -> str:
        return f"{quote_sheet(CHECK_SHEET)}!{a1(self.first_row, self.col)}:{a1(self.last_row, self.col)}"


def summarize(results: list[Result]) -> dict[str, tuple[int, int | None]]:
    """Per rule code+table+target: (number of failures, first failing row index)."""
    out: dict[str, tuple[int, int | None]] = {}
    for r in results:
        key = rule_key(r.rule)
        fails, first = out.get(key, (0, None))
        if r.status == "fail":
            fails += 1
            if first is None:
                first = r.row
        out[key] = (fails, first)
    return out


def rule_key(rule: Rule) -> str:
    return f"{rule.table}:{rule.code}:{rule.target}"
