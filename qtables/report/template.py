"""The editable Word template of the drafted report (shipped as ``qtables/report/template.docx``, made by
``python -m qtables.devtools report-template``; tests/test_report.py holds the shipped file to this).

A template is an ordinary .docx: its styles, header, headings and wording are the province's to change in Word.
What the program fills is marked by paragraphs whose whole text is a marker:

* ``{{title}}``, ``{{summary}}``, ``{{part1}}`` … ``{{part11}}`` (第十条 7's eleven parts), ``{{annual1}}`` …
  ``{{annual3}}`` (第十一条), ``{{quality}}`` (质量指数, 第七条) — replaced by what the data say, or by a marked
  placeholder 【待填写：…】 where only people can write;
* ``{{#annual}}`` … ``{{/annual}}`` — kept for an annual report only (the markers themselves removed).

A marker the template leaves out is simply not written; an unknown marker is refused (R03) rather than left in.
"""

from __future__ import annotations

from pathlib import Path

# 第十条 7: the eleven parts of the 《工程质量运行态势分析报告》, in the 办法's order and words.
PARTS = [
    "企业总体情况", "本季度工程质量监督管理总体情况", "对工程参建各方质量行为的监督情况及存在的主要问题",
    "对实体工程质量监督采取的具体措施", "当地治理工程质量通病的阶段性目标及取得的效果（含主要质量通病种类及治理情况）",
    "企业不良行为记录及行政处罚的情况", "工程质量监督管理工作中存在的突出问题", "工程质量新技术、新工艺推广应用情况",
    "工程质量事故及投诉情况", "工程质量监督执法情况", "进一步做好工程质量监督管理工作的对策建议",
]
# 第十一条: what the annual report adds.
ANNUAL = ["建设工程质量监督年度统计情况（附表7）", "建设工程质量监督年度分类统计情况（附表6）", "机制建立、政策制定及活动开展情况"]
MARKERS = {"title", "summary", "quality", *(f"part{i}" for i in range(1, 12)), *(f"annual{i}" for i in range(1, 4))}
BLOCKS = {"annual"}

TEMPLATE = Path(__file__).with_name("template.docx")


def build_default(target: Path) -> Path:
    """The shipped template: A4 portrait, 宋体 body and 黑体 headings, the province's header line, page numbers."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.6)
    section.top_margin, section.bottom_margin = Cm(3.0), Cm(2.5)
    for name, font, size in (("Normal", "宋体", 12), ("Title", "黑体", 18), ("Heading 1", "黑体", 14), ("Heading 2", "黑体", 12),
                             ("Caption", "宋体", 10)):
        style = doc.styles[name]
        style.font.name, style.font.size = font, Pt(size)
        style.font.color.rgb = None
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    doc.styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    header = section.header.paragraphs[0]
    header.text = "河南省住房和城乡建设厅　建设工程质量分析报告"
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = footer.add_run("第 ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    inner = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    inner.append(text)
    field.append(inner)
    run._r.addnext(field)
    footer.add_run(" 页")

    doc.add_paragraph("{{title}}", style="Title")
    doc.add_paragraph("{{summary}}")
    doc.add_heading("工程质量运行态势分析（《办法》第十条 7）", level=1)
    for i, part in enumerate(PARTS, 1):
        doc.add_heading(f"（{i}）{part}", level=2)
        doc.add_paragraph(f"{{{{part{i}}}}}")
    doc.add_paragraph("{{#annual}}")
    doc.add_heading("年度工程质量分析（《办法》第十一条）", level=1)
    for i, part in enumerate(ANNUAL, 1):
        doc.add_heading(f"{'一二三'[i - 1]}、{part}", level=2)
        doc.add_paragraph(f"{{{{annual{i}}}}}")
    doc.add_paragraph("{{/annual}}")
    doc.add_heading("附：质量指数（《办法》第七条）", level=1)
    doc.add_paragraph("{{quality}}")
    target.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(target))
    return target


def outline(path: Path) -> list[tuple[str, str]]:
    """(style, text) of every paragraph: what the shipped template is held to."""
    from docx import Document

    return [(p.style.name, p.text) for p in Document(str(path)).paragraphs]
