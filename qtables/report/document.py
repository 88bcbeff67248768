"""``qtables report``: the drafted 《工程质量运行态势分析报告》 as a Word document, filled into an editable template
(``report/template.py``) with python-docx: paragraphs, Word tables (numbered 表N captions), Word charts (图N)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qtables.errors import QtablesError
from qtables.fsutil import atomic_path
from qtables.ledger.workspace import Workspace
from qtables.merge.quality import components
from qtables.period import Period
from qtables.report import charts as chartkit
from qtables.report import writing
from qtables.report.facts import Facts, gather
from qtables.report.template import BLOCKS, MARKERS, TEMPLATE
from qtables.spec import Spec

MARKER_TEXT = "{{%s}}"


@dataclass
class Drafted:
    path: Path
    todo: int = 0  # placeholders left for people


def content(ws: Workspace, spec: Spec, facts: Facts, public: bool) -> dict[str, list]:
    drawn = chartkit.charts(facts)
    q = spec.quality_index or {}
    blocks = {
        "title": [("title", writing.title(facts))],
        "summary": writing.summary(facts),
        "part1": writing.part1(facts),
        "part2": writing.part2(facts, drawn),
        "part6": writing.part6(facts, public),
        "part9": writing.part9(facts),
        "quality": writing.quality(facts, facts.quality, components(spec, ws.config), q.get("note", "")),
    }
    for i, text in writing.TODO.items():
        blocks.setdefault(f"part{i}", [("todo", text)])
    for i in range(1, 4):
        blocks[f"annual{i}"] = writing.annual(facts, i)
    return blocks


def write(template: Path, blocks: dict[str, list], annual: bool, target: Path) -> int:
    """Fill ``template`` and save to ``target``; return how many placeholders were left."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    doc = Document(str(template))
    body = list(doc.paragraphs)
    unknown = [p.text for p in body if p.text.startswith("{{") and p.text.endswith("}}")
               and p.text.strip("{}#/") not in MARKERS | BLOCKS]
    if unknown:
        raise QtablesError(f"报告模板中有不认识的标记：{'、'.join(unknown)}", code="R03",
                           hint=f"可用的标记：{'、'.join(sorted(MARKER_TEXT % m for m in MARKERS))}；{{{{#annual}}}}…{{{{/annual}}}} 只在年报中保留。")
    dropping = False
    for p in body:
        text = p.text.strip()
        if text in ("{{#annual}}", "{{/annual}}"):
            dropping = text == "{{#annual}}" and not annual
            p._p.getparent().remove(p._p)
            continue
        if dropping:
            p._p.getparent().remove(p._p)
    counters = {"表": 0, "图": 0}
    todo = 0
    for p in list(doc.paragraphs):
        name = p.text.strip()[2:-2] if p.text.strip().startswith("{{") else None
        if name not in MARKERS:
            continue
        for block in blocks.get(name, []):
            kind = block[0]
            if kind == "title":
                p.insert_paragraph_before(block[1], style=p.style)
            elif kind == "p":
                p.insert_paragraph_before(block[1])
            elif kind == "todo":
                todo += 1
                p.insert_paragraph_before(f"【待填写：{block[1]}】")
            elif kind == "table":
                counters["表"] += 1
                _caption(p, f"表{counters['表']}　{block[1]}")
                table = doc.add_table(rows=1 + len(block[3]), cols=len(block[2]))
                table.style = "Table Grid"
                for j, head in enumerate(block[2]):
                    table.cell(0, j).text = head
                for i, row in enumerate(block[3], 1):
                    for j, value in enumerate(row):
                        table.cell(i, j).text = value
                p._p.addprevious(table._tbl)
            elif kind == "chart":
                counters["图"] += 1
                holder = p.insert_paragraph_before()
                holder.alignment = WD_ALIGN_PARAGRAPH.CENTER
                chartkit.insert(doc, holder.add_run(), block[2])  # Word's own chart: editable, set in the document's fonts
                _caption(p, f"图{counters['图']}　{block[1]}")
        p._p.getparent().remove(p._p)
    with atomic_path(target) as tmp:
        doc.save(str(tmp))
    return todo


def _caption(before, text: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    cap = before.insert_paragraph_before(text, style="Caption")
    cap.alignment = WD_ALIGN_PARAGRAPH.CENTER


def draft_report(ws: Workspace, spec: Spec, period: Period, *, out: Path | None = None, template: Path | None = None,
                 public: bool = False) -> Drafted:
    template = template or TEMPLATE
    if not template.is_file():
        raise QtablesError(f"找不到报告模板 {template}", code="R03", hint="用 --template 指定一个 .docx 模板，或不指定以使用随程序发布的模板。")
    ledger = ws.open_ledger()
    try:
        with ledger.reading():
            facts = gather(ws, spec, period, ledger)
    finally:
        ledger.close()
    if not facts.now.rows:
        raise QtablesError(f"{period.label}没有通过审核的数据，无法起草报告", code="R04", hint="请先收取报表（qtables intake）。")
    blocks = content(ws, spec, facts, public)
    name = f"{period.code}_{facts.scope}工程质量运行态势分析报告（初稿）{'（公开版）' if public else ''}.docx"
    target = out or ws.path / "reports" / name
    todo = write(template, blocks, period.kind == "year", target)
    return Drafted(target, todo)
