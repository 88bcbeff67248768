"""Look at the pages: print workbooks through LibreOffice to PDF, then PNG, and flag what reads wrong.

    python -m qtables.devtools pages FILE... [--out DIR]

Every page becomes ``DIR/<file>-NN.png`` for a person to look at.  The text of each page (pdftotext) is
checked for what a clerk would see as broken: ``###`` (a column too narrow for its number), an empty page
(a sheet with nothing on it), and a page whose text runs past the right margin (cut text).  Needs
LibreOffice (soffice) and poppler (pdftoppm, pdftotext), as the test command installs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


@dataclass
class PageReport:
    file: Path
    pdf: Path
    pages: int
    pngs: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    type_sizes: dict[int, float] = field(default_factory=dict)  # page -> the smallest CJK type on it (points)


_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def words(bbox: str) -> list[tuple[float, float, float, float, str]]:
    """(xMin, yMin, xMax, yMax, text) of every word ``pdftotext -bbox`` found on a page."""
    import html

    return [(float(a), float(b), float(c), float(d), html.unescape(t)) for a, b, c, d, t in _WORD.findall(bbox)]


def smallest_type(bbox: str) -> float | None:
    """The smallest type on a page, in points, from its words of CJK characters only: a CJK glyph is one em wide,
    so a word's width (its height, printed upright) over its length is the size it was printed at, whatever the
    font.  Words of a single
    character are left out (a bullet or mark), and a line label (填表单位（公章）：), which shrinks to fit its cells."""
    sizes = [max(x1 - x0, y1 - y0) / len(t) for x0, y0, x1, y1, t in words(bbox)  # upright words (a chart's labels) too
             if len(t) >= 2 and not t.endswith("：")
             and all("\u4e00" <= ch <= "\u9fff" or "\uff01" <= ch <= "\uff5e" for ch in t)]
    return round(min(sizes), 2) if sizes else None


def to_pdf(path: Path, out_dir: Path) -> Path:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise RuntimeError("LibreOffice (soffice) is needed to print the pages")
    with tempfile.TemporaryDirectory() as profile:
        (Path(profile) / "user").mkdir()
        (Path(profile) / "user" / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
        env = dict(os.environ, SAL_USE_VCLPLUGIN="svp", HOME=profile)
        subprocess.run([soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
                        "--convert-to", "pdf", "--outdir", str(out_dir), str(path)], env=env, capture_output=True, timeout=600)
    pdf = out_dir / (path.stem + ".pdf")
    if not pdf.exists():
        raise RuntimeError(f"LibreOffice did not print {path.name}")
    return pdf


def _page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    m = re.search(r"^Pages:\s+(\d+)", info, re.M)
    return int(m.group(1)) if m else 0


def review(path: Path, out_dir: Path, *, png: bool = True, dpi: int = 60) -> PageReport:
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = to_pdf(path, out_dir)
    report = PageReport(path, pdf, _page_count(pdf))
    for n in range(1, report.pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(pdf), "-"],
                              capture_output=True, text=True).stdout
        # The footer (附表5汇总　第 1 页) is not content: a page with nothing else is blank.
        body = "\n".join(line for line in text.splitlines() if not re.fullmatch(r"\s*\S*\s*第\s*\d+\s*页.*", line))
        if "###" in text:
            report.problems.append(f"第{n}页：有 ### （列宽不够，数字显示不出来）")
        if not body.strip():
            report.problems.append(f"第{n}页：空白页")
        bbox = subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-bbox", str(pdf), "-"], capture_output=True, text=True).stdout
        size = smallest_type(bbox)
        if size is not None:
            report.type_sizes[n] = size
        page = re.search(r'<page width="([\d.]+)"', bbox)
        if page:
            width = float(page.group(1))
            beyond = [float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox) if float(x) > width - 5]
            if beyond:
                report.problems.append(f"第{n}页：文字超出页面右边缘（{len(beyond)} 处）")
    if png:
        prefix = out_dir / path.stem
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(prefix)], check=True, capture_output=True)
        report.pngs = sorted(out_dir.glob(f"{path.stem}-*.png"))
    return report


def main(argv: list[str]) -> int:
    out = Path("pages")
    if "--out" in argv:
        i = argv.index("--out")
        out = Path(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    if not argv or any(a.startswith("-") for a in argv):
        print("usage: python -m qtables.devtools pages FILE... [--out DIR]", file=sys.stderr)
        return 2
    bad = 0
    for name in argv:
        report = review(Path(name), out)
        print(f"{report.file.name}: {report.pages} 页，PNG 在 {out}")
        for problem in report.problems:
            print(f"  {problem}")
        bad += bool(report.problems)
    return 1 if bad else 0
