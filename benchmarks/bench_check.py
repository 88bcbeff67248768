"""Benchmark: `qtables check` against two baselines, side by side in one run.

    python benchmarks/bench_check.py [--files 1000] [--distinct 56] [--rounds 3] [--dir DIR]

Generates filled workbooks (``--distinct`` different fillings across all 28
units, copied under distinct names up to ``--files``; building each with the
fixture builder takes about a second, copying keeps set-up short while every
file is still read and checked in full), then times over all of them.  check and
the honest calamine read take turns file by file, in ``--rounds`` rounds (this
machine is shared: its speed drifts by a third within minutes, and turns keep
both sides on the same machine); the fastest round of each is compared, and the
median of the rounds' ratios printed beside it:

* check      — qtables' full check (read, identify, structure, normalize, rules), no receipts
* pandas     — only reading every sheet with pandas.read_excel(engine="openpyxl")
* calamine   — the honest baseline: python-calamine reading the sheets a hand-written checker needs
               and qtables reads (the 附表, 自查 and the identity sheet), not the template's 15k-formula
               ``_checks`` helper, the ``_lists`` sheet nor the 填表说明, which qtables never reads
* calamine+  — python-calamine reading every sheet including ``_checks`` (the old, too kind baseline),
               printed for comparison only

* check, unguarded — the same check with the sheet guard (``qtables/check/extent.py``) switched off, timed in
               the same turns and printed for information only: what the guard costs.  The guard exists because
               python-calamine aborts the process on a sheet whose cells span a rectangle it cannot allocate
               (tafia/calamine#693); a python-calamine that refused such a sheet itself would make it unneeded.

Targets (issue 14): check <= 2x the honest calamine read (goal 1.5x), and >= 15x faster than pandas.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from python_calamine import CalamineWorkbook

from qtables.devtools import samplegen
from qtables.read import workbook as check_read
from qtables.check.checker import check_file
from qtables.check.context import CheckContext
from qtables.issue.workbook import IssueRequest, build_workbook
from qtables.template.names import CHECK_SHEET, GUIDE_SHEET, LISTS_SHEET, tables_for
from qtables.template.layout import TableLayout
from qtables.period import Period
from qtables.spec import load_spec
from qtables.ledger.workspace import init_workspace


def generate(root: Path, files: int, distinct: int):
    spec = load_spec()
    ws = init_workspace(root / "ws")
    period = Period.parse("2025Q3")
    set_names, table_ids = tables_for(spec, period)
    made: list[Path] = []
    units = list(ws.registry.units)
    for i in range(distinct):
        unit = units[i % len(units)]
        layouts = [TableLayout.for_unit(spec.table(t), unit) for t in table_ids]
        filling = samplegen.generate(layouts, unit, period, seed=i)
        path = root / "files" / f"{i:04d}_{unit.code}.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        build_workbook(path, spec=spec, request=IssueRequest(unit, period, table_ids, set_names, values=filling.values,
                                                             line_values=filling.line_values), key=ws.signing_key, password="pw")
        made.append(path)
    for i in range(distinct, files):
        target = root / "files" / f"{i:04d}_copy.xlsx"
        shutil.copyfile(made[i % distinct], target)
        made.append(target)
    return spec, ws, made


def run_check(paths, spec, ws):
    ctx = CheckContext(spec, ws.registry, ws.signing_key)
    statuses = {}
    for p in paths:
        status = check_file(p, ctx).status
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def run_pandas(paths):
    import pandas as pd

    cells = 0
    for p in paths:
        for frame in pd.read_excel(p, sheet_name=None, engine="openpyxl", header=None).values():
            cells += frame.size
    return cells


def run_calamine(paths, *, skip=(CHECK_SHEET, LISTS_SHEET, GUIDE_SHEET)):
    cells = 0
    for p in paths:
        wb = CalamineWorkbook.from_path(str(p))
        for name in wb.sheet_names:
            if name in skip:
                continue
            cells += sum(len(r) for r in wb.get_sheet_by_name(name).to_python(skip_empty_area=False))
    return cells


def run_calamine_all(paths):
    return run_calamine(paths, skip=())


def timed(label, func, *args):
    t0 = time.perf_counter()
    result = func(*args)
    dt = time.perf_counter() - t0
    print(f"  {label:<10} {dt:9.2f} s   ({result})", flush=True)
    return dt


def _unguarded_check(path, ctx):
    guard = check_read.check_extent
    check_read.check_extent = lambda *args, **kwargs: None
    try:
        return check_file(path, ctx)
    finally:
        check_read.check_extent = guard


def rounds(n: int, paths, spec, ws) -> tuple[float, float, float, list[float]]:
    """check, the honest calamine read and the unguarded check, file by file in turn (each file read by one
    right after the other, so all meet the same machine; the order alternates), ``n`` times; the fastest
    round of each and every round's check / calamine ratio."""
    best = [float("inf")] * 3
    ratios = []
    ctx = CheckContext(spec, ws.registry, ws.signing_key)
    sides = (lambda p: run_calamine([p]), lambda p: check_file(p, ctx), lambda p: _unguarded_check(p, ctx))
    for _ in range(n):
        spent = [0.0] * 3
        for i, p in enumerate(paths):
            # Each goes first in turn: the first to open a file pays for bringing it in.
            for side in ((0, 1, 2), (1, 2, 0), (2, 0, 1))[i % 3]:
                t0 = time.perf_counter()
                sides[side](p)
                spent[side] += time.perf_counter() - t0
        best = [min(b, s) for b, s in zip(best, spent)]
        t_cal, t_chk, t_raw = spent
        ratios.append(t_chk / t_cal)
        print(f"  round: calamine {t_cal:6.2f} s, check {t_chk:6.2f} s, ratio {t_chk / t_cal:.2f}"
              f"   (unguarded check {t_raw:6.2f} s, ratio {t_raw / t_cal:.2f})", flush=True)
    return best[0], best[1], best[2], ratios


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--distinct", type=int, default=56)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of check and the honest calamine read")
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--skip-pandas", action="store_true", help="omit the (slow) pandas baseline")
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="qtables-bench-"))
    t0 = time.perf_counter()
    spec, ws, paths = generate(root, args.files, min(args.distinct, args.files))
    print(f"generated {len(paths)} workbooks in {time.perf_counter() - t0:.1f} s under {root}")
    run_check(paths[:5], spec, ws)  # the spec compiled, the generated rule loops built: what every later file finds
    print(f"timing over {len(paths)} files, {args.rounds} interleaved rounds of check and calamine:")
    t_cal, t_chk, t_raw, ratios = rounds(args.rounds, paths, spec, ws)
    t_all = timed("calamine+", run_calamine_all, paths)
    t_pd = None if args.skip_pandas else timed("pandas", run_pandas, paths)
    print("ratios:")
    print(f"  check / calamine (data sheets)  = {t_chk / t_cal:.2f}   fastest rounds; median of the rounds' ratios "
          f"{statistics.median(ratios):.2f}   (target <= 2.0, goal 1.5)")
    print(f"  unguarded check / calamine      = {t_raw / t_cal:.2f}   (information: the sheet guard off; it costs "
          f"{1000 * (t_chk - t_raw) / len(paths):.1f} ms a file)")
    print(f"  check / calamine (every sheet)  = {t_chk / t_all:.2f}   (the old baseline, for comparison)")
    if t_pd:
        print(f"  pandas / check                  = {t_pd / t_chk:.2f}   (target >= 15)")
    print(f"  per file: check {1000 * t_chk / len(paths):.1f} ms, calamine {1000 * t_cal / len(paths):.1f} ms"
          + (f", pandas {1000 * t_pd / len(paths):.1f} ms" if t_pd else ""))
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
