"""Issued workbooks, opened with openpyxl: protection, inputs, identity, validations, print setup."""

from __future__ import annotations

import openpyxl

from qtables.template.identity import IDENTITY_SHEET, PROPERTY_PREFIX, Identity
from qtables.template.names import NOTE_COL, SELF_CHECK_HEADER_ROW, SELF_CHECK_SHEET
from qtables.issue.tables import line_slots
from qtables.template.names import tables_for
from qtables.template.layout import TableLayout
from qtables.issue.run import issue_templates
from qtables.period import Period


def _expected_unlocked(spec, unit, period, scoring=False) -> dict[str, set[tuple[int, int]]]:
    """Every cell a unit may type into, per sheet (1-based row, col), derived from the layout."""
    set_names, table_ids = tables_for(spec, period, scoring=scoring)
    out: dict[str, set[tuple[int, int]]] = {}
    n_rules = len(spec.rules_for(set_names, table_ids))
    out[SELF_CHECK_SHEET] = {(SELF_CHECK_HEADER_ROW + 2 + i, NOTE_COL + 1) for i in range(n_rules)}
    for tid in table_ids:
        layout = TableLayout.for_unit(spec.table(tid), unit)
        cells = set()
        for col in layout.table.input_columns:
            for r in range(layout.first_data, layout.last_data + 1):
                if not layout.rows[r - layout.first_data].applicable:
                    continue  # a scoring item the unit cannot earn: 不适用, locked at 0
                cells.add((r + 1, layout.col(col.id) + 1))
        for row, items, top in ((2, layout.table.top_line, True), (layout.bottom_row, layout.table.bottom_line, False)):
            for i, slot in enumerate(line_slots(layout, items, with_period=top)):
                if top and (i == 0 or i == len(items)):
                    continue  # unit name and period are pre-filled and locked
                for c in range(slot[2], slot[3] + 1):
                    cells.add((row + 1, c + 1))
        out[layout.sheet] = cells
    return out


def _unlocked(ws) -> set[tuple[int, int]]:
    return {(c.row, c.column) for row in ws.iter_rows() for c in row if c.protection.locked is False}


def test_quarter_issues_one_workbook_per_unit(quarter_templates):
    assert len(quarter_templates) == 28
    assert len({i.path.name for i in quarter_templates}) == 28
    assert {i.unit.kind for i in quarter_templates} == {"city", "direct_county"}


def _assert_validations(wb, layout):
    ws = wb[layout.sheet]
    validations = ws.data_validations.dataValidation
    for col in layout.table.input_columns:
        if layout.table.kind == "scoring":
            continue  # one validation per item row (its own 分值), checked in the annual test
        rng = layout.column_range(col.id, sheet=False).replace("$", "")
        if len(layout.rows) == 1:
            rng = rng.split(":")[0]  # a one-row range is written as a single cell
        matching = [dv for dv in validations if rng in str(dv.sqref).split()]
        assert matching, f"{layout.sheet} {col.id} has no validation"
        dv = matching[0]
        assert dv.promptTitle and dv.prompt and dv.errorTitle and dv.error
        expected_type = {"integer": "whole", "decimal": "decimal", "percent": "decimal", "date": "date",
                         "choice": "list", "text": "textLength"}[col.type]
        assert dv.type == expected_type, (layout.sheet, col.id)
        if col.type == "choice":
            assert dv.formula1 == f"qt_list_{col.choices}"


def _assert_print_setup(wb, layout):
    ws = wb[layout.sheet]
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.paperSize in (9, "9")
    # Printed at a readable scale (10 pt type never below 7 pt), not shrunk to one page wide; numbered per sheet.
    assert not ws.sheet_properties.pageSetUpPr or not ws.sheet_properties.pageSetUpPr.fitToPage
    assert 70 <= int(ws.page_setup.scale or 100) <= 100
    assert ws.oddFooter.center.text.startswith("&A") and ws.page_setup.useFirstPageNumber
    assert ws.print_title_rows == f"$4:${layout.first_data}"


def test_every_issued_workbook_is_locked_identified_validated_and_print_ready(quarter_templates, annual_templates, scoring_templates,
                                                                             spec, workspace):
    checked = 0
    # Every annual and scoring workbook, and the quarterly ones of every other unit (a quarterly workbook takes
    # openpyxl ~0.7 s to load; both kinds of unit are among them).
    for issued, period, scoring in ([(i, "2025Q3", False) for i in quarter_templates[::2]] + [(i, "2025", False) for i in annual_templates]
                                    + [(i, "2025", True) for i in scoring_templates]):
        p = Period.parse(period)
        wb = openpyxl.load_workbook(issued.path)
        expected = _expected_unlocked(spec, issued.unit, p, scoring=scoring)
        for ws in wb.worksheets:
            assert ws.protection.sheet and ws.protection.password, f"{issued.path.name}: {ws.title} is not protected"
            assert ws.protection.insertRows and ws.protection.deleteRows and ws.protection.deleteColumns  # True = forbidden
            assert _unlocked(ws) == expected.get(ws.title, set()), f"{issued.path.name}: {ws.title}"
        props = {q.name[len(PROPERTY_PREFIX):]: q.value for q in wb.custom_doc_props.props if q.name.startswith(PROPERTY_PREFIX)}
        ident = Identity.from_pairs(props)
        from_sheet = Identity.from_pairs({r[0]: r[1] for r in wb[IDENTITY_SHEET].iter_rows(min_row=2, values_only=True) if r[0]})
        assert ident == from_sheet and ident.verify(workspace.signing_key)
        assert (ident.unit_code, ident.period) == (issued.unit.code, period)
        set_names, table_ids = tables_for(spec, p, scoring=scoring)
        assert list(ident.tables) == table_ids
        for tid in table_ids:
            layout = TableLayout.for_unit(spec.table(tid), issued.unit)
            _assert_validations(wb, layout)
            _assert_print_setup(wb, layout)
        checked += 1
    assert checked == 45


def test_printed_labels_are_whole_and_their_rows_tall_enough(quarter_templates, spec):
    """Row labels: no word broken by the 办法's narrow-cell line breaks (钢结构/工程), each row as tall as its
    wrapped label; a label too long for one line breaks before its bracket.  Top and bottom line labels:
    as wide as their text, or shrunk to fit (never cut at the page's left edge)."""
    from qtables.issue.tables import column_width, label_need, line_slots
    from qtables.template.layout import lines_needed

    issued = quarter_templates[0]
    wb = openpyxl.load_workbook(issued.path)
    seen = 0
    for tid in tables_for(spec, Period.parse("2025Q3"))[1]:
        layout = TableLayout.for_unit(spec.table(tid), issued.unit)
        ws = wb[layout.sheet]
        widths = [column_width(c) for c in layout.table.columns]
        label_col = next((i for i, c in enumerate(layout.table.columns) if c.role == "label"), None)
        if layout.table.kind in ("keyed", "categories") and label_col is not None:
            for i, row in enumerate(layout.rows):
                text = ws.cell(row=layout.first_data + i + 1, column=label_col + 1).value
                assert text.replace("\n", "") == row.label.replace("\n", "")
                lines = lines_needed(text, widths[label_col])
                assert all(lines_needed(part, widths[label_col]) == 1 for part in text.split("\n")) or "\n" not in text
                assert ws.row_dimensions[layout.first_data + i + 1].height >= 16 * lines, (tid, text)
                seen += 1
        for row, items, top in ((2, layout.table.top_line, True), (layout.bottom_row, layout.table.bottom_line, False)):
            labels = list(items) + (["报告期"] if top else [])
            for label, (first, last, _v0, _v1) in zip(labels, line_slots(layout, items, with_period=top)):
                cell = ws.cell(row=row + 1, column=first + 1)
                assert cell.value == f"{label}："
                assert sum(widths[first:last + 1]) >= label_need(label) or cell.alignment.shrink_to_fit, (tid, label)
    assert seen > 10  # 附表5's units and 附表6's categories
    t6 = TableLayout.for_unit(spec.table("t6"), issued.unit)
    labels = [wb[t6.sheet].cell(row=t6.first_data + i + 1, column=1).value for i in range(len(t6.rows))]
    assert "钢结构工程" in labels and "县（区）工程" in labels and "大型公共建筑工程\n（2万平方米以上）" in labels


def test_scoring_forms_are_the_assessment_groups_not_in_the_units_annual_set(annual_templates, scoring_templates, spec):
    """附件2 三：“各省辖市、省直管县（市）住房城乡建设主管部门……于11月30日前将全年活动情况书面上报……省厅成立考核组，
    在12月份……按照《考核评分表》……计分”；附件3 五：“次年第一季度对本年度工作情况进行考核”。

    The unit's annual workbook (due 12月20日) holds 附表6–7 only; the scoring forms are a workbook of their own per
    assessed unit, carrying the 办法's dates, and the 带班制度 row says that its text reads 5 points where 分值 is 4."""
    annual = openpyxl.load_workbook(annual_templates[0].path)
    assert [ws.title for ws in annual.worksheets if ws.sheet_state == "visible"] == ["填表说明", "附表6", "附表7", "自查"]
    issued = scoring_templates[0]
    assert issued.path.name == f"2025_{issued.unit.code}_{issued.unit.name}_考核评分表.xlsx"
    wb = openpyxl.load_workbook(issued.path)
    assert [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"] == [
        "填表说明", "考核评分表（附件2）", "考核评分表（附件3）", "自查"]
    expected = _expected_unlocked(spec, issued.unit, Period.parse("2025"), scoring=True)
    for ws in wb.worksheets:
        assert _unlocked(ws) == expected.get(ws.title, set()), ws.title
    scoring = wb["考核评分表（附件2）"]
    assert scoring["E6"].value == 5  # 总体工作 分值
    cells = [str(c.value) for row in scoring.iter_rows() for c in row if c.value]
    on_duty = next(t for t in cells if t.startswith("企业负责人、项目负责人落实带班制度"))
    assert "记5分" in on_duty and "分值栏为4分" in on_duty and "按分值栏4分评分" in on_duty and "min(4，5 − 扣分)" in on_duty
    assert any("11月30日前" in t and "12月份" in t for t in cells)
    s3_cells = [str(c.value) for row in wb["考核评分表（附件3）"].iter_rows() for c in row if c.value]
    assert any("次年第一季度" in t for t in s3_cells)


def test_a_forged_or_foreign_identity_does_not_verify(quarter_templates, workspace):
    for issued in quarter_templates[:3]:
        wb = openpyxl.load_workbook(issued.path)
        props = {p.name[len(PROPERTY_PREFIX):]: p.value for p in wb.custom_doc_props.props if p.name.startswith(PROPERTY_PREFIX)}
        ident = Identity.from_pairs(props)
        sheet = wb[IDENTITY_SHEET]
        assert sheet.sheet_state == "hidden"
        from_sheet = Identity.from_pairs({r[0]: r[1] for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]})
        assert ident == from_sheet
        assert ident.unit_code == issued.unit.code and ident.period == "2025Q3"
        assert ident.tables == ("t1", "t2", "t3", "t4", "t5", "t6")
        assert ident.verify(workspace.signing_key)
        assert not ident.verify(b"another workspace key")
        other = "410200" if issued.unit.code != "410200" else "410100"
        forged = Identity.from_pairs(dict(props, unit_code=other))
        assert not forged.verify(workspace.signing_key)


def test_choice_lists_are_defined_names(quarter_templates):
    wb = openpyxl.load_workbook(quarter_templates[0].path)
    for name in ("qt_list_structure_type", "qt_list_acceptance_conclusion", "qt_list_filing_conclusion", "qt_list_progress"):
        assert name in wb.defined_names


def test_derived_cells_are_formulas_and_locked(quarter_templates, spec):
    issued = quarter_templates[0]
    wb = openpyxl.load_workbook(issued.path)
    layout = TableLayout.for_unit(spec.table("t5"), issued.unit)
    ws = wb[layout.sheet]
    rate = ws.cell(row=layout.first_data + 1, column=layout.col("filing_rate_count") + 1)
    assert rate.value.startswith("=IF(") and rate.protection.locked
    total = ws.cell(row=layout.total_row + 1, column=layout.col("new_count") + 1)
    assert total.value == f"=SUM({layout.column_range('new_count', sheet=False)})"
    satisfaction_total = ws.cell(row=layout.total_row + 1, column=layout.col("satisfaction_rate") + 1)
    assert "SUMPRODUCT" in satisfaction_total.value  # weighted by 备案项数, never a mean of ratios
    label = ws.cell(row=layout.first_data + 1, column=layout.col("area_name") + 1)
    assert label.value == "市本级" and label.protection.locked
    # The table prints two pages wide with its two label columns repeated: the line keeps out of them, so
    # 填表单位 is not printed again on the second page.
    [label_col] = [c for c in range(1, layout.ncols + 1) if str(ws.cell(row=3, column=c).value or "").startswith("填表单位")]
    assert label_col == 3 and ws.print_title_cols == "$A:$B"


def test_previous_period_prefills_and_locks_carried_over(workspace, spec, tmp_path):
    from qtables.issue.run import issue_templates

    unit = workspace.registry.unit("410181")

    def previous(u, period, table_id):
        assert period.code == "2025Q3" and table_id == "t5"
        return {u.code: {"ucon_count": 7, "ucon_area": 12.5, "ucon_cost": 30000.0}}, "接转已按测试数据预填并锁定。", 7

    [issued] = issue_templates(workspace, period=Period.parse("2025Q3"), out_dir=tmp_path, unit_codes=[unit.code], previous=previous)
    wb = openpyxl.load_workbook(issued.path)
    layout = TableLayout.for_unit(spec.table("t5"), unit)
    cell = wb[layout.sheet].cell(row=layout.first_data + 1, column=layout.col("carried_count") + 1)
    assert cell.value == 7 and cell.protection.locked
    assert "_prev_t5" in wb.sheetnames and wb["_prev_t5"].sheet_state == "hidden"
    codes = [r[1] for r in wb[SELF_CHECK_SHEET].iter_rows(min_row=SELF_CHECK_HEADER_ROW + 2, values_only=True)]
    assert "T5-P1" in codes
    helper_row = wb[SELF_CHECK_SHEET].cell(row=SELF_CHECK_HEADER_ROW + 2 + codes.index("T5-P1"), column=7).value
    assert helper_row.startswith("=COUNTIF(")  # compiled, not “—”


def test_issuing_over_processes_writes_the_same_workbooks(workspace, tmp_path, monkeypatch):
    """`issue` shares a batch of units out over processes (28 units within 15 s on two cores); the files are the
    ones one process writes, byte for byte, and the progress callback hears of every unit."""
    units = [u.code for u in workspace.registry.units[:8]]
    monkeypatch.setenv("QTABLES_WORKERS", "1")
    one = issue_templates(workspace, period=Period.parse("2025Q3"), out_dir=tmp_path / "one", unit_codes=units)
    monkeypatch.setenv("QTABLES_WORKERS", "2")
    heard = []
    many = issue_templates(workspace, period=Period.parse("2025Q3"), out_dir=tmp_path / "many", unit_codes=units,
                           progress=lambda u: heard.append(u.code))
    assert sorted(heard) == sorted(units) and [i.unit.code for i in many] == units
    for a, b in zip(one, many):
        assert a.path.name == b.path.name and a.template_id == b.template_id
        assert a.path.read_bytes() == b.path.read_bytes(), a.path.name


def test_a_scoring_item_a_unit_cannot_earn_is_marked_not_applicable_and_not_counted(spec, workspace, scoring_templates, tmp_path):
    """层级检查 (附件2) and 层级监督考核 (附件3) score a unit's checks of its 县（市）: 济源 has none — the row says 不适用,
    its 分值 and 得分 are 0 and locked, the 合计分值 is 98 (97), and a filled form passes check; 郑州市's is scored."""
    from builders import layouts_for
    from qtables.check.checker import check_file
    from qtables.check.context import CheckContext
    from qtables.issue.workbook import IssueRequest, build_workbook

    by_unit = {t.unit.code: openpyxl.load_workbook(t.path) for t in scoring_templates}
    for code, wb in by_unit.items():
        ws = wb["考核评分表（附件2）"]
        row = next(r for r in ws.iter_rows() if any(c.value == "层级检查" for c in r))
        texts = " ".join(str(c.value) for c in row if c.value)
        points = next(c for c in row if isinstance(c.value, (int, float)) and getattr(c, "column", 0) > 3)
        if code == "419001":
            assert "不适用" in texts and points.value == 0 and "满分相应减少2分" in texts
        else:
            assert "不适用" not in texts and points.value == 2
    unit = workspace.registry.unit("419001")
    period = Period.parse("2025")
    set_names, table_ids, layouts = layouts_for(spec, unit, period, scoring=True)
    values = {lay.table.id: [{"score": r.points} for r in lay.rows] for lay in layouts}  # full marks where it can
    path = tmp_path / "济源_评分.xlsx"
    build_workbook(path, spec=spec, request=IssueRequest(unit, period, table_ids, set_names, values=values),
                   key=workspace.signing_key, password="pw")
    report = check_file(path, CheckContext(spec, workspace.registry, workspace.signing_key))
    assert report.status == "accepted", [(f.code, f.message) for f in report.findings]
    s2 = report.data.tables["s2"]
    assert s2.total["points"] == 98 and s2.total["score"] == 98


def test_every_header_line_the_spec_breaks_by_hand_fits_its_columns(spec, workspace):
    """A header written with its own line breaks (市、县\n（市）\n序号) is printed as written, so each of its lines must
    fit the columns under it, or Excel breaks it again inside a bracket (（市\n）, as the 附表5 序号 once printed)."""
    from qtables.template.lines import column_width

    unit = workspace.registry.unit("410100")
    tight = []
    for table in spec.tables.values():
        widths = [column_width(c) for c in table.columns]
        for _r0, c0, _r1, c1, text in TableLayout.for_unit(table, unit).header_cells():
            for line in text.split("\n") if "\n" in text else ():
                need = sum(1 if ch.isascii() else 2 for ch in line) + 1  # a CJK character two widths, and the padding
                if need > sum(widths[c0:c1 + 1]):
                    tight.append((table.id, line, need, sum(widths[c0:c1 + 1])))
    assert not tight, tight
