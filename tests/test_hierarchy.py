"""A city is a workspace one level down: it collects from its counties and reports upward."""

from __future__ import annotations

from builders import build_filled
from click.testing import CliRunner
from mailfixtures import python_eml
from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.cli import main
from qtables.intake.run import intake
from qtables.issue.run import issue_templates
from qtables.merge.master import merge
from qtables.period import Period
from qtables.ledger.workspace import init_workspace


def test_city_collects_counties_merges_and_reports_upward(spec, workspace, tmp_path):
    period = Period.parse("2025Q3")
    # The province issues 郑州's template.
    [province_template] = issue_templates(workspace, period=period, out_dir=tmp_path / "province", unit_codes=["410100"])
    # 郑州's own workspace, one level down, with its own signing key.
    city = init_workspace(tmp_path / "郑州工作区", root_unit="410100", signing_key="c1" * 32)
    assert city.registry.root.name == "郑州市" and len(city.registry.units) == 11
    inbox = tmp_path / "counties"
    inbox.mkdir()
    for i, county in enumerate(city.registry.units):
        book, _ = build_filled(tmp_path / f"{county.code}.xlsx", spec, city, county.code, "2025Q3", seed=40 + i)
        (inbox / f"{county.code}.eml").write_bytes(python_eml(f"{county.code}@zz.gov.cn", [(f"{county.name}.xlsx", book.read_bytes())]))
    outcomes = intake(city, [inbox], spec=spec)
    assert {o.status for o in outcomes} == {"accepted"} and len(outcomes) == 11
    # The city's own master merges its counties.
    master = merge(city, spec, period)
    assert master.name == "2025Q3_郑州市汇总.xlsx"
    # …and fills the province's template for upward submission.
    result = CliRunner().invoke(main, ["merge", "--workspace", str(city.path), "--period", "2025Q3", "--into", str(province_template.path),
                                       "--out", str(tmp_path / "郑州市_上报.xlsx")])
    assert result.exit_code == 0, result.output
    report = check_file(tmp_path / "郑州市_上报.xlsx", CheckContext(spec, workspace.registry, workspace.signing_key))
    assert report.identity.unit_code == "410100"
    assert report.status in ("accepted", "accepted_with_warnings"), [(f.code, f.cell, f.message) for f in report.findings if f.severity == "E"]
    t5 = {row.key: values for row, values in zip(report.data.tables["t5"].layout.rows, report.data.tables["t5"].rows)}
    assert sum(t5[c.code]["ucon_count"] for c in city.registry.units) == report.data.tables["t5"].total["ucon_count"]
    # A template of another unit is refused with a clear message.
    [other] = issue_templates(workspace, period=period, out_dir=tmp_path / "province", unit_codes=["410200"])
    result = CliRunner().invoke(main, ["merge", "--workspace", str(city.path), "--period", "2025Q3", "--into", str(other.path)])
    assert result.exit_code == 2 and "U012" in result.output
