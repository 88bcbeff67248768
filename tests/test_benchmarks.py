"""The benchmark scripts still run and print their ratios (tiny sizes: this proves the scripts, not the speed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _ratio(out: str, label: str) -> float:
    found = re.search(re.escape(label) + r"\s*=\s*([0-9.]+)", out)
    assert found, out
    return float(found.group(1))


def test_bench_check_prints_every_ratio(tmp_path):
    out = _run("bench_check.py", "--files", "3", "--distinct", "2", "--rounds", "1", "--skip-pandas", "--dir", str(tmp_path))
    for label in ("check / calamine (data sheets)", "unguarded check / calamine", "check / calamine (every sheet)"):
        assert _ratio(out, label) > 0
    # Reading every sheet includes the 15k-formula helper: more than the sheets check reads, whatever the machine.
    assert _ratio(out, "check / calamine (every sheet)") < _ratio(out, "check / calamine (data sheets)")


def test_bench_intake_prints_its_ratio():
    whole = _run("bench_intake.py", "--files", "4", "--distinct", "2", "--errors", "0.5", "--batch", "2", "--rounds", "1")
    # One ratio per backend: the SQLite workspace and a throwaway local PostgreSQL server.
    assert _ratio(whole, "ratio intake / check [sqlite]") > 0 and _ratio(whole, "ratio intake / check [postgresql]") > 0
    for out in whole.split("backend: ")[1:]:
        check_sides_and_stages(out)


def check_sides_and_stages(out: str) -> None:
    # The generated errors are rejected by both sides alike.
    sides = dict(re.findall(r"^\s+(check|intake)\s+(\{.*\})$", out, re.M))
    assert sides["check"] == sides["intake"] and "rejected" in sides["check"], out
    # The stage breakdown: every stage timed and the stages' sum no more than the whole.
    stages = dict(re.findall(r"^  (\S.*?)\s{2,}([\d.]+)$", out.split("where intake's time goes", 1)[1], re.M))
    assert {"check (the same check_file)", "archive (durable write)", "ledger transactions", "receipts", "reply mails",
            "mail parsing", "intake"} <= set(stages), out
    assert all(float(v) > 0 for k, v in stages.items() if not k.startswith("the rest")), out
    assert sum(float(v) for k, v in stages.items() if k != "intake") <= float(stages["intake"]) + 0.05, out
