"""Writing the other sheets of a template: _checks, 自查, _lists, _prev_*, _identity and 填表说明."""

from __future__ import annotations

from typing import Any


from qtables import __version__
from qtables.template.identity import Identity
from qtables.issue.selfcheck import CheckColumn, ExcelContext, prev_sheet, quarters_sheet, rule_key, summarize
from qtables.template.names import (
    LISTS_SHEET,
    NOTE_COL,
    RESULT_COL,
    SELF_CHECK_COLUMNS,
    SELF_CHECK_HEADER_ROW,
)
from qtables.template.layout import lines_needed, TableLayout, a1, quote_sheet
from qtables.template.rules import WorkbookData
from qtables.spec.expr import list_name, uses_function
from qtables.spec.model import Rule, Spec
from qtables.issue.request import PROTECT_OPTIONS, IssueRequest
from qtables.issue.formats import Formats, needs_array, write_formula


def write_checks(ws, ctx: ExcelContext, rules: list[Rule], results, data: WorkbookData) -> list[CheckColumn]:
    outcome: dict[tuple[str, int | None], bool] = {}
    for res in results:
        outcome[(rule_key(res.rule), res.row)] = res.status != "fail"
    written = [rule for rule in rules if ctx.compilable(rule) is None]
    _write_filled_columns(ws, ctx, written, data, len(written))
    out: list[CheckColumn] = []
    for col, rule in enumerate(written):
        layout = ctx.layouts[rule.table]
        ws.write_string(0, col, f"{rule.table}:{rule.code}:{rule.target}")
        key = rule_key(rule)
        if rule.scope == "row":
            rows = range(layout.first_data, layout.last_data + 1)
            values = [1 if outcome.get((key, i), True) else 0 for i in range(len(rows))]
            shared = ctx.shared_rule_formula(rule, layout.first_data) if rows else None
            if shared is not None and not needs_array(shared):
                ws.write_shared_formula(layout.first_data, layout.last_data, col, shared, values)
            else:
                for r, formula, value in zip(rows, ctx.rule_cell_formulas(rule, rows), values):
                    write_formula(ws, r, col, formula, None, value)
            out.append(CheckColumn(rule, col, layout.first_data, layout.last_data))
        else:
            ok = outcome.get((key, None), True)
            write_formula(ws, 1, col, ctx.rule_cell_formula(rule, None), None, 1 if ok else 0)
            out.append(CheckColumn(rule, col, 1, 1))
    return out


def _write_filled_columns(ws, ctx: ExcelContext, rules: list[Rule], data: WorkbookData, first_col: int) -> None:
    """After the rule columns, one column per table whose row rules ask ``rowfilled()``: 1 where the row holds
    any input.  Set on ``ctx`` before the rules are compiled, so they read it instead of each counting the row."""
    tables = [t for t in ctx.layouts if any(r.table == t and r.scope == "row" and _asks_filled(r) for r in rules)]
    ctx.filled_cols = {t: first_col + i for i, t in enumerate(tables)}
    for table_id, col in ctx.filled_cols.items():
        layout = ctx.layouts[table_id]
        ws.write_string(0, col, f"{table_id}:rowfilled")
        filled = set(data.tables[table_id].split_rows()[0])  # the rows rowfilled() is true on, as the rules saw them
        for i, r in enumerate(range(layout.first_data, layout.last_data + 1)):
            write_formula(ws, r, col, ctx.row_filled_formula(table_id, r), None, 1 if i in filled else 0)


def _asks_filled(rule: Rule) -> bool:
    return any(uses_function(n, "rowfilled") for n in (rule.assertion, rule.when) if n is not None)


def write_selfcheck(ws, ctx: ExcelContext, rules, results, check_cols, data, fmt: Formats, request: IssueRequest) -> None:
    by_key = {rule_key(cc.rule): cc for cc in check_cols}
    summary = summarize(results)
    header_fmt = fmt.header
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 8)
    ws.set_column(2, 2, 7)
    ws.set_column(3, 3, 14)
    ws.set_column(4, 4, 52)
    ws.set_column(5, 5, 6)
    ws.set_column(6, 6, 7)
    ws.set_column(7, 7, 30)
    ws.set_column(8, 8, 40)
    ws.merge_range(0, 0, 0, 8, "自查结果（打开、填写时自动计算；上报前请确认强制性问题全部为 ✓）", fmt.title)
    ws.set_row(0, 30)
    first_rule_row = SELF_CHECK_HEADER_ROW + 1
    last_rule_row = first_rule_row + len(rules) - 1
    cat_rng = f"{a1(first_rule_row, 2)}:{a1(last_rule_row, 2)}"
    res_rng = f"{a1(first_rule_row, RESULT_COL)}:{a1(last_rule_row, RESULT_COL)}"
    note_rng = f"{a1(first_rule_row, NOTE_COL)}:{a1(last_rule_row, NOTE_COL)}"
    e_fail = sum(1 for r in rules if r.severity == "E" and summary.get(rule_key(r), (0, None))[0] > 0 and rule_key(r) in by_key)
    w_open = sum(
        1 for r in rules
        if r.severity == "W" and summary.get(rule_key(r), (0, None))[0] > 0 and rule_key(r) in by_key
        and not request.notes.get(rule_key(r), "").strip()
    )
    # The two counts, their labels over columns A–C on two lines each (one line ran on under the count in D, cut).
    counts = ((1, "强制性问题\n（必须改正）：", f'=SUMPRODUCT(({cat_rng}="强制性")*({res_rng}="✗"))', e_fail),
              (2, "核实性问题\n（未写说明的）：", f'=SUMPRODUCT(({cat_rng}="核实性")*({res_rng}="✗")*(LEN(TRIM({note_rng}))=0))', w_open))
    for r, label, formula, value in counts:
        ws.set_row(r, 34)
        ws.merge_range(r, 0, r, 2, label, fmt.ok_label)
        write_formula(ws, r, 3, formula, fmt.ok_big, value)
    # A blank workbook is 尚未填写, not 可以上报: nothing typed in any input cell (接转 pre-filled by the province
    # does not count) — an empty form passes every rule, and must not say so.
    typed = _typed_ranges(ctx, request)
    filled = any(v not in (None, "") for tid, rows in request.values.items() for row in rows
                 for cid, v in row.items() if _typed_column(ctx, request, tid, cid))
    status = ("尚未填写" if not filled else "可以上报" if e_fail == 0 and w_open == 0 else "尚有问题，请按下表改正或说明")
    blank = f"COUNTA({','.join(typed)})=0" if typed else "FALSE"
    write_formula(ws, 1, 4, f'=IF({blank},"尚未填写",IF(AND(D2=0,D3=0),"可以上报","尚有问题，请按下表改正或说明"))', fmt.ok_big, status)
    ws.write_string(3, 0, "“✗”表示未通过；双击“首个问题单元格”所指位置修改。核实性问题如确属实际情况，请在“说明”栏写明具体原因（不要只写“已核实”）。", fmt.small)
    for c, text in enumerate(SELF_CHECK_COLUMNS):
        ws.write_string(SELF_CHECK_HEADER_ROW, c, text, header_fmt)
    cell_fmt = fmt.label_left
    centre = fmt.label
    note_fmt = fmt.number("text", None, locked=False)
    for i, rule in enumerate(rules):
        r = first_rule_row + i
        layout = ctx.layouts[rule.table]
        ws.write_number(r, 0, i + 1, centre)
        ws.write_string(r, 1, rule.code, centre)
        ws.write_string(r, 2, rule.severity_text, centre)
        ws.write_string(r, 3, layout.table.name, centre)
        ws.write_string(r, 4, rule.message, cell_fmt)
        fails, first = summary.get(rule_key(rule), (0, None))
        cc = by_key.get(rule_key(rule))
        if cc is None:
            ws.write_string(r, RESULT_COL, "—", centre)
            ws.write_string(r, 6, "", centre)
            ws.write_string(r, 7, ctx.compilable(rule) or "", cell_fmt)
        else:
            count_cell = a1(r, 6)
            write_formula(ws, r, 6, f"=COUNTIF({cc.range},0)", centre, fails)
            write_formula(ws, r, RESULT_COL, f'=IF({count_cell}=0,"✓","✗")', centre, "✓" if fails == 0 else "✗")
            if rule.scope == "row":
                tcol = layout.col(rule.target)
                formula = (
                    f'=IF({count_cell}=0,"","{layout.sheet}!"&ADDRESS(MATCH(0,{cc.range},0)+{layout.first_data},{tcol + 1},4))'
                )
                cached = "" if first is None else f"{layout.sheet}!{a1(layout.first_data + first, tcol, abs_row=False, abs_col=False)}"
            else:
                tr, tc = layout.target_cell(rule.target)
                cell_text = f"{layout.sheet}!{a1(tr, tc, abs_row=False, abs_col=False)}"
                formula = f'=IF({count_cell}=0,"","{cell_text}")'
                cached = "" if fails == 0 else cell_text
            write_formula(ws, r, 7, formula, cell_fmt, cached)
        ws.write_string(r, NOTE_COL, request.notes.get(rule_key(rule), ""), note_fmt)
        # As tall as the longest wrapped text of the row (审核内容 52 wide, the reason in 首个问题单元格 26 wide),
        # so printed rows never run into each other.
        reason = ctx.compilable(rule) or "" if cc is None else ""
        lines = max(lines_needed(rule.message, 50), lines_needed(reason, 28) if reason else 1)
        if lines > 1:
            ws.set_row(r, 14 * lines + 2)
    red = fmt._wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006", "bold": True})
    ws.conditional_format(first_rule_row, RESULT_COL, last_rule_row, RESULT_COL,
                          {"type": "cell", "criteria": "==", "value": '"✗"', "format": red})
    ws.autofilter(SELF_CHECK_HEADER_ROW, 0, last_rule_row, 8)
    ws.freeze_panes(SELF_CHECK_HEADER_ROW + 1, 0)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(SELF_CHECK_HEADER_ROW)
    ws.set_start_page(1)
    ws.set_footer("&C&A　第 &P 页")


def _typed_column(ctx: ExcelContext, request: IssueRequest, table_id: str, column_id: str) -> bool:
    layout = ctx.layouts.get(table_id)
    if layout is None or column_id not in layout.col_index:
        return False
    col = layout.table.column(column_id)
    return col.is_input and not (col.carry_from and request.previous and request.previous.get(table_id))


def _typed_ranges(ctx: ExcelContext, request: IssueRequest) -> list[str]:
    """The input cells a filler types in, as ranges over each table's rows (runs of adjacent typed columns)."""
    out = []
    for tid, layout in ctx.layouts.items():
        if layout.table.kind == "scoring":
            continue
        cols = sorted(layout.col(c.id) for c in layout.table.columns if _typed_column(ctx, request, tid, c.id))
        runs: list[list[int]] = []
        for c in cols:
            if runs and c == runs[-1][-1] + 1:
                runs[-1].append(c)
            else:
                runs.append([c])
        for run in runs:
            out.append(f"{quote_sheet(layout.sheet)}!{a1(layout.first_data, run[0])}:{a1(layout.last_data, run[-1])}")
    return out[:250]  # COUNTA takes at most 255 arguments


def write_lists(wb, ws, spec: Spec) -> None:
    for c, (cid, choice) in enumerate(spec.choices.items()):
        ws.write_string(0, c, choice.label)
        for r, value in enumerate(choice.values, start=1):
            ws.write_string(r, c, value)
        wb.define_name(list_name(cid), f"={quote_sheet(LISTS_SHEET)}!{a1(1, c)}:{a1(len(choice.values), c)}")


def write_prev(wb, layout: TableLayout, prev_rows: dict[str, dict[str, Any]], password: str) -> None:
    ws = wb.add_worksheet(prev_sheet(layout.table.id))
    for i, row in enumerate(layout.rows):
        r = layout.first_data + i
        ws.write_string(r, 0, row.key)
        for col in layout.table.columns:
            if col.is_numeric and col.id in prev_rows.get(row.key, {}):
                ws.write_number(r, layout.col(col.id), prev_rows[row.key][col.id] or 0)
    ws.hide()
    ws.protect(password, PROTECT_OPTIONS)


def write_quarters(wb, layout: TableLayout, rows: dict[str, dict[str, Any]], names: tuple[str, ...], password: str) -> None:
    """The four quarters' figures an annual template's 自查 compares with (T7-A…), one column per q.* name."""
    ws = wb.add_worksheet(quarters_sheet(layout.table.id))
    for j, name in enumerate(names, start=1):
        ws.write_string(0, j, name)
    for i, row in enumerate(layout.rows):
        r = layout.first_data + i
        ws.write_string(r, 0, row.key)
        for j, name in enumerate(names, start=1):
            value = rows.get(row.key, {}).get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                ws.write_number(r, j, value)
    ws.hide()
    ws.protect(password, PROTECT_OPTIONS)


def write_identity(ws, identity: Identity, fmt: Formats) -> None:
    ws.write_string(0, 0, "qtables 模板标识（请勿修改）")
    for r, (k, v) in enumerate(identity.as_pairs(), start=1):
        ws.write_string(r, 0, k)
        ws.write_string(r, 1, v)
    ws.write_string(len(identity.as_pairs()) + 1, 0, "generator")
    ws.write_string(len(identity.as_pairs()) + 1, 1, f"qtables {__version__}")


GUIDE_WIDTH = 68  # width units of one column that fit an A4 portrait page at 100 % (CJK fonts print wide)


def write_guide(ws, spec: Spec, request: IssueRequest, layouts: list[TableLayout], fmt: Formats) -> None:
    ws.set_column(0, 0, GUIDE_WIDTH)
    scoring_only = all(lay.table.kind == "scoring" for lay in layouts)
    what = "考核评分表（省厅考核组填写）" if scoring_only else "建设工程质量分析报告附表"
    lines = [
        ("填表说明", fmt.title),
        (f"{request.unit.name}　{request.period.label}　{what}", fmt.ok_big),
        ("填报须知（qtables）", fmt.ok_big),
        ("一、本工作簿包含：" + "、".join(f"{lay.table.name}《{lay.table.title.replace(chr(10), '')}》" for lay in layouts), fmt.wrap),
    ]
    check = ("四、填写完毕后请查看“自查”表：强制性问题（红色）必须改正；核实性问题（黄色）如确属实际情况，请在“说明”栏写明具体原因。", fmt.wrap)
    if scoring_only:
        # The 考核组's workbook: what the assessors need, not the units' instructions on units and e-mail.
        lines += [
            ("二、只在浅黄色的“得分”栏填写；分值、小计、合计已锁定并自动计算。", fmt.wrap),
            ("三、考核的时间和程序见各表下方（据附件2、附件3摘要）。", fmt.wrap),
            check,
        ]
    else:
        lines += [
            ("二、只能在浅黄色单元格中填写；灰色单元格（表头、单位、报告期、合计、比率）已锁定并自动计算，请勿改动表格结构（不要插入、删除行列或重命名工作表）。", fmt.wrap),
            ("三、数字栏没有发生的填 0；面积栏注意单位：附表3、附表4 为“平方米”，附表5–7 为“万㎡”；造价、经济损失为“万元”；百分比只填数字，不带 % 号。", fmt.wrap),
            check,
            ("五、请勿另存为其他格式或复制内容到新工作簿；直接将本文件作为电子邮件附件上报（第十六条），并按要求加盖公章的纸质件另行报送。", fmt.wrap),
            *([("六、" + request.prefill_note, fmt.wrap)] if request.prefill_note else []),
            *([(("七、" if request.prefill_note else "六、") + "、".join(lay.table.name for lay in layouts if lay.table.id in request.capacity)
                + f"各预留 {max(request.capacity.values())} 行（按上期在建项数留有余量）。行数不够时请联系汇总单位重新下发行数更多的模板，"
                "不要自行插入行。", fmt.wrap)] if any(n != spec.table(t).capacity for t, n in request.capacity.items()) else []),
        ]
    lines += [
        ("", fmt.plain),
        ("附一：制度原文的填表说明（《办法》附表原文照录）", fmt.ok_big),
    ]
    verbatim = [lay.table for lay in layouts if lay.table.notes]
    lines += [(f"{t.name}：{t.notes}", fmt.wrap) for t in verbatim] or [("（本工作簿各表在《办法》中没有填表说明。）", fmt.wrap)]
    own = [lay.table for lay in layouts if lay.table.instructions or lay.table.schedule]
    if own:
        lines += [("", fmt.plain), ("附二：qtables 的填报提示（不是制度原文，是汇总单位为便于审核所加）", fmt.ok_big)]
        lines += [(f"{t.name}：{t.instructions}", fmt.wrap) for t in own if t.instructions]
        lines += [(f"{t.name}：{t.schedule}", fmt.wrap) for t in own if t.schedule]
    if any(lay.table.kind == "scoring" for lay in layouts):
        for w in spec.warnings:
            lines.append((f"提示：{w}", fmt.wrap))
    lines += [("", fmt.plain), (f"规格版本 {spec.version}；由 qtables {__version__} 生成。", fmt.small)]
    for r, (text, cell_format) in enumerate(lines):
        ws.write_string(r, 0, text, cell_format)
        if text and cell_format is fmt.wrap:
            ws.set_row(r, 14 * lines_needed(text, GUIDE_WIDTH - 4) + 4)
        elif cell_format is fmt.title:
            ws.set_row(r, 30)
    ws.set_portrait()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_start_page(1)
    ws.set_footer("&C&A　第 &P 页")
