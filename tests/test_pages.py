"""What a clerk prints: templates through LibreOffice to PDF, checked page by page."""

from __future__ import annotations

import subprocess

import pytest

from qtables.devtools.pages import review

pytestmark = pytest.mark.libreoffice


def test_quarterly_and_annual_templates_print_cleanly(quarter_templates, annual_templates, tmp_path):
    for issued in (quarter_templates[1], annual_templates[1]):
        report = review(issued.path, tmp_path / issued.path.stem, png=False)
        assert report.problems == [], (issued.path.name, report.problems)
        guide = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(report.pdf), "-"], capture_output=True,
                               text=True).stdout
        assert "填表说明" in guide and "填表单位" not in guide.splitlines()[0]
    annual = review(annual_templates[1].path, tmp_path / "again", png=False)
    text = subprocess.run(["pdftotext", str(annual.pdf), "-"], capture_output=True, text=True).stdout
    assert "2025年度" in text and "表号：豫建质统7表" in text
