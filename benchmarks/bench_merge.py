"""Benchmark: peak memory of `qtables merge` at 100 and at 1,000 units.

    python benchmarks/bench_merge.py [--sizes 100 1000]

For each size a workspace is made with a registry of that many reporting units
(each with three county rows) and a ledger filled directly with one accepted
submission per unit (cells as intake records them).  The merge then runs in a
fresh process, and its peak resident memory (ru_maxrss) and time are reported,
with the ratio of the largest to the smallest (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path


def build(root: Path, units: int) -> Path:
    from qtables.spec import load_spec
    from qtables.ledger.store import Ledger
    from qtables.ledger.workspace import init_workspace

    spec = load_spec()
    ws = init_workspace(root / f"ws{units}", signing_key="cd" * 32)
    registry = {"root": {"code": "410000", "name": "河南省", "kind": "province"}, "units": []}
    for i in range(units):
        code = f"{500000 + i * 10:06d}"
        registry["units"].append({"code": code, "name": f"单位{i:04d}", "kind": "city", "own_row": "本级",
                                  "children": [{"code": f"{500000 + i * 10 + k:06d}", "name": f"县{i:04d}-{k}", "kind": "county"} for k in (1, 2)]})
    (ws.path / "units.json").write_text(json.dumps(registry, ensure_ascii=False), encoding="utf-8")
    rng = random.Random(units)
    ledger = Ledger(ws.path)
    t5 = spec.table("t5")
    for u in registry["units"]:
        cells = []
        keys = [u["code"]] + [c["code"] for c in u["children"]]
        for key in keys:
            for col in t5.columns:
                if col.is_input and col.is_numeric:
                    value = rng.randint(0, 40) if col.type == "integer" else round(rng.uniform(0, 90), 2)
                    if col.id == "satisfaction_rate":
                        value = round(rng.uniform(80, 100), 2)
                    cells.append(("t5", key, col.id, value))
        for cat in ("residential", "public"):
            cells.append(("t6", cat, "new_count", rng.randint(0, 9)))
        for n in range(5):
            cells.append(("t3", str(n + 1), "name", f"工程{n}"))
            cells.append(("t3", str(n + 1), "area", 1000.0 * (n + 1)))
        sha = f"{int(u['code']):064x}"
        arrival = {"arrival_key": sha, "sha256": sha, "filename": f"{u['name']}.xlsx", "size": 1, "kind": "workbook", "source": "bench",
                   "message_id": None, "sender": None, "subject": None, "received_at": "2025-09-30T10:00:00+08:00",
                   "unit_code": u["code"], "period": "2025Q3", "note": None, "status": "accepted"}
        submission = {"sha256": sha, "unit_code": u["code"], "period": "2025Q3", "tables": "t1,t2,t3,t4,t5,t6", "template_id": "x",
                      "status": "accepted", "received_at": arrival["received_at"], "sender": None, "filename": arrival["filename"]}
        ledger.record(arrival=arrival, submission=submission, findings=[], cells=cells)
    ledger.close()
    return ws.path


CHILD = """
import sys, time
from qtables.merge.master import merge
from qtables.period import Period
from qtables.spec import load_spec
from qtables.ledger.workspace import open_workspace
t = time.perf_counter()
path = merge(open_workspace(sys.argv[1]), load_spec(), Period.parse("2025Q3"), sys.argv[2])
peak = int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])  # KiB, this image only
print(time.perf_counter() - t, peak)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="qtables-bench-merge-"))
    results = {}
    for n in args.sizes:
        ws = build(root, n)
        out = subprocess.run([sys.executable, "-c", CHILD, str(ws), str(root / f"master{n}.xlsx")], capture_output=True, text=True, check=True)
        seconds, rss_kb = out.stdout.split()
        results[n] = (float(seconds), int(rss_kb))
        print(f"  {n:>6} units: merge {float(seconds):7.2f} s, peak RSS {int(rss_kb) / 1024:8.1f} MiB, "
              f"{(root / f'master{n}.xlsx').stat().st_size / 1024:8.0f} KiB")
    lo, hi = min(args.sizes), max(args.sizes)
    print(f"peak memory ratio {hi} / {lo} units = {results[hi][1] / results[lo][1]:.2f}   (target <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
