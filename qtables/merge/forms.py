"""The lines around a master sheet printed as the 办法's form, as the issued template prints them.

Above the table: ``附表5`` and the 表号 line (表号、制定机关…), the form's title, 填表单位（盖章） and 报告期.
Below it: what a total leaves out ("全省合计不含：洛阳市（退回）"), the 填表说明 and the 统计员／批准人／报送日期
line for the provincial clerk to sign.  Where each line goes is decided by ``qtables.template.lines`` (the same
spreading of labels and values over the columns as on the template).
"""

from __future__ import annotations

from dataclasses import dataclass

from qtables.spec.model import Table
from qtables.states import STATUS_TEXT
from qtables.merge.sheetkit import wrapped_row
from qtables.template.lines import form_text, slots_for

FORM_TOP = 3  # the first header row of a form sheet (rows 0–2: 附表N/表号, title, 填表单位/报告期)


@dataclass(frozen=True)
class FormContext:
    """What the master's forms print around every table: the spec's form numbers, the workspace's [form]."""

    spec_form: dict
    override: dict
    filler: str  # 填表单位: the workspace's collecting unit
    period_label: str


def form_top(ws, fmt, table: Table, ctx: FormContext, widths: list[float], *, span: tuple[int, int] | None = None) -> None:
    """附表N and the 表号 line, the title and 填表单位/报告期 over the columns of ``span`` (the first page across,
    after the repeated label columns when the form is split across pages)."""
    start, last = span if span is not None else (0, len(widths) - 1)
    ws.write_string(0, 0, table.name, fmt.sheet_no)
    line = form_text(ctx.spec_form, ctx.override, table.id)
    if line and last - start >= 2:
        ws.merge_range(0, max(start + 1, last - max(6, last // 2)), 0, last, line, fmt.form_line)
    ws.merge_range(1, start, 1, last, table.title.replace("\n", ""), fmt.title)
    ws.set_row(1, 30)
    items = tuple(table.top_line or ("填表单位（盖章）",))
    for i, (l0, l1, v0, v1) in enumerate(slots_for(widths[start:last + 1], items[:1], with_period=True)):
        l0, l1, v0, v1 = l0 + start, l1 + start, v0 + start, v1 + start
        label, value = (items[0], ctx.filler) if i == 0 else ("报告期", ctx.period_label)
        _merged(ws, 2, l0, l1, f"{label}：", fmt.line_label)
        _merged(ws, 2, v0, v1, value, fmt.line_value)


def form_bottom(ws, fmt, table: Table, row: int, widths: list[float], *, coverage: str = "",
                span: tuple[int, int] | None = None) -> int:
    """The lines under the table from ``row``, over the columns of ``span`` (the first page across, so a note is
    never cut at a page's edge); returns the last row written."""
    first, last = span if span is not None else (0, len(widths) - 1)
    # When the form is split across pages the lines start after the repeated label columns: a note merged from
    # column A would be drawn again, cut, on every page across.
    if coverage:
        wrapped_row(ws, row, first, last, coverage, widths, fmt.coverage)
        row += 1
    if table.printed_notes:
        wrapped_row(ws, row, first, last, table.printed_notes, widths, fmt.note, line=14, pad=6)
        row += 1
    row += 1  # room to sign
    items = tuple(table.bottom_line or ())
    for label, (l0, l1, v0, v1) in zip(items, slots_for(widths[first:last + 1], items, with_period=False)):
        l0, l1, v0, v1 = l0 + first, l1 + first, v0 + first, v1 + first
        _merged(ws, row, l0, l1, f"{label}：", fmt.line_label)
        _merged(ws, row, v0, v1, "", fmt.line_value)
    ws.set_row(row, 22)
    return row


def coverage_note(scope: str, excluded: list[tuple[str, str]], expected: int) -> str:
    """What a total counts: every unit, or which units it leaves out and why (never silently)."""
    if not excluded:
        return f"{scope}合计含全部 {expected} 个单位。"
    names = left_out_names(excluded)  # every one named: the total is signed for
    return (f"{scope}合计不含：{names}——共 {len(excluded)} 个单位的数据未通过审核或未报送，未计入合计"
            f"（含 {expected - len(excluded)} 个单位）。")


def left_out_names(excluded: list[tuple[str, str]], *, limit: int | None = None) -> str:
    """洛阳市（退回）、济源市（未报）; more than three by reason, each name once: 未报 25 个：平顶山市、安阳市…；退回 1 个：
    洛阳市.  ``limit``: at most that many names a reason, then how many and where they all are (a chart's caption)."""
    if len(excluded) <= 3:
        return "、".join(f"{name}（{STATUS_TEXT.get(state, state)}）" for name, state in excluded)
    groups: dict[str, list[str]] = {}
    for name, state in excluded:
        groups.setdefault(STATUS_TEXT.get(state, state), []).append(name)
    return "；".join(f"{reason} {len(group)} 个：{'、'.join(group[:limit])}"
                    + ("等（见“报送情况”表）" if limit is not None and len(group) > limit else "")
                    for reason, group in groups.items())


def _merged(ws, row: int, first: int, last: int, text: str, cell_format) -> None:
    if last > first:
        ws.merge_range(row, first, row, last, text, cell_format)
    else:
        ws.write_string(row, first, text, cell_format)
