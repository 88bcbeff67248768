"""Turning check reports into text a clerk reads on the terminal."""

from __future__ import annotations

import unicodedata

from qtables.check.context import Report

STATUS_TEXT = {
    "accepted": "通过",
    "accepted_with_warnings": "通过（有核实性问题待说明）",
    "rejected": "退回（有强制性问题）",
    "unreadable": "无法审核",
}


def render(report: Report, *, show_info: bool = False) -> str:
    lines = []
    who = ""
    if report.identity:
        who = f"  {report.identity.unit_name}（{report.identity.unit_code}） {report.period.label if report.period else report.identity.period}"
    lines.append(f"【{STATUS_TEXT[report.status]}】{report.file}{who}")
    counts = [f"强制性 {report.count('E')} 项", f"核实性 {report.count('W')} 项（已说明 {report.count('W', explained=True)} 项）"]
    if report.count("I"):
        counts.append(f"提示 {report.count('I')} 项")
    if report.status != "unreadable":
        lines.append("  " + "，".join(counts))
    order = {"F": 0, "E": 1, "W": 2, "I": 3}
    for f in sorted(report.findings, key=lambda f: order[f.severity]):
        if f.severity == "I" and not show_info:
            continue
        where = f"{f.sheet}!{f.cell} " if f.sheet and f.cell else (f"{f.sheet} " if f.sheet else "")
        tail = ""
        if f.severity == "W":
            tail = f"  说明：{f.note}" if f.explained else "  （需在“自查”表填写说明）"
        lines.append(f"  [{f.severity_text}] {f.code} {where}{f.message}{tail}")
    return "\n".join(lines)


def escape_text(text: str | None) -> str:
    """Outside text as shown: control, NUL and bidirectional-override characters as <U+XXXX>."""
    if text is None:
        return ""
    out = []
    for ch in str(text):
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in "\t":
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out)
