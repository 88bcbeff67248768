"""The master's report sheets: 报送情况, 审核结果, 数据来源 and 图表."""

from __future__ import annotations

from typing import Any


from qtables.template.layout import a1, quote_sheet
from qtables.period import Period
from qtables.spec.registry import Registry
from qtables.spec.model import Spec, Table
from qtables.status import OK_STATUSES as OK
from qtables.status import STATUS_TEXT, short_time
from qtables.ledger.queries import decode
from qtables.ledger.store import Ledger
from qtables.merge.sheetkit import row_height, HEADER_ROW, SheetWriter, write_header, write_num, print_setup, write_text


def status_sheet(wb, fmt, spec: Spec, status: dict[str, Any], table_ids: list[str], set_names) -> None:
    ws = wb.add_worksheet("报送情况")
    due = [spec.table(t).name for t in table_ids if spec.table(t).kind != "scoring"]
    headers = ["单位代码", "单位", "状态", "版本", "首次报送时间", "通过时间", "按时"] + due + ["其他材料", "复核"]
    write_header(ws, fmt, f"{status['label']} 报送情况", f"截止日期 {status['deadline']}（北京时间，按本方收到时间；退回后更正期限 "
            f"{status.get('correction_days', '')} 天）；应报 {status['expected']}，已收 {status['received']}，"
            f"通过 {status['accepted']}，逾期 {status['late']}", headers, [9, 12, 12, 5, 16, 16, 12] + [8] * len(due) + [30, 30])
    for i, u in enumerate(status["units"]):
        r = HEADER_ROW + 1 + i
        materials = "、".join(u["attachments"] + u.get("unreadable", []))
        ws.set_row(r, row_height((materials, 28), (u.get("recheck", ""), 28)))
        state = u["status"]
        cell = fmt.status.get(state, fmt.text)
        write_text(ws, r, 0, u["code"], fmt.text)
        write_text(ws, r, 1, u["name"], fmt.text)
        write_text(ws, r, 2, STATUS_TEXT.get(state, state), cell)
        write_num(ws, r, 3, u["version"], fmt.int)
        write_text(ws, r, 4, short_time(u.get("first_received")), fmt.text)
        write_text(ws, r, 5, short_time(u.get("accepted_at")), fmt.text)
        timing = u.get("timing") or "—"
        write_text(ws, r, 6, timing, fmt.status["late"] if u["on_time"] is False else fmt.wrap)
        for j, name in enumerate(due):
            have = name in u["tables_received"]
            write_text(ws, r, 7 + j, ("已报" if have else "未报") if state != "missing" else "未报",
                  cell if have else fmt.status["missing"])
        write_text(ws, r, 7 + len(due), materials, fmt.wrap)
        write_text(ws, r, 8 + len(due), u.get("recheck", ""), fmt.wrap)
    print_setup(ws, len(headers) - 1)


def findings_sheet(wb, fmt, ledger: Ledger, registry: Registry, period: Period) -> None:
    ws = wb.add_worksheet("审核结果")
    headers = ["单位", "版本", "类别", "代码", "位置", "问题", "说明", "说明是否采纳"]
    write_header(ws, fmt, f"{period.label} 审核结果（当前版本）", "强制性问题未改正的报表不计入汇总；核实性问题以报送单位的说明为准。", headers,
            [12, 5, 7, 7, 14, 70, 40, 8])
    names = {u.code: u.name for u in registry.units}
    r = HEADER_ROW + 1
    for sub in ledger.current_submissions(period.code):
        for f in ledger.findings_of(sub["id"]):
            if f["severity"] == "I":
                continue
            ws.set_row(r, row_height((f["message"], 68), (f["note"], 38)))
            write_text(ws, r, 0, names.get(sub["unit_code"], sub["unit_code"]), fmt.text)
            ws.write_number(r, 1, sub["version"], fmt.int)
            write_text(ws, r, 2, {"E": "强制性", "W": "核实性", "F": "无法审核"}.get(f["severity"], f["severity"]), fmt.text)
            write_text(ws, r, 3, f["code"], fmt.text)
            write_text(ws, r, 4, f"{f['sheet']}!{f['cell']}" if f["cell"] else (f["sheet"] or ""), fmt.text)
            write_text(ws, r, 5, f["message"], fmt.wrap)
            write_text(ws, r, 6, f["note"], fmt.wrap)
            write_text(ws, r, 7, ("是" if f["explained"] else "否") if f["severity"] == "W" else "", fmt.text)
            r += 1
    print_setup(ws, len(headers) - 1)


def sources_sheet(wb, fmt, ledger: Ledger, registry: Registry, period: Period) -> None:
    ws = wb.add_worksheet("数据来源")
    headers = ["单位代码", "单位", "文件名", "SHA-256", "发件人", "收到时间", "版本", "状态", "是否计入汇总"]
    write_header(ws, fmt, f"{period.label} 数据来源", "每个单位当前版本的原始文件均按 SHA-256 原样保存在工作区 archive/ 中。", headers,
            [9, 12, 30, 66, 24, 24, 5, 12, 8])
    names = {u.code: u.name for u in registry.units}
    for i, sub in enumerate(ledger.current_submissions(period.code)):
        r = HEADER_ROW + 1 + i
        values = [sub["unit_code"], names.get(sub["unit_code"], sub["unit_code"]), sub["filename"], sub["sha256"], sub["sender"],
                  sub["received_at"]]
        for c, v in enumerate(values):
            write_text(ws, r, c, v, fmt.text)
        ws.write_number(r, 6, sub["version"], fmt.int)
        write_text(ws, r, 7, STATUS_TEXT.get(sub["status"], sub["status"]), fmt.status.get(sub["status"], fmt.text))
        write_text(ws, r, 8, "是" if sub["status"] in OK else "否", fmt.text)
    print_setup(ws, len(headers) - 1)


def charts(wb, fmt, table: Table, summary_name: str, summary: dict[str, Any], ledger: Ledger, registry: Registry, period: Period) -> None:
    ws = wb.add_worksheet("图表")
    # One chart per landscape A4 page: each sized to the printable width, a page break after it.
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.fit_to_pages(1, 0)
    ws.set_column(0, 13, 9)
    ws.merge_range(0, 0, 0, 13, f"{period.label} 图表", fmt.title)
    page = 30  # rows per printed page
    sheet: SheetWriter = summary["sheet"]
    first, last = summary["first"], summary["last"]
    cats = f"={quote_sheet(summary_name)}!{a1(first, 1)}:{a1(last, 1)}"
    for i, (cid, title) in enumerate((("filing_rate_count", "质量备案率（项数，%）"), ("satisfaction_rate", "用户满意率（%）"))):
        chart = wb.add_chart({"type": "column"})
        c = sheet.col(cid)
        chart.add_series({"name": title, "categories": cats, "values": f"={quote_sheet(summary_name)}!{a1(first, c)}:{a1(last, c)}",
                          "fill": {"color": "#4472C4" if i == 0 else "#ED7D31"}})
        chart.set_title({"name": f"各单位{title}"})
        chart.set_y_axis({"min": 0, "max": 100})
        chart.set_legend({"none": True})
        chart.set_size({"width": 880, "height": 500})
        ws.insert_chart(2 + i * page, 0, chart)
    ws.set_h_pagebreaks([page, 2 * page])
    # 在建 / 竣工 over the periods the ledger holds (of the same kind as this period).
    trend = _trend(ledger, registry, table, period)
    base = 2 * page + 1
    ws.write_string(base, 0, "报告期", fmt.header)
    ws.write_string(base, 1, "在建工程项数", fmt.header)
    ws.write_string(base, 2, "竣工工程项数", fmt.header)
    for i, (code, ucon, done) in enumerate(trend):
        ws.write_string(base + 1 + i, 0, code, fmt.text)
        ws.write_number(base + 1 + i, 1, ucon, fmt.int)
        ws.write_number(base + 1 + i, 2, done, fmt.int)
    if trend:
        chart = wb.add_chart({"type": "line"})
        end = base + len(trend)
        for c, name in ((1, "在建工程项数"), (2, "竣工工程项数")):
            chart.add_series({"name": name, "categories": f"='图表'!{a1(base + 1, 0)}:{a1(end, 0)}",
                              "values": f"='图表'!{a1(base + 1, c)}:{a1(end, c)}", "marker": {"type": "circle"}})
        chart.set_title({"name": "在建、竣工工程项数（各报告期）"})
        chart.set_size({"width": 640, "height": 420})
        ws.insert_chart(base, 4, chart)


def _trend(ledger: Ledger, registry: Registry, table: Table, period: Period) -> list[tuple[str, float, float]]:
    codes = {u.code for u in registry.units}
    out = []
    periods = [r[0] for r in ledger.db.execute("SELECT DISTINCT period FROM submissions ORDER BY period")]
    for code in periods:
        p = Period.parse(code)
        if p.kind != period.kind or p > period:
            continue
        ucon = done = 0.0
        for row in ledger.db.execute(
            "SELECT c.column_id, c.value, s.unit_code FROM cells c JOIN submissions s ON s.id = c.submission_id"
            " WHERE s.period = ? AND s.is_current = 1 AND s.status IN ('accepted','accepted_with_warnings')"
            " AND c.table_id = ? AND c.row_key = '_total' AND c.column_id IN ('ucon_count','done_count')",
            (code, table.id),
        ):
            if row["unit_code"] in codes:
                value = decode(row["value"]) or 0
                if row["column_id"] == "ucon_count":
                    ucon += value
                else:
                    done += value
        out.append((code, ucon, done))
    return out
