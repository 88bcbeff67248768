"""Paper a director signs: the demo's master, a receipt with errors and a template, printed through LibreOffice and
read back from the PDF (pdftotext -bbox): type no smaller than 7 pt, every record whole, no page of empty grid,
dates as dates, and what a total leaves out said under it."""

from __future__ import annotations

import re
import subprocess

import openpyxl
import pytest
from click.testing import CliRunner

from qtables.cli import main
from qtables.devtools.pages import review

pytestmark = pytest.mark.libreoffice

# 7 pt, less what pdftotext's word boxes lose to rounding (type printed at exactly 70 % measures 6.98–7.0).
MIN_PT = 6.95


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper") / "演示"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "工作区"


def _pages(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def _body(page: str) -> list[str]:
    """A page's lines without its footer (附表5汇总　第 1 页)."""
    return [line for line in page.splitlines() if line.strip() and not re.fullmatch(r"\s*\S*\s*第\s*\d+\s*页.*", line)]


def _unprinted(book, pdf) -> dict[str, list[str]]:
    """Each visible sheet's text cells that the PDF does not print whole (pdftotext -raw keeps a cell's wrapped lines
    together; spaces, line breaks and the ✓/✗ marks, which the PDF's text layer drops, left out of the comparison)."""
    from python_calamine import CalamineWorkbook

    drop = re.compile(r"[\s✓✗]+")
    printed = drop.sub("", subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout)
    workbook = CalamineWorkbook.from_path(str(book))
    out: dict[str, list[str]] = {}
    for sheet in workbook.sheets_metadata:
        if "Hidden" in str(sheet.visible):
            continue
        for row in workbook.get_sheet_by_name(sheet.name).to_python():
            for value in row:
                if isinstance(value, str) and drop.sub("", value) and drop.sub("", value) not in printed:
                    out.setdefault(sheet.name, []).append(value)
    return out


def _footer(page: str) -> str:
    return [line for line in page.splitlines() if line.strip()][-1]


def test_the_master_prints_readable_whole_and_says_what_it_leaves_out(demo, tmp_path):
    master = demo / "masters" / "2025Q3_全省汇总.xlsx"
    report = review(master, tmp_path / "master", png=False)
    assert report.problems == []
    small = {page: size for page, size in report.type_sizes.items() if size < MIN_PT}
    assert not small, small  # was ~5 pt when the 附表5汇总 was shrunk to one page wide
    pages = _pages(report.pdf)
    text = "\n".join(pages)
    # The form: 表号, 填表单位, the two-level header's groups, 填表说明 and the lines to sign, on the 附表5汇总 pages.
    form = "\n".join(p for p in pages if "附表5汇总" in p)
    for words in ("表号：豫建质统5表", "填表单位（盖章）", "上季度接转工程", "本季度质量备案", "填表说明", "统计员", "批准人", "报送日期"):
        assert words in form, words
    assert "全省合计不含：洛阳市（退回）" in text
    assert "全省合计不含：洛阳市（退回）" in "\n".join(p for p in pages if "附表5明细" in p)  # under the 明细's total too
    assert _unprinted(master, report.pdf) == {}  # every text of every sheet printed whole (~7,000 cells)
    # Every record printed whole: each 记录编号 of 附表1 and 注册号 of 附表3 is one word on the page, not cut.
    wb = openpyxl.load_workbook(master, read_only=True)
    for sheet, column in (("附表1", "记录编号"), ("附表3", "工程质量监督注册号")):
        rows = list(wb[sheet].iter_rows(values_only=True))
        head = next(i for i, r in enumerate(rows) if column in [str(v or "").replace("\n", "") for v in r])
        c = [str(v or "").replace("\n", "") for v in rows[head]].index(column)
        values = [str(r[c]) for r in rows[head + 1:] if r[c]]
        assert len(values) > 20
        missing = [v for v in values if v not in text]
        assert not missing, (sheet, missing[:5])
    # Times as dates, the Chinese way; no ISO text.
    assert re.search(r"2025年9月30日 09:00", text) and "T09:00:00" not in text
    # The 分析报告 is a column of 报送情况; the trend is like for like, and says so.
    status = "\n".join(p for p in pages if "报送情况" in p)
    assert "工程质量分" in status and "未收" in status
    assert "可比口径" in text


def test_an_annual_master_with_most_units_missing_prints_whole(tmp_path, spec, workspace):
    """The year's master when 3 of 28 units have filed: 附表7汇总 too tall for one page runs on with its last rows, the
    合计, the long 不含 note and the lines to sign together (never the signature line alone under a repeated header);
    the charts' captions and labels stay on the page; a 考核评分表 nobody has filed lists every unit as 未收 and says so."""
    from builders import annual_workspace
    from qtables.merge.master import merge
    from qtables.period import Period

    ws = annual_workspace(tmp_path, spec, workspace)
    master = merge(ws, spec, Period.parse("2025"))
    report = review(master, tmp_path / "pages", png=False)
    assert report.problems == []  # nothing past the right edge (the charts' captions were), no blank page
    assert _unprinted(master, report.pdf) == {}
    small = {page: size for page, size in report.type_sizes.items() if size < MIN_PT}
    assert not small, small
    pages = _pages(report.pdf)
    form = [p for p in pages if re.search(r"附表7汇总\s+第", p)]
    signed = [p for p in form if "统计员" in p]
    assert len(signed) == 1 and "全省合计" in signed[0] and re.search(r"\d{2}\s*新蔡县", signed[0]), signed
    assert "未报25个：" in "".join("".join(signed).split())  # grouped by reason, every unit named once
    scoring = [p for p in pages if "考核评分表（附件2）" in p]
    assert scoring and "新蔡县" in scoring[0] and "未收" in "".join(scoring)
    assert "尚未收到任何单位" in "".join("".join(scoring).split())
    for broken in ("（2分\n", "（4\n"):
        assert not any(broken in p for p in scoring)
    # 质量指数: the 25 units without figures listed after the ranked three, with why, on the one page.
    [quality] = [p for p in pages if re.search(r"质量指数\s+第\s*1\s*页", p)]
    assert quality.count("无通过审核的数据") == 25 and "新蔡县" in quality and "（权重0.3）" in "".join(quality.split())


def test_a_receipt_prints_what_was_filled_with_its_notes_and_nothing_blank(demo, tmp_path):
    receipt = next((demo / "receipts" / "2025Q3" / "410300").glob("*.xlsx"))
    report = review(receipt, tmp_path / "receipt", png=False)
    assert report.problems == []
    assert _unprinted(receipt, report.pdf) == {}
    small = {page: size for page, size in report.type_sizes.items() if size < MIN_PT}
    assert not small, small
    pages = _pages(report.pdf)
    # No page of empty grid: every page has a line of content (a figure beside words), not only headers and 序号.
    blank = [n for n, page in enumerate(pages, start=1)
             if not any(re.search(r"\d", line) and re.search(r"[\u4e00-\u9fff]", line) for line in _body(page)[1:])]
    assert not blank, blank
    # Each marked sheet prints its notes after it (Excel honours this; LibreOffice prints no notes, so the same text
    # is the 审核结果 list on page 1).
    import zipfile
    with zipfile.ZipFile(receipt) as z:
        marked = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet") and b"<legacyDrawing" in z.read(n)]
        assert marked and all(b'cellComments="atEnd"' in z.read(n) for n in marked)
    first = pages[0]
    for words in ("审核结果：退回", "代码", "级别", "位置", "问题", "应为", "实为", "处理办法", "审核日期", "第1版", "更正期限", "T5-01"):
        assert words in first, words
    assert re.search(r"审核结果\s+第\s*1\s*页", _footer(first)), _footer(first)  # numbered per sheet


def test_a_template_prints_its_tables_readable_numbered_per_sheet(demo, tmp_path):
    template = next((demo.parent / "下发模板" / "2025Q3").glob("*410300*.xlsx"))
    report = review(template, tmp_path / "template", png=False)
    assert report.problems == []
    assert _unprinted(template, report.pdf) == {}  # the 自查's labels were cut under their counts
    small = {page: size for page, size in report.type_sizes.items() if size < MIN_PT}
    assert not small, small
    pages = _pages(report.pdf)
    t5 = [p for p in pages if re.search(r"附表5\s+第\s*\d+\s*页", p)]
    assert t5 and re.search(r"附表5\s+第\s*1\s*页", t5[0])  # numbered from 1 on its own, not 第29页 of the workbook
    # Two pages wide, the row labels repeated on the second: each line label printed once across the two pages,
    # none of them in a repeated column (the second page used to say 填表单位（盖章）： and 统计员： again, empty).
    assert len(t5) == 2 and "序号" in t5[1] and "市本级" in t5[1]
    for label in ("填表单位", "报告期", "统计员", "批准人", "报送日期"):
        assert sum(page.count(label) for page in t5) == 1, label
    assert "（市）" in "".join(t5[0].split())  # the 序号 header's bracket not broken over two lines
    selfcheck = next(p for p in pages if "自查结果" in p)
    assert "尚未填写" in selfcheck and "可以上报" not in selfcheck.split("序号")[0]


# -- the page plan itself (no LibreOffice needed, but kept beside the printed checks) ---------------------------


def test_the_page_plan_never_shrinks_type_below_7pt_and_splits_at_groups():
    from qtables.errors import WorkspaceError
    from qtables.spec import load_spec
    from qtables.template import paper
    from qtables.template.lines import column_width

    t5 = load_spec().table("t5")
    widths = [column_width(c) for c in t5.columns]
    headers = [tuple(c.header) for c in t5.columns]
    groups = paper.group_starts(headers)
    a4 = paper.plan(widths, paper="A4", lead=2, boundaries=groups)
    assert a4.scale >= paper.MIN_SCALE and a4.pages_wide == 2 and set(a4.breaks) <= groups
    assert headers[a4.breaks[0]][0] != headers[a4.breaks[0] - 1][0]  # a group is never cut in two
    a3 = paper.plan(widths, paper="A3", lead=2, boundaries=groups)
    assert a3.pages_wide == 1 and a3.breaks == () and a3.scale >= paper.MIN_SCALE
    # A short table that fits one page tall at a readable scale is kept on one page; a long one is not shrunk.
    assert paper.plan(widths[:8], paper="A4", lead=2, height=700).scale < 100
    # One that cannot fit one page tall even at 70 % runs on to the next page at its width's scale (larger type).
    wide_scale = paper.plan(widths[:8], paper="A4", lead=2).scale
    assert paper.plan(widths[:8], paper="A4", lead=2, height=5000).scale == wide_scale > paper.MIN_SCALE
    assert paper.paper_of({}) == "A4" and paper.paper_of({"print": {"paper": "a3"}}) == "A3"
    with pytest.raises(WorkspaceError) as bad:
        paper.paper_of({"print": {"paper": "B5"}})
    assert bad.value.code == "W003" and "A4 或 A3" in str(bad.value)


def test_a_scoring_group_starts_a_new_page_rather_than_being_cut_where_it_fits():
    from qtables.template.paper import keep_together

    # A4 landscape at 100 %: about 481 points of rows a page.  Page 1 has 150 points of title and header.
    big = [60.0] * 10          # 600 points: longer than a page, runs on where it falls
    small = [50.0] * 4         # 200 points: fits a page
    cuts = keep_together([small, small, big, small], top=150, header=60, tail=40, scale=100, paper="A4")
    # The second small group would be cut at the foot of page 1 (150 + 200 + 200 > 481): it starts page 2.
    assert cuts[0] == 4
    # The big group never gets a break of its own (it cannot fit any page); the last small group follows it whole.
    assert 8 not in cuts and cuts[-1] == 18
    assert keep_together([small], top=150, header=60, tail=40, scale=100, paper="A4") == []
