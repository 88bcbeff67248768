"""The master's report sheets: 报送情况, 审核结果, 数据来源 and 图表."""

from __future__ import annotations

from datetime import datetime
from typing import Any


from qtables.template.layout import a1, label_lines, lines_needed, quote_sheet
from qtables.period import Period
from qtables.spec.registry import Registry
from qtables.spec.model import Spec, Table
from qtables.status import OK_STATUSES as OK
from qtables.status import STATUS_TEXT
from qtables.timing import as_beijing
from qtables.ledger.queries import decode
from qtables.ledger.store import Ledger
from qtables.template import paper
from qtables.merge.forms import left_out_names
from qtables.merge.sheetkit import header_layout, row_height, HEADER_ROW, SheetWriter, write_header, write_num, print_setup, write_text


def status_sheet(wb, fmt, spec: Spec, status: dict[str, Any], table_ids: list[str], set_names) -> None:
    ws = wb.add_worksheet("报送情况")
    due = [spec.table(t).name for t in table_ids if spec.table(t).kind != "scoring"]
    materials = [m["name"] for m in status.get("materials", [])]
    headers = (["单位代码", "单位", "状态", "版本", "首次报送时间", "通过时间", "按时"] + due
               + [m.strip("《》") for m in materials] + ["其他材料", "复核", "催报"])
    widths = [8, 10, 11, 5, 20, 20, 12] + [6] * len(due) + [9] * len(materials) + [24, 24, 13]
    first = write_header(ws, fmt, f"{status['label']} 报送情况", f"截止日期 {status['deadline']}（北京时间，按本方收到时间；退回后更正期限 "
                         f"{status.get('correction_days', '')} 天）；应报 {status['expected']}，已收 {status['received']}，"
                         f"通过 {status['accepted']}，逾期 {status['late']}", headers, widths, lead=2)
    m0 = 7 + len(due)
    other = m0 + len(materials)
    for i, u in enumerate(status["units"]):
        r = first + i
        attachments = "、".join(u["attachments"] + u.get("unreadable", []))
        timing = u.get("timing") or "—"
        chased = f"{u['reminders']} 次，最近 {u['last_reminder']}" if u.get("reminders") else ""
        ws.set_row(r, row_height((attachments, widths[other]), (u.get("recheck", ""), widths[other + 1]), (chased, widths[other + 2]),
                                 (u["name"], widths[1]),
                                 (timing, widths[6]), (STATUS_TEXT.get(u["status"], u["status"]), widths[2])))
        state = u["status"]
        cell = fmt.status.get(state, fmt.text)
        write_text(ws, r, 0, u["code"], fmt.text)
        write_text(ws, r, 1, u["name"], fmt.wrap)
        write_text(ws, r, 2, STATUS_TEXT.get(state, state), cell)
        write_num(ws, r, 3, u["version"], fmt.int)
        write_time(ws, r, 4, u.get("first_received"), fmt)
        write_time(ws, r, 5, u.get("accepted_at"), fmt)
        write_text(ws, r, 6, timing, fmt.status["late"] if u["on_time"] is False else fmt.wrap)
        for j, name in enumerate(due):
            have = name in u["tables_received"]
            write_text(ws, r, 7 + j, ("已报" if have else "未报") if state != "missing" else "未报",
                  cell if have else fmt.status["missing"])
        for j, name in enumerate(materials):
            got = u.get("materials", {}).get(name, "未收")
            write_text(ws, r, m0 + j, got, fmt.status["accepted"] if got == "已收" else fmt.status["missing"])
        write_text(ws, r, other, attachments, fmt.wrap)
        write_text(ws, r, other + 1, u.get("recheck", ""), fmt.wrap)
        write_text(ws, r, other + 2, chased, fmt.wrap)
    print_setup(ws, fmt, widths, lead=2, header_rows=(HEADER_ROW, first - 1))


def write_time(ws, row: int, col: int, text: str | None, fmt) -> None:
    """A time from the ledger as an Excel date-time in 北京时间 (blank when there is none)."""
    moment = _beijing_datetime(text)
    if moment is None:
        write_text(ws, row, col, text or None, fmt.text)
    else:
        ws.write_datetime(row, col, moment, fmt.datetime)


def _beijing_datetime(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(as_beijing(text)).replace(tzinfo=None)
    except ValueError:
        return None


def findings_sheet(wb, fmt, ledger: Ledger, registry: Registry, period: Period) -> None:
    ws = wb.add_worksheet("审核结果")
    headers = ["单位", "版本", "类别", "代码", "位置", "问题", "说明", "说明是否采纳"]
    widths = [10, 5, 7, 7, 14, 60, 32, 7]
    first = write_header(ws, fmt, f"{period.label} 审核结果（当前版本）", "强制性问题未改正的报表不计入汇总；核实性问题以报送单位的说明为准。",
                         headers, widths)
    names = {u.code: u.name for u in registry.units}
    r = first
    for sub in ledger.current_submissions(period.code):
        for f in ledger.findings_of(sub["id"]):
            if f["severity"] == "I":
                continue
            where = f"{f['sheet']}!{f['cell']}" if f["cell"] else (f["sheet"] or "")
            ws.set_row(r, row_height((f["message"], widths[5]), (f["note"], widths[6]), (where, widths[4])))
            write_text(ws, r, 0, names.get(sub["unit_code"], sub["unit_code"]), fmt.wrap)
            ws.write_number(r, 1, sub["version"], fmt.int)
            write_text(ws, r, 2, {"E": "强制性", "W": "核实性", "F": "无法审核"}.get(f["severity"], f["severity"]), fmt.text)
            write_text(ws, r, 3, f["code"], fmt.text)
            write_text(ws, r, 4, where, fmt.wrap)
            write_text(ws, r, 5, f["message"], fmt.wrap)
            write_text(ws, r, 6, f["note"], fmt.wrap)
            write_text(ws, r, 7, ("是" if f["explained"] else "否") if f["severity"] == "W" else "", fmt.text)
            r += 1
    print_setup(ws, fmt, widths, lead=1, header_rows=(HEADER_ROW, first - 1))


def sources_sheet(wb, fmt, ledger: Ledger, registry: Registry, period: Period) -> None:
    ws = wb.add_worksheet("数据来源")
    headers = ["单位代码", "单位", "文件名", "SHA-256", "发件人", "收到时间", "版本", "状态", "是否计入汇总"]
    widths = [8, 10, 22, 34, 20, 20, 5, 10, 7]
    first = write_header(ws, fmt, f"{period.label} 数据来源", "每个单位当前版本的原始文件均按 SHA-256 原样保存在工作区 archive/ 中。",
                         headers, widths, lead=2)
    names = {u.code: u.name for u in registry.units}
    for i, sub in enumerate(ledger.current_submissions(period.code)):
        r = first + i
        digest = sub["sha256"] or ""  # wraps onto two lines on paper; the cell holds it whole
        ws.set_row(r, row_height((sub["filename"], widths[2]), (sub["sender"], widths[4]), (digest, widths[3]),
                                 (names.get(sub["unit_code"], ""), widths[1])))
        write_text(ws, r, 0, sub["unit_code"], fmt.text)
        write_text(ws, r, 1, names.get(sub["unit_code"], sub["unit_code"]), fmt.wrap)
        write_text(ws, r, 2, sub["filename"], fmt.wrap)
        write_text(ws, r, 3, digest, fmt.wrap)
        write_text(ws, r, 4, sub["sender"], fmt.wrap)
        write_time(ws, r, 5, sub["received_at"], fmt)
        ws.write_number(r, 6, sub["version"], fmt.int)
        write_text(ws, r, 7, STATUS_TEXT.get(sub["status"], sub["status"]), fmt.status.get(sub["status"], fmt.text))
        write_text(ws, r, 8, "是" if sub["status"] in OK else "否", fmt.text)
    print_setup(ws, fmt, widths, lead=2, header_rows=(HEADER_ROW, first - 1))


# The chart sheet's columns A–N (characters): B–C hold the figures' table, 质量备案率（项数，%） and 未计入（退回） whole.
CHART_WIDTHS = [14, 18, 18] + [8] * 11  # A: 报告期 (2025年第3季度) and 单位 whole


def charts(wb, fmt, table: Table, summary_name: str, summary: dict[str, Any], ledger: Ledger, registry: Registry, period: Period) -> None:
    """One chart a landscape page: each unit's 质量备案率 and 用户满意率, then 在建/竣工 over the periods like for like.
    The figures the charts draw are on this sheet below them.  A constant-memory sheet is written in row order:
    the title, each chart's caption, the trend's table, the rates' table."""
    ws = wb.add_worksheet("图表")
    ws.set_landscape()
    ws.set_paper(paper.PAPERS[fmt.paper][0])
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_print_scale(100)  # each chart is drawn as wide as the page holds: printed as it is, never shrunk
    ws.set_start_page(1)
    ws.set_footer("&C&A　第 &P 页")
    for c, width in enumerate(CHART_WIDTHS):
        ws.set_column(c, c, width)
    # The captions run over the columns the page holds at 100 % (wider, their text would run off its right edge).
    printable = paper.PAPERS[fmt.paper][1] - 2 * 0.5 * 72
    caption_last = max(c for c in range(len(CHART_WIDTHS)) if sum(map(paper.col_points, CHART_WIDTHS[:c + 1])) <= printable)
    page = 32  # rows per printed page
    excluded = summary.get("excluded", [])
    states = dict(excluded)
    left_out = f"未计入：{left_out_names(excluded, limit=8)}。" if excluded else ""
    rates = (("filing_rate_count", "质量备案率（项数，%）"), ("satisfaction_rate", "用户满意率（%）"))
    trend, common, dropped = _trend(ledger, registry, table, period)
    top, base = 2 * page + 1, 3 * page + 1

    ws.merge_range(0, 0, 0, caption_last, f"{period.label} 图表", fmt.title)
    for i, (_cid, title) in enumerate(rates):
        # "无数据" is not 0 %: a rate that cannot be computed (竣工 0 → no 备案率) is labelled so on its bar.
        note = f"图{i + 1}：各单位{title}。“无数据”：该单位没有可计算的比率（如竣工0项时没有备案率），不是0。{left_out}"
        ws.merge_range(1 + i * page, 0, 2 + i * page, caption_last, note, fmt.note)
        # The caption's two rows as tall as its wrapped text (the chart below starts after them; left_out_names
        # keeps it to a few lines, so the page still holds the chart).
        lines = lines_needed(note, sum(CHART_WIDTHS[:caption_last + 1]))
        for k in range(2):
            ws.set_row(1 + i * page + k, 15 * max(1, (lines + 1 - k) // 2) + 2)
    # 在建 / 竣工 over the periods the ledger holds (of the same kind as this period), like for like: only the units
    # with accepted figures in every period shown, so a unit missing from one period does not look like a fall.
    ws.write_string(top, 0, "报告期", fmt.header)
    ws.write_string(top, 1, "在建工程项数", fmt.header)
    ws.write_string(top, 2, "竣工工程项数", fmt.header)
    for i, (code, ucon, done) in enumerate(trend):
        ws.write_string(top + 1 + i, 0, Period.parse(code).label, fmt.text)
        ws.write_number(top + 1 + i, 1, ucon, fmt.int)
        ws.write_number(top + 1 + i, 2, done, fmt.int)
    lacking = left_out_names([(name, f"缺{lacks}数据") for name, lacks in dropped], limit=8)
    basis = f"图3 可比口径：各期均有通过审核数据的 {common} 个单位" + (f"；不含{lacking}" if dropped else "") + "。"
    ws.merge_range(top + len(trend) + 2, 0, top + len(trend) + 5, 2, basis, fmt.note)
    ws.write_string(base, 0, "单位", fmt.header)
    for j, (_cid, title) in enumerate(rates):
        ws.write_string(base, 1 + j, title, fmt.header)
    labels: dict[str, list[dict[str, Any] | None]] = {cid: [] for cid, _t in rates}
    for i, (name, row) in enumerate(zip(summary["labels"], summary["rows"])):
        r = base + 1 + i
        write_text(ws, r, 0, name, fmt.text)
        for j, (cid, _title) in enumerate(rates):
            value = row.get(cid) if row else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                ws.write_number(r, 1 + j, value, fmt.dec)
                labels[cid].append(None)
            else:
                # A zero-height bar labelled with the reason; the cell shows the reason too (a 0 formatted as text,
                # so the chart has a point to label).
                why = f"未计入（{STATUS_TEXT.get(states[name], states[name])}）" if name in states else "无数据"
                ws.write_number(r, 1 + j, 0, fmt.shown_as(why))
                # Upright above the bar's place: side by side, many such labels would print over each other.
                labels[cid].append({"value": why, "font": {"size": 8, "color": "#C00000", "rotation": -90}})
    end = base + len(summary["labels"])
    for i, (cid, title) in enumerate(rates):
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"name": title, "categories": f"='图表'!{a1(base + 1, 0)}:{a1(end, 0)}",
                          "values": f"='图表'!{a1(base + 1, 1 + i)}:{a1(end, 1 + i)}",
                          "fill": {"color": "#4472C4" if i == 0 else "#ED7D31"},
                          "data_labels": {"value": True, "num_format": "0.0", "custom": labels[cid], "font": {"size": 8}}})
        chart.set_title({"name": f"各单位{title}", "name_font": {"size": 12}})
        chart.set_y_axis({"min": 0, "max": 110, "major_unit": 10})
        chart.set_x_axis({"num_font": {"size": 8}})
        chart.set_legend({"none": True})
        chart.set_size({"width": 880, "height": 480})
        ws.insert_chart(3 + i * page, 0, chart)
    if trend:
        chart = wb.add_chart({"type": "line"})
        last = top + len(trend)
        for c, name in ((1, "在建工程项数"), (2, "竣工工程项数")):
            chart.add_series({"name": name, "categories": f"='图表'!{a1(top + 1, 0)}:{a1(last, 0)}",
                              "values": f"='图表'!{a1(top + 1, c)}:{a1(last, c)}", "marker": {"type": "circle"},
                              "data_labels": {"value": True, "position": "above"}})
        chart.set_title({"name": f"在建、竣工工程项数（可比口径：{common}个单位）", "name_font": {"size": 12}})
        chart.set_size({"width": 600, "height": 420})
        ws.insert_chart(top, 3, chart)
    ws.set_h_pagebreaks([page, 2 * page, 3 * page])
    ws.print_area(0, 0, end, caption_last)  # one page wide: nothing of a merged title or caption spills to a page of its own


def _trend(ledger: Ledger, registry: Registry, table: Table, period: Period) -> tuple[list[tuple[str, float, float]], int, list[tuple[str, str]]]:
    """(period, 在建, 竣工) for the periods of this kind up to ``period``, summed over the units with accepted figures
    in all of them; how many units that is; and the units left out, with the periods they lack."""
    names = {u.code: u.name for u in registry.units}
    periods = [code for (code,) in ledger.db.execute("SELECT DISTINCT period FROM submissions ORDER BY period")
               if Period.parse(code).kind == period.kind and not Period.parse(code) > period]
    per: dict[str, dict[str, tuple[float, float]]] = {}
    for code in periods:
        units: dict[str, list[float]] = {}
        for row in ledger.db.execute(
            "SELECT c.column_id, c.value, s.unit_code FROM cells c JOIN submissions s ON s.id = c.submission_id"
            " WHERE s.period = ? AND s.is_current = 1 AND s.status IN ('accepted','accepted_with_warnings')"
            " AND c.table_id = ? AND c.row_key = '_total' AND c.column_id IN ('ucon_count','done_count')",
            (code, table.id),
        ):
            if row["unit_code"] in names:
                pair = units.setdefault(row["unit_code"], [0.0, 0.0])
                pair[0 if row["column_id"] == "ucon_count" else 1] += decode(row["value"]) or 0
        per[code] = {u: (a, b) for u, (a, b) in units.items()}
    common = set(names)
    for code in periods:
        common &= set(per[code])
    dropped = [(names[u], "、".join(Period.parse(c).label for c in periods if u not in per[c])) for u in names if u not in common]
    out = [(code, sum(per[code][u][0] for u in common), sum(per[code][u][1] for u in common)) for code in periods]
    return out, len(common), dropped


def quality_sheet(wb, fmt, spec: Spec, config: dict[str, Any], ledger, registry, period, status: dict[str, Any], timing_of) -> None:
    """质量指数 (第七条): each unit's index, rank, change vs the previous period and its components (merge.quality)."""
    from qtables.merge.quality import components, period_scores

    index = spec.quality_index
    if not index:
        return
    comps = components(spec, config)
    rows = period_scores(spec, config, ledger, registry, period, timing_of)
    ws = wb.add_worksheet("质量指数")
    # Each component's name, then its weight on a line of its own (never “（权\n重0.1）”).
    headers = (["名次", "单位代码", "单位", "质量指数", "比上期"]
               + [f"{label_lines(c['label'], 14)}\n（权重{c['weight']:g}）" for c in comps] + ["缺少的数据"])
    widths = [6, 9, 10, 9, 8] + [14] * len(comps) + [26]
    first = write_header(ws, fmt, f"{status['label']} 质量指数", "第七条：定期发布质量指数，量化质量水平（算法为 qtables 的定义，见表下说明）",
                         headers, widths, lead=3)
    heights = []  # each row's, for a scale that keeps the sheet on one page when it can
    for i, s in enumerate(rows):
        r = first + i
        heights.append(row_height(("、".join(s.missing), widths[-1]), (s.name, widths[2])))
        ws.set_row(r, heights[-1])
        write_num(ws, r, 0, s.rank, fmt.int)
        write_text(ws, r, 1, s.code, fmt.text)
        write_text(ws, r, 2, s.name, fmt.wrap)
        write_num(ws, r, 3, s.index, fmt.dec1)
        write_num(ws, r, 4, s.change, fmt.dec1)
        for j, c in enumerate(comps):
            write_num(ws, r, 5 + j, None if s.parts.get(c["id"]) is None else round(s.parts[c["id"]], 1), fmt.dec1)
        write_text(ws, r, 5 + len(comps), "、".join(s.missing), fmt.wrap)
    # A unit without accepted figures has no index: listed after the ranked ones with why, never left out silently.
    ranked = {s.code for s in rows}
    unranked = [u for u in status["units"] if u["code"] not in ranked]
    for i, u in enumerate(unranked, start=len(rows)):
        r = first + i
        why = f"{STATUS_TEXT.get(u['status'], u['status'])}，无通过审核的数据"
        heights.append(row_height((why, widths[-1]), (u["name"], widths[2])))
        ws.set_row(r, heights[-1])
        ws.write_blank(r, 0, None, fmt.int)
        write_text(ws, r, 1, u["code"], fmt.text)
        write_text(ws, r, 2, u["name"], fmt.wrap)
        for c in range(3, 5 + len(comps)):
            ws.write_blank(r, c, None, fmt.dec1)
        write_text(ws, r, 5 + len(comps), why, fmt.wrap)
    note_row = first + len(rows) + len(unranked) + 1
    ws.merge_range(note_row, 0, note_row, len(widths) - 1, "说明：" + index["note"], fmt.wrap)
    note_height = row_height(("说明：" + index["note"], sum(widths)))
    ws.set_row(note_row, note_height)
    height = 30 + 15 + sum(header_layout(headers, widths)[1]) + sum(heights) + 15 + note_height
    print_setup(ws, fmt, widths, lead=3, header_rows=(HEADER_ROW, first - 1), height=height)
