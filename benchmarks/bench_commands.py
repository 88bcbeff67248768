"""Benchmark: single commands as a clerk runs them, each beside its baseline in the same run.

    python benchmarks/bench_commands.py [--repeat 7]

* ``qtables check one.xlsx`` as a process (with and without its receipt) beside
  ``python -c "import openpyxl"`` — the least a Python tool that reads .xlsx with
  the usual library pays before doing anything.  Target (issue 14): <= 1.3x.
* ``qtables issue`` for all 28 units of a quarter, wall time.  Target: <= 15 s.

The median of ``--repeat`` runs is reported; the spec cache and both sides' bytecode
are warmed first (a clerk's second command onwards), and the first, cold run is
printed too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr[-400:]}")
    return dt


def _median(cmd: list[str], env: dict[str, str], cwd: Path, repeat: int) -> float:
    return statistics.median(_timed(cmd, env, cwd) for _ in range(repeat))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    from builders import build_filled

    from qtables.ledger.workspace import init_workspace
    from qtables.spec import load_spec

    root = Path(tempfile.mkdtemp(prefix="qtables-bench-cmd-"))
    env = dict(os.environ, QTABLES_CACHE=str(root / "cache"), PYTHONIOENCODING="utf-8")
    # Both sides with their bytecode cached, as on a clerk's machine (pip compiles what it installs; an editable
    # checkout keeps __pycache__): in a separate folder, so the checkout is left as it is.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    ws = init_workspace(root / "ws")
    env["QTABLES_WORKSPACE"] = str(ws.path)
    spec = load_spec()
    good, _ = build_filled(root / "good.xlsx", spec, ws, "410300", "2025Q3", seed=3)
    bad, _ = build_filled(root / "bad.xlsx", spec, ws, "410300", "2025Q3", seed=3,
                          mutate=lambda v: v["t5"][0].update(satisfaction_rate=120))
    qtables = shutil.which("qtables", path=str(Path(sys.executable).parent)) or "qtables"
    check = [qtables, "check", str(good), "--out", str(root / "r")]
    cold = _timed(check + ["--no-receipts"], env, root)  # fills the spec and bytecode caches
    _timed([sys.executable, "-c", "import openpyxl"], env, root)  # and the baseline's bytecode
    base = _median([sys.executable, "-c", "import openpyxl"], env, root, args.repeat)
    plain = _median(check + ["--no-receipts"], env, root, args.repeat)
    with_receipt = _median(check, env, root, args.repeat)
    annotated = _median([qtables, "check", str(bad), "--out", str(root / "r")], env, root, args.repeat)
    print(f"python -c 'import openpyxl'            {base * 1000:7.0f} ms")
    print(f"qtables check one.xlsx --no-receipts    {plain * 1000:7.0f} ms   ratio {plain / base:.2f}  (target <= 1.3; cold cache {cold * 1000:.0f} ms)")
    print(f"qtables check one.xlsx (clean receipt)  {with_receipt * 1000:7.0f} ms   ratio {with_receipt / base:.2f}")
    print(f"qtables check bad.xlsx (annotated)      {annotated * 1000:7.0f} ms   ratio {annotated / base:.2f}")
    t0 = time.perf_counter()
    subprocess.run([qtables, "issue", "--period", "2025Q3", "--out", str(root / "issued")], env=env, cwd=root,
                   check=True, capture_output=True)
    issued = time.perf_counter() - t0
    count = len(list((root / "issued").glob("*.xlsx")))
    print(f"qtables issue, {count} units              {issued:7.1f} s    (target <= 15 s)")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
