"""Check one returned workbook: identity, structure, values, derived cells, rules, 说明.

The verdict is the one the template's live 自查 sheet shows, because the rules
are the same spec evaluated by the Python runtime of the same expressions.  In
addition the checker sees what a template cannot: the signature, another
unit's or period's template, tampered structure, text that is not a number,
and overwritten formulas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtables.read import normalize
from qtables.check.findings import make
from qtables.template.identity import IDENTITY_SHEET, PROPERTY_PREFIX, Identity
from qtables.template.layout import TableLayout, a1
from qtables.template.lines import line_slots, line_values
from qtables.period import Period
from qtables.spec.model import Spec, Table
from qtables.read.workbook import RawWorkbook, ReadProblem, read_workbook
from qtables.template.derived import compute_derived, derived_reads_other_period
from qtables.template.rules import TableData, WorkbookData
from qtables.check.context import CheckContext, Report
from qtables.read.headers import find_header
from qtables.check.lifecycle import lifecycle_findings, own_keys
from qtables.check.periods import continuity_findings, other_period_notes
from qtables.check.structure import check_extra_sheets, check_structure
from qtables.check.values import check_derived, read_table
from qtables.check.verdicts import read_notes, rule_findings, rule_tables


def check_file(path: str | Path, ctx: CheckContext, *, data: bytes | None = None) -> Report:
    report = Report(file=str(path))
    try:
        book = read_workbook(path, data=data, limits=ctx.limits)
    except ReadProblem as problem:
        details = dict(problem.details)
        details.setdefault("name", Path(path).name)
        report.findings.append(make(problem.code, **details))
        return report
    report.format = book.format
    if book.has_macros:
        report.findings.append(make("M01"))
    try:
        _check_book(book, ctx, report)
    except ReadProblem as problem:
        details = dict(problem.details)
        details.setdefault("name", Path(path).name)
        report.findings.append(make(problem.code, **details))
    return report


# -- identity -----------------------------------------------------------


def _typed_anything(grid, layout: TableLayout) -> bool:
    """Whether the unit typed anything into the table (a blank template holds nothing but pre-filled 接转)."""
    cols = [layout.col(c.id) for c in layout.table.input_columns if not c.carry_from]  # 接转 may be pre-filled
    for r in range(layout.first_data, min(layout.last_data + 1, len(grid))):
        row = grid[r]
        if any(c < len(row) and row[c] not in (None, "") and str(row[c]).strip() for c in cols):
            return True
    return False


def recognise(book: RawWorkbook, spec: Spec) -> tuple[Table, str] | None:
    """A workbook that is not a template but whose headers are a 附表 (5, 7 or 6): (table, sheet)."""
    for tid in ("t5", "t7", "t6"):
        table = spec.table(tid)
        for name in book.sheet_names[:20]:
            try:
                rows = book.sheet(name).rows
            except ReadProblem:
                continue
            match = find_header(rows, table)
            values = [c for c in table.columns if c.type != "key"]
            if match is not None and len(match.columns) >= max(3, len(values) * 2 // 3):
                return table, name
    return None


def read_identity(book: RawWorkbook) -> tuple[Identity | None, Identity | None]:
    """(from the hidden sheet, from the document properties); either may be missing."""
    from_sheet = None
    if book.has_sheet(IDENTITY_SHEET):
        rows = book.sheet(IDENTITY_SHEET).rows
        pairs = {normalize.clean_text(r[0]): r[1] for r in rows[1:] if len(r) > 1 and r[0]}
        if pairs.get("template_id"):
            from_sheet = Identity.from_pairs(pairs)
    props = {k[len(PROPERTY_PREFIX):]: v for k, v in book.properties.items() if k.startswith(PROPERTY_PREFIX)}
    from_props = Identity.from_pairs(props) if props.get("template_id") else None
    return from_sheet, from_props


def _check_book(book: RawWorkbook, ctx: CheckContext, report: Report) -> None:
    spec = ctx.spec
    from_sheet, from_props = read_identity(book)
    identity = from_sheet or from_props
    if identity is None:
        recognised = recognise(book, ctx.spec)
        if recognised:
            table, sheet = recognised
            report.findings.append(make("F06", name=book.name, detail=table.name, found=sheet))
            report.recognised = table.id
        else:
            report.findings.append(make("F05", name=book.name))
        return
    report.identity = identity
    add = report.findings.append
    if from_sheet and from_props and from_sheet != from_props:
        diff = [k for (k, a), (_, b) in zip(from_sheet.as_pairs(), from_props.as_pairs()) if a != b]
        add(make("I05", detail="、".join(diff)))
    if not identity.verify(ctx.key):
        add(make("I01"))
    if identity.spec_version != spec.version:
        add(make("I04", expected=spec.version, found=identity.spec_version))
    try:
        unit = ctx.registry.unit(identity.unit_code)
    except Exception:  # noqa: BLE001 - an unknown code is a finding, not a crash
        add(make("I06", found=identity.unit_code))
        return
    try:
        period = Period.parse(identity.period)
    except Exception:  # noqa: BLE001
        add(make("I05", detail=f"报告期“{identity.period}”无法识别"))
        return
    report.unit, report.period = unit, period
    if ctx.expected_unit and ctx.expected_unit != unit.code:
        expected = ctx.registry.unit(ctx.expected_unit)
        add(make("I02", expected=f"{expected.name}（{expected.code}）", found=f"{unit.name}（{unit.code}）"))
    if ctx.expected_period and ctx.expected_period != period.code:
        add(make("I03", expected=Period.parse(ctx.expected_period).label, found=period.label))
    unknown = [t for t in identity.tables if t not in spec.tables]
    if unknown:
        add(make("I05", detail=f"未知的表 {','.join(unknown)}"))
        return

    capacities = identity.capacities
    layouts = {t: TableLayout.for_unit(spec.table(t), unit, capacities.get(t)) for t in identity.tables}
    broken = check_structure(book, layouts, report)
    check_extra_sheets(book, layouts, report)
    signature_lines(book, {t: lay for t, lay in layouts.items() if t not in broken}, report)

    tables: dict[str, TableData] = {}
    raw_tables: dict[str, TableData] = {}
    cached: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {}
    retyped = False
    for tid, layout in layouts.items():
        if tid in broken:
            continue
        sheet = book.sheet(layout.sheet)
        got = read_table(sheet, layout, spec, report)
        tables[tid] = TableData(layout, got.rows, known_empty=got.empty, stated=got.total)
        raw_tables[tid] = TableData(layout, got.raw_rows, known_empty=got.empty)
        cached[tid] = (got.derived_rows, got.total)
        retyped = retyped or got.retyped
    if tables and not broken and not any(_typed_anything(book.sheet(lay.sheet).rows, lay) for lay in layouts.values()):
        report.findings.append(make("N00"))
        report.data = WorkbookData(spec, period, tables)
        return
    keyed = next((t for t in identity.tables if spec.table(t).kind == "keyed"), None)
    previous = ctx.previous_for(unit, period, keyed) if keyed else None
    quarters = ctx.quarters_for(unit, period) if keyed else None
    prev_tables = previous.tables if previous else None
    data = WorkbookData(spec, period, tables, previous=prev_tables, quarters=quarters.tables if quarters else None)
    # Formula cells are compared with what the template's formulas give on the
    # file's own raw values (Excel ignores text in SUM); the rules use the
    # leniently normalized values.  Rows normalization left alone are shared by
    # the two, so the as-typed pass runs first.  (Where normalization changed
    # nothing and no formula reads another period, the two are one computation.)
    if retyped or derived_reads_other_period(spec):
        as_typed = WorkbookData(spec, period, raw_tables, previous=prev_tables)
        compute_derived(as_typed)
        check_derived(as_typed, cached, report)
        compute_derived(data)
    else:
        compute_derived(data)
        check_derived(data, cached, report)
    report.data = data
    report.previous = previous
    report.quarters = quarters

    set_names = [period.kind] + (["scoring"] if any(spec.table(t).kind == "scoring" for t in identity.tables) else [])
    rules = [r for r in spec.rules_for(set_names, [t for t in identity.tables if t not in broken]) if rule_tables(r, spec) <= set(tables)]
    notes = read_notes(book, spec)
    sources = {"previous": previous.source if previous else "", "quarters": "、".join(quarters.sources) if quarters else ""}
    rule_findings(rules, data, notes, report, sources)
    _one_problem_once(report)
    if keyed not in broken:
        other_period_notes(report, data, keyed, previous, quarters, lookup_known=ctx.lookup is not None)
    continuity_findings(spec, data, previous, report)
    if spec.continuity and {spec.continuity["ongoing"], spec.continuity["completed"]} <= set(tables):
        report.projects = frozenset(own_keys(spec, data))
        report.history = ctx.projects_for(unit, period, report.projects)
        lifecycle_findings(spec, data, report.history, report, ctx.registry, unit)


def signature_lines(book: RawWorkbook, layouts: dict[str, TableLayout], report: Report) -> None:
    """The lines under a table (统计员、批准人、报送日期; 附表2 填表人…) left blank: one N04 note per table, at the
    first blank value cell (a note, not a problem: the figures are checked all the same)."""
    for layout in layouts.values():
        items = layout.table.bottom_line
        if not items:
            continue
        sheet = book.sheet(layout.sheet)
        slots = line_slots(layout, items, with_period=False)
        typed = line_values(sheet.get, layout.bottom_row, layout.ncols, items, slots)
        blank = [(label, col) for label, (value, col) in typed.items() if normalize.clean_text(value) is None]
        if blank:
            report.findings.append(make("N04", table=layout.table.name, sheet=layout.sheet,
                                        cell=a1(layout.bottom_row, blank[0][1], abs_row=False, abs_col=False),
                                        detail="、".join(f"“{label}”" for label, _c in blank)))


def _one_problem_once(report: Report) -> None:
    """A 合计 typed over is one problem: D01 names each overwritten cell, so V07 (the 自查's view of it, which names
    the table) is not listed again beside it."""
    overwritten = {f.table for f in report.findings if f.code == "D01"}
    report.findings[:] = [f for f in report.findings if not (f.code == "V07" and f.table in overwritten)]


# -- structure ----------------------------------------------------------


# -- values -------------------------------------------------------------


# -- rules and 说明 ------------------------------------------------------


