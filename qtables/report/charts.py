"""The report's charts as Word's own charts (DrawingML), not pictures.

A chart part holds its categories and values (the caches Word, WPS and LibreOffice draw from) beside an embedded
workbook with the same figures, so the office can restyle the chart or 编辑数据 in Word/WPS like any chart it made
itself.  Nothing beyond python-docx and xlsxwriter is needed, and no font: the labels are text that the word
processor sets in the document's own fonts (a picture drawn here would need a CJK font on this machine)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from xlsxwriter.utility import xl_col_to_name

C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
COLORS = ("4472C4", "ED7D31", "A5A5A5", "FFC000")
EMU_PER_CM = 360000


@dataclass(frozen=True)
class ChartData:
    """A clustered column chart: one value per category in each series."""

    categories: list[str]
    series: dict[str, list[float]]
    value_title: str = ""


def charts(facts: Any) -> dict[str, ChartData]:
    """The report's charts by name."""
    rows = sorted(facts.now.rows.items(), key=lambda kv: -(kv[1].get("ucon_count") or 0))
    return {"units": ChartData([facts.now.units[c].name for c, _r in rows],
                               {"在建": [float(r.get("ucon_count") or 0) for _c, r in rows],
                                "竣工": [float(r.get("done_count") or 0) for _c, r in rows]}, "项数")}


def workbook(data: ChartData) -> bytes:
    """The embedded workbook: 单位 in column A, a series a column, a header row (what 编辑数据 opens)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Sheet1")
    sheet.write_row(0, 0, ["", *data.series])
    for i, name in enumerate(data.categories, start=1):
        sheet.write_string(i, 0, name)
        sheet.write_row(i, 1, [values[i - 1] for values in data.series.values()])
    book.close()
    return out.getvalue()


def chart_xml(data: ChartData) -> bytes:
    """The chart part: a clustered column chart whose categories and values refer to the embedded workbook and
    carry their caches."""
    n = len(data.categories)
    cats = "".join(f'<c:pt idx="{i}"><c:v>{escape(name)}</c:v></c:pt>' for i, name in enumerate(data.categories))
    series = []
    for k, (name, values) in enumerate(data.series.items()):
        col = xl_col_to_name(k + 1)
        points = "".join(f'<c:pt idx="{i}"><c:v>{v:g}</c:v></c:pt>' for i, v in enumerate(values))
        series.append(
            f'<c:ser><c:idx val="{k}"/><c:order val="{k}"/>'
            f'<c:tx><c:strRef><c:f>Sheet1!${col}$1</c:f><c:strCache><c:ptCount val="1"/><c:pt idx="0"><c:v>{escape(name)}</c:v>'
            f'</c:pt></c:strCache></c:strRef></c:tx>'
            f'<c:spPr><a:solidFill><a:srgbClr val="{COLORS[k % len(COLORS)]}"/></a:solidFill></c:spPr>'
            f'<c:invertIfNegative val="0"/>'
            f'<c:cat><c:strRef><c:f>Sheet1!$A$2:$A${n + 1}</c:f><c:strCache><c:ptCount val="{n}"/>{cats}</c:strCache></c:strRef></c:cat>'
            f'<c:val><c:numRef><c:f>Sheet1!${col}$2:${col}${n + 1}</c:f><c:numCache><c:formatCode>General</c:formatCode>'
            f'<c:ptCount val="{n}"/>{points}</c:numCache></c:numRef></c:val></c:ser>')
    small = '<c:txPr><a:bodyPr{rot}/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="{size}"/></a:pPr><a:endParaRPr lang="zh-CN"/></a:p></c:txPr>'
    upright = small.format(rot=' rot="-5400000" vert="horz"', size=800)  # every unit's name, upright: none skipped
    plain, legend = small.format(rot="", size=800), small.format(rot="", size=900)
    title = (f'<c:title><c:tx><c:rich><a:bodyPr rot="-5400000" vert="horz"/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="900" b="0"/>'
             f'</a:pPr><a:r><a:rPr lang="zh-CN" sz="900" b="0"/><a:t>{escape(data.value_title)}</a:t></a:r></a:p></c:rich></c:tx>'
             f'<c:overlay val="0"/></c:title>') if data.value_title else ""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<c:chartSpace xmlns:c="{C}" xmlns:a="{A}" xmlns:r="{R}"><c:lang val="zh-CN"/><c:roundedCorners val="0"/>'
        f'<c:chart><c:autoTitleDeleted val="1"/><c:plotArea><c:layout/>'
        f'<c:barChart><c:barDir val="col"/><c:grouping val="clustered"/><c:varyColors val="0"/>{"".join(series)}'
        f'<c:gapWidth val="60"/><c:axId val="1001"/><c:axId val="1002"/></c:barChart>'
        f'<c:catAx><c:axId val="1001"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/>'
        f'<c:axPos val="b"/><c:numFmt formatCode="General" sourceLinked="0"/><c:majorTickMark val="none"/>'
        f'<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>{upright}'
        f'<c:crossAx val="1002"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/>'
        f'<c:tickLblSkip val="1"/><c:noMultiLvlLbl val="0"/></c:catAx>'
        f'<c:valAx><c:axId val="1002"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/>'
        f'<c:axPos val="l"/><c:majorGridlines><c:spPr><a:ln w="6350"><a:solidFill><a:srgbClr val="D9D9D9"/></a:solidFill>'
        f'</a:ln></c:spPr></c:majorGridlines>{title}<c:numFmt formatCode="General" sourceLinked="0"/>'
        f'<c:majorTickMark val="none"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>{plain}'
        f'<c:crossAx val="1001"/><c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx></c:plotArea>'
        f'<c:legend><c:legendPos val="t"/><c:overlay val="0"/>{legend}</c:legend>'
        f'<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>'
        f'<c:externalData r:id="rId1"><c:autoUpdate val="0"/></c:externalData></c:chartSpace>')
    return xml.encode("utf-8")


def insert(document: Any, run: Any, data: ChartData, *, width_cm: float = 15.5, height_cm: float = 8.5) -> None:
    """Put ``data`` as a chart in ``run`` of python-docx ``document``: the chart part and its workbook added to the
    package, related from the document, drawn inline."""
    from docx.opc.constants import CONTENT_TYPE as CT
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    package = document.part.package
    taken = {str(p.partname) for p in package.iter_parts()}
    number = next(i for i in range(1, 10_000) if f"/word/charts/chart{i}.xml" not in taken)
    chart = Part(PackURI(f"/word/charts/chart{number}.xml"), CT.DML_CHART, chart_xml(data), package)
    sheet = Part(PackURI(f"/word/embeddings/Microsoft_Excel_Worksheet{number}.xlsx"), CT.SML_SHEET, workbook(data), package)
    assert chart.relate_to(sheet, RT.PACKAGE) == "rId1"  # the id chart_xml's externalData names
    rid = document.part.relate_to(chart, RT.CHART)
    ids = [int(v) for v in document.element.xpath("//wp:docPr/@id")]  # a drawing's id is unique in the document
    cx, cy = int(width_cm * EMU_PER_CM), int(height_cm * EMU_PER_CM)
    run._r.append(parse_xml(
        f'<w:drawing xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:wp="{WP}" xmlns:a="{A}" '
        f'xmlns:c="{C}" xmlns:r="{R}"><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/>'
        f'<wp:effectExtent l="0" t="0" r="0" b="0"/><wp:docPr id="{max(ids, default=0) + 1}" name="图表 {number}"/>'
        f'<wp:cNvGraphicFramePr/><a:graphic><a:graphicData uri="{C}"><c:chart r:id="{rid}"/></a:graphicData></a:graphic>'
        f'</wp:inline></w:drawing>'))
