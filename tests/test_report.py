"""The drafted 分析报告 (issue 29): every figure it prints is the master's; units left out are named; the changes vs
the previous period and the same period last year are right; the annual report has 第十一条's parts; LibreOffice
prints it with every heading and no marker left; the Word template can be edited and the output follows."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from qtables.devtools import samplegen
from qtables.devtools.generate import SAMPLE_KEY, SAMPLE_PASSWORD, SAMPLE_PERIODS
from qtables.intake.run import intake
from qtables.issue.workbook import IssueRequest, build_workbook
from qtables.ledger.workspace import init_workspace, open_workspace
from qtables.merge.master import merge
from qtables.period import Period
from qtables.report.document import draft_report
from qtables.report.template import ANNUAL, PARTS, TEMPLATE, build_default, outline
from qtables.report.writing import num
from qtables.template.layout import TableLayout
from qtables.template.names import tables_for

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def text_of(path: Path) -> str:
    from docx import Document

    doc = Document(str(path))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, spec):
    root = tmp_path_factory.mktemp("report") / "ws"
    init_workspace(root, signing_key=SAMPLE_KEY)
    cfg = root / "qtables.toml"
    cfg.write_text(re.sub(r'protection_password = ".*"', f'protection_password = "{SAMPLE_PASSWORD}"',
                          cfg.read_text(encoding="utf-8")), encoding="utf-8")
    ws = open_workspace(root)
    for code in SAMPLE_PERIODS:
        intake(ws, [SAMPLES / code], spec=spec)
    return ws


def test_every_figure_of_the_report_is_the_masters(demo, spec):
    period = Period.parse(SAMPLE_PERIODS[-1])
    master = merge(demo, spec, period)
    drafted = draft_report(demo, spec, period)
    text = text_of(drafted.path)
    rows = CalamineWorkbook.from_path(str(master)).get_sheet_by_name("附表5汇总").to_python()
    total = next(r for r in rows if any("合计" == str(c)[-2:] for c in r[:3]))
    ids = [c.id for c in spec.table("t5").columns]
    at = {cid: total[i] for i, cid in enumerate(ids) if i >= 2}
    for phrase in (f"在建工程 {num(at['ucon_count'])} 项", f"面积 {num(at['ucon_area'])} 万㎡", f"造价 {num(at['ucon_cost'])} 万元",
                   f"新注册 {num(at['new_count'])} 项", f"竣工 {num(at['done_count'])} 项", f"质量备案 {num(at['filed_count'])} 项",
                   f"质量备案率（项数）{num(at['filing_rate_count'])}%", f"（面积）{num(at['filing_rate_area'])}%",
                   f"用户满意率 {num(at['satisfaction_rate'])}%", f"质量事故 {num(at['accident_count'])} 起"):
        assert phrase in text, phrase
    # The unit left out of the 合计 is named, with why; the 质量指数 table ranks the units the master's sheet ranks.
    assert "洛阳市（退回，未计入）" in text
    assert "按在建项数排序）（不含洛阳市，见上文）" in text and "各单位在建与竣工工程项数（不含洛阳市，见上文）" in text
    q = CalamineWorkbook.from_path(str(master)).get_sheet_by_name("质量指数").to_python()
    first = next(r for r in q if r and r[0] == 1.0)
    assert f"\n{first[2]}\n{num(first[3], 1)}\n" in f"\n{text}\n"
    # Eleven parts as headings, in the 办法's order; people's parts marked, the data's written.
    positions = [text.index(f"（{i}）{part}") for i, part in enumerate(PARTS, 1)]
    assert positions == sorted(positions)
    assert drafted.todo == text.count("【待填写：") >= 8 and "年度工程质量分析" not in text
    # 图1 is Word's own chart, its figures the ranking table's: the cached values Word draws and the embedded
    # workbook 编辑数据 opens both hold each unit's 在建 and 竣工.
    import io
    import zipfile

    with zipfile.ZipFile(drafted.path) as z:
        chart = z.read("word/charts/chart1.xml").decode("utf-8")
        embedded = z.read("word/embeddings/Microsoft_Excel_Worksheet1.xlsx")
        assert 'Target="charts/chart1.xml"' in z.read("word/_rels/document.xml.rels").decode()
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(embedded)).get_sheet_by_name("Sheet1").to_python()
    ucon, done = ids.index("ucon_count"), ids.index("done_count")
    ranking = {r[1]: (r[ucon], r[done]) for r in rows if r and isinstance(r[ucon], float) and r[1] not in ("合计", "全省合计")}
    assert sheet[0][1:] == ["在建", "竣工"] and len(sheet) - 1 == len(ranking)
    for name, ucon, done in sheet[1:]:
        assert ranking[name] == (ucon, done), name
        assert f"<c:v>{name}</c:v>" in chart
    # Public: no company names (第十五条).
    public = draft_report(demo, spec, period, public=True, out=drafted.path.with_name("公开版.docx"))
    assert "记录较多的责任单位" in text and "记录较多的责任单位" not in text_of(public.path)
    assert not any(b in text_of(public.path) for b in samplegen.BUILDERS)


def _chained_workspace(root: Path, spec) -> tuple:
    """Three cities with 2024Q3, 2025Q2 and (two of them) 2025Q3, each quarter continuing the last."""
    ws = init_workspace(root, signing_key="5e" * 32)
    inbox = root.parent / "inbox"
    inbox.mkdir()
    figures: dict[tuple[str, str], int] = {}
    for code in ("410100", "410200", "410300"):
        unit = ws.registry.unit(code)
        previous = None
        for period_code in ("2024Q3", "2025Q2", "2025Q3"):
            if period_code == "2025Q3" and code == "410300":
                continue
            period = Period.parse(period_code)
            set_names, table_ids = tables_for(spec, period)
            layouts = [TableLayout.for_unit(spec.table(t), unit) for t in table_ids]
            filling = samplegen.generate(layouts, unit, period, seed=29, previous=previous if period_code == "2025Q3" else None)
            previous = filling
            buf = io.BytesIO()
            build_workbook(buf, spec=spec, request=IssueRequest(unit, period, table_ids, set_names, values=filling.values,
                                                                line_values=filling.line_values), key=ws.signing_key, password="pw")
            (inbox / f"{code}_{period_code}.xlsx").write_bytes(buf.getvalue())
            figures[(code, period_code)] = sum(r.get("ucon_count") or 0 for r in filling.values["t5"])
    intake(ws, [inbox], spec=spec)
    return ws, figures


def test_changes_against_last_quarter_and_last_year_like_for_like(tmp_path, spec):
    ws, figures = _chained_workspace(tmp_path / "ws", spec)
    drafted = draft_report(ws, spec, Period.parse("2025Q3"))
    text = text_of(drafted.path)
    common = ("410100", "410200")  # 410300 has no 2025Q3: left out of both comparisons, and named
    for then, words in (("2025Q2", "比上季度"), ("2024Q3", "比上年同期")):
        delta = sum(figures[(c, "2025Q3")] for c in common) - sum(figures[(c, then)] for c in common)
        said = re.search(rf"在建工程项数{words}(增加|减少|持平)( ([\d,]+) 项)?", text)
        assert said, (words, text[:2000])
        assert said.group(1) == ("增加" if delta > 0 else "减少" if delta < 0 else "持平")
        if delta:
            assert int(said.group(3).replace(",", "")) == abs(delta)
        assert "按两期均有数据的 2 个单位可比口径" in text
    assert "洛阳市（未报送）" in text


def test_the_annual_report_has_article_eleven(tmp_path, spec, workspace):
    from builders import annual_workspace

    ws = annual_workspace(tmp_path, spec, workspace)
    text = text_of(draft_report(ws, spec, Period.parse("2025")).path)
    for part in ANNUAL:
        assert part in text
    assert "上年度接转工程" in text and "2025年度" in text


@pytest.mark.libreoffice
def test_libreoffice_prints_every_heading_and_no_marker(demo, spec, tmp_path, lo_profile):
    import libreoffice

    drafted = draft_report(demo, spec, Period.parse(SAMPLE_PERIODS[-1]), out=tmp_path / "r.docx")
    subprocess.run([libreoffice.SOFFICE, f"-env:UserInstallation={lo_profile.resolve().as_uri()}", "--headless", "--norestore",
                    "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(tmp_path), str(drafted.path)],
                   check=True, capture_output=True, timeout=300)
    pdf = tmp_path / "r.pdf"
    printed = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", printed)
    for i, part in enumerate(PARTS, 1):
        assert re.sub(r"\s+", "", f"（{i}）{part}") in flat, part
    assert "{{" not in printed and "}}" not in printed
    outside = re.sub(r"【[^】]*】", "", flat)
    assert "待填写" not in outside
    assert "图1" in flat and "表1" in flat and "第1页" in flat
    # The chart is drawn: the page with 图1's caption carries its bars (the series' blue), set with no font of ours.
    page = next(n for n in range(1, 20) if "图1" in re.sub(r"\s+", "", subprocess.run(
        ["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True, text=True).stdout))
    subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "50", str(pdf), str(tmp_path / "chart")], check=True)
    ppm = next(tmp_path.glob("chart*.ppm")).read_bytes()  # P6: a header of three lines, then RGB bytes
    pixels = ppm.split(b"\n", 3)[3]
    blue = sum(1 for i in range(0, len(pixels) - 2, 3)
               if abs(pixels[i] - 0x44) < 24 and abs(pixels[i + 1] - 0x72) < 24 and abs(pixels[i + 2] - 0xC4) < 24)
    assert blue > 2000, blue  # headings in the theme's blue alone make a few hundred


def test_the_template_is_the_provinces_to_edit(demo, spec, tmp_path):
    from docx import Document
    from docx.shared import Pt

    assert outline(TEMPLATE) == outline(build_default(tmp_path / "fresh.docx"))  # the shipped file is the command's
    doc = Document(str(TEMPLATE))
    for p in doc.paragraphs:
        if p.text == "（2）本季度工程质量监督管理总体情况":
            p.text = "（二）全省监督管理概况"
    doc.styles["Heading 2"].font.size = Pt(15)
    edited = tmp_path / "省厅模板.docx"
    doc.save(str(edited))
    out = draft_report(demo, spec, Period.parse(SAMPLE_PERIODS[-1]), template=edited, out=tmp_path / "out.docx").path
    result = Document(str(out))
    assert "（二）全省监督管理概况" in [p.text for p in result.paragraphs]
    assert result.styles["Heading 2"].font.size == Pt(15)
    assert any(p.text.startswith("全省本季度在建工程") for p in result.paragraphs)  # still filled under it
    bad = Document(str(TEMPLATE))
    bad.add_paragraph("{{nonsense}}")
    bad.save(str(tmp_path / "bad.docx"))
    from qtables.errors import QtablesError

    with pytest.raises(QtablesError) as err:
        draft_report(demo, spec, Period.parse(SAMPLE_PERIODS[-1]), template=tmp_path / "bad.docx", out=tmp_path / "x.docx")
    assert err.value.code == "R03"
