"""The template's 自查 under a second spreadsheet engine: Gnumeric recalculates as LibreOffice and qtables do."""

from __future__ import annotations

import copy

import pytest

import gnumeric
from filling import fill_with_openpyxl, python_verdicts, selfcheck_verdicts
from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.devtools import samplegen
from qtables.issue.run import issue_templates
from qtables.period import Period
from qtables.template.layout import TableLayout
from qtables.template.names import tables_for
from test_libreoffice import PERIOD, UNIT, _mutations, _rule_key

pytestmark = pytest.mark.gnumeric


@pytest.fixture(scope="module")
def recalculated(spec, workspace, tmp_path_factory):
    root = tmp_path_factory.mktemp("gnumeric")
    period = Period.parse(PERIOD)
    unit = workspace.registry.unit(UNIT)
    [issued] = issue_templates(workspace, period=period, out_dir=root / "blank", unit_codes=[UNIT])
    set_names, table_ids = tables_for(spec, period)
    layouts = [TableLayout.for_unit(spec.table(t), unit) for t in table_ids]
    good = samplegen.generate(layouts, unit, period, seed=7)
    cases = [("正确填报", None, None, None, good.values)]
    for name, code, table, target, mutate in _mutations(good.values):
        values = copy.deepcopy(good.values)
        mutate(values)
        cases.append((name, code, table, target, values))
    (root / "filled").mkdir()
    files = [fill_with_openpyxl(issued.path, root / "filled" / f"case{i:02d}.xlsx", layouts, case[4], good.line_values)
             for i, case in enumerate(cases)]
    out = gnumeric.recalc(files, root / "gn")
    return [(case, path, python_verdicts(spec, unit, period, set_names, table_ids, case[4])) for case, path in zip(cases, out)]


def test_gnumeric_and_python_agree_rule_by_rule_on_every_filling(recalculated, spec):
    disagreements = []
    for (name, code, table, target, _values), path, py in recalculated:
        shown = selfcheck_verdicts(path)
        assert sum(1 for v in shown.values() if v[0] in "✓✗") > 100, name
        for key, (mark, count, _cell) in shown.items():
            if mark == "—":
                continue
            if (count, mark) != (py.get(key, 0), "✓" if py.get(key, 0) == 0 else "✗"):
                disagreements.append((name, key, mark, count, py.get(key)))
        if code:
            assert shown[_rule_key(spec, code, table, target)][0] == "✗", name
    assert disagreements == []


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_gnumerics_saves_of_a_filling_give_the_same_findings(recalculated, workspace, spec, tmp_path, fmt):
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key)
    (_case, original, _py) = recalculated[4]  # 在建项数不平衡: a warning
    [saved] = gnumeric.recalc([original], tmp_path, fmt)
    first = sorted((f.code, f.cell) for f in check_file(original, ctx).findings)
    again = sorted((f.code, f.cell) for f in check_file(saved, ctx).findings)
    assert again == first and any(code == "T5-05" for code, _ in first)
