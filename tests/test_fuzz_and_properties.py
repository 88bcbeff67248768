"""Fuzzing in CI (short runs), the inputs fuzzing found, and properties of the rule engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.issue.workbook import IssueRequest, _apply_values
from qtables.template.names import tables_for
from qtables.template.layout import TableLayout
from qtables.period import Period
from qtables.template.derived import blank_data, compute_derived
from qtables.template.rules import run_rules
from qtables.intake.messages import message_items

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = Path(__file__).parent / "regressions"


def test_inputs_found_by_fuzzing_end_in_a_coded_outcome(spec, workspace):
    ctx = CheckContext(spec, workspace.registry, workspace.signing_key)
    cases = sorted(REGRESSIONS.iterdir())
    assert len(cases) >= 2
    for path in cases:
        data = path.read_bytes()
        if path.suffix == ".eml":
            items = list(message_items(data, "regression", path.name))
            assert all(isinstance(i.data, bytes) for i in items)
        else:
            report = check_file(path.name, ctx, data=data)
            # Unreadable (2), or read and rejected (1: a signature edited into Chinese is a wrong signature, I01).
            assert report.findings and report.exit_code == (1 if "signature" in path.name else 2), path.name


@pytest.mark.parametrize("mode, runs", [("mail", 150), ("sheet", 60)])
def test_a_fixed_set_of_mutated_mails_and_sheets_ends_in_coded_outcomes(mode, runs, tmp_path):
    """fuzz/mutations.py over a fixed seed: every mutated mail through intake, every mutated sheet through
    check, ends in a coded outcome (the script exits 1 and keeps the input otherwise)."""
    run = subprocess.run([sys.executable, str(ROOT / "fuzz" / "mutations.py"), mode, "--runs", str(runs), "--seed", "5",
                          "--seconds", "300", "--keep", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and f"{runs} runs, 0 found" in run.stdout, run.stdout + run.stderr[-3000:]


def test_short_fuzz_runs_find_nothing(tmp_path):
    seeds_book, seeds_mail = tmp_path / "book", tmp_path / "mail"
    subprocess.run([sys.executable, str(ROOT / "fuzz" / "seeds.py"), str(seeds_book), str(seeds_mail)], check=True)
    for target, seeds in (("workbook", seeds_book), ("message", seeds_mail)):
        run = subprocess.run([sys.executable, str(ROOT / "fuzz" / "fuzz_targets.py"), target, "-max_total_time=6",
                              "-rss_limit_mb=3072", "-timeout=20", f"-artifact_prefix={tmp_path}/", str(seeds)],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Done" in run.stderr
        assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))


counts = st.integers(min_value=0, max_value=60)
money = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def t5_rows(draw):
    rows = []
    for _ in range(3):
        row = {k: draw(counts) for k in ("carried_count", "new_count", "ucon_count", "done_count", "filed_count", "accident_count", "accident_deaths")}
        row.update({k: draw(money) for k in ("carried_area", "new_area", "ucon_area", "done_area", "filed_area", "carried_cost",
                                              "new_cost", "ucon_cost", "done_cost", "filed_cost", "accident_loss")})
        if row["filed_count"] and draw(st.booleans()):
            row["satisfaction_rate"] = round(draw(st.integers(0, row["filed_count"])) / row["filed_count"] * 100, 2)
        rows.append(row)
    return rows


@settings(max_examples=60, deadline=None)
@given(rows=t5_rows())
def test_rule_engine_agrees_with_plain_arithmetic(spec, workspace, rows):
    unit = workspace.registry.unit("410300")
    period = Period.parse("2025Q3")
    sets, tids = tables_for(spec, period)
    layouts = [TableLayout.for_unit(spec.table(t), unit) for t in tids]
    data = blank_data(spec, period, layouts)
    _apply_values(data, IssueRequest(unit, period, tids, sets, values={"t5": rows}))
    compute_derived(data)
    t5 = data.tables["t5"]
    results = [r for r in run_rules(spec.rules_for(sets, tids), data) if r.rule.table == "t5"]
    fails = {(r.rule.code, r.row) for r in results if r.status == "fail"}
    for i, row in enumerate(rows):
        assert (("T5-05", i) in fails) == (row["ucon_count"] != row["carried_count"] + row["new_count"] - row["done_count"])
        assert (("T5-04", i) in fails) == ((row["accident_deaths"] > 0 or row["accident_loss"] > 0) and row["accident_count"] < 1)
        assert (("T5-08", i) in fails) == (row["done_count"] > row["carried_count"] + row["new_count"])
        rate = t5.rows[i]["filing_rate_count"]
        assert rate == (None if row["done_count"] == 0 else row["filed_count"] / row["done_count"] * 100)
    total = t5.total
    assert total["ucon_count"] == sum(r["ucon_count"] for r in rows)
    # 用户满意率 of the 合计: weighted by 备案项数 over the rows that state a rate (a blank is not 0).
    filed = sum(r["filed_count"] for r in rows if r.get("satisfaction_rate") is not None)
    weighted = sum(r["satisfaction_rate"] * r["filed_count"] for r in rows if r.get("satisfaction_rate") is not None)
    assert (total["satisfaction_rate"] is None) == (filed == 0)
    if filed:
        assert abs(total["satisfaction_rate"] - weighted / filed) < 1e-9
