"""Benchmark: `qtables intake` of N generated .eml files end to end, beside `check` of the same workbooks.

    python benchmarks/bench_intake.py [--files 1000] [--distinct 56] [--errors 0.1] [--backend both]

``--distinct`` fillings are built with the fixture builder (about a second
each); the N workbooks are made distinct by rewriting their document title, so
every one has its own bytes (no duplicates) while its identity stays valid.  A
fraction ``--errors`` carries a deliberate error (so those receipts annotate
the workbook).  Intake runs into a fresh workspace and includes archiving,
ledger transactions, receipts and reply mails.  check and intake take turns
batch by batch, each first for every other batch; the better of the rounds
is printed.

``--backend``: sqlite (the workspace's file), postgresql (a throwaway local
server over its Unix socket, qtables.devtools.pgcluster; or ``--database URL``),
or both (the default): one ratio per backend, same generated files.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
import zipfile
from email.message import EmailMessage
from pathlib import Path

from qtables.devtools import samplegen
from qtables.check.checker import check_file
from qtables.intake.run import intake, make_context
from qtables.issue.workbook import IssueRequest, build_workbook
from qtables.template.names import tables_for
from qtables.template.layout import TableLayout
from qtables.period import Period
from qtables.spec import load_spec
from qtables.ledger.workspace import init_workspace


def _retitle(data: bytes, title: str) -> bytes:
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                blob = blob.replace(b"</dc:title>", title.encode() + b"</dc:title>")
            dst.writestr(info, blob)
    return out.getvalue()


def generate(root: Path, files: int, distinct: int, errors: float):
    spec = load_spec()
    key = "ab" * 32
    ws_gen = init_workspace(root / "gen-ws", signing_key=key)
    period = Period.parse("2025Q3")
    set_names, table_ids = tables_for(spec, period)
    units = list(ws_gen.registry.units)
    bases = []
    for i in range(distinct):
        unit = units[i % len(units)]
        layouts = [TableLayout.for_unit(spec.table(t), unit) for t in table_ids]
        filling = samplegen.generate(layouts, unit, period, seed=i)
        if i < distinct * errors:
            filling.values["t5"][0]["satisfaction_rate"] = 130
        buf = io.BytesIO()
        build_workbook(buf, spec=spec, request=IssueRequest(unit, period, table_ids, set_names, values=filling.values,
                                                            line_values=filling.line_values), key=ws_gen.signing_key, password="pw")
        bases.append((unit, buf.getvalue()))
    books, mails = root / "books", root / "mails"
    books.mkdir()
    mails.mkdir()
    for i in range(files):
        unit, data = bases[i % distinct]
        data = _retitle(data, f" #{i}")
        (books / f"{i:04d}.xlsx").write_bytes(data)
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = f"tj{i}@{unit.code}.gov.cn", "zlz@hnjs.gov.cn", f"{unit.name}附表"
        m["Date"] = "Tue, 30 Sep 2025 10:00:00 +0800"
        m.set_content("请查收。")
        m.add_attachment(data, maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         filename=f"{unit.name}2025年第三季度附表.xlsx")
        (mails / f"{i:04d}.eml").write_bytes(bytes(m))
    return spec, key, books, mails


def _batches(mails: Path, books: Path, size: int) -> list[tuple[Path, list[Path]]]:
    """The .eml files moved into folders of ``size``, each with the workbooks its mails carry."""
    out = []
    names = sorted(p.stem for p in mails.glob("*.eml"))
    for start in range(0, len(names), size):
        folder = mails / f"batch{start // size:03d}"
        folder.mkdir()
        for name in names[start:start + size]:
            (mails / f"{name}.eml").rename(folder / f"{name}.eml")
        out.append((folder, [books / f"{name}.xlsx" for name in names[start:start + size]]))
    return out


# Where intake's time goes, stage by stage: (label, module, attribute) wrapped with a timer for one extra pass.
_STAGES = (
    ("check (the same check_file)", "qtables.intake.run", "check_file"),
    ("mail parsing", "qtables.intake.sources", "parse_message"),
    ("archive (durable write)", "qtables.ledger.archive", "Archive.store_many"),
    ("archive (durable write)", "qtables.ledger.archive", "DatabaseArchive.flush"),  # PostgreSQL: rows of originals
    ("ledger transactions", "qtables.ledger.store", "Ledger.record_many"),  # its archive part is subtracted below
    ("ledger transactions", "qtables.ledger.store", "Ledger.set_outputs"),
    ("receipts", "qtables.receipt.workbook", "write_receipt"),
    ("reply mails", "qtables.intake.mail", "write_reply"),
)


def breakdown(root: Path, key: str, spec, batches, url: str | None = None) -> None:
    """One more intake of the first batches into a fresh workspace, each stage timed (information: not part of
    the ratio, the timers cost a little)."""
    import importlib

    spent: dict[str, float] = {}
    undo = []
    for label, module_name, attr in _STAGES:
        owner = importlib.import_module(module_name)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, name)

        def timed_call(*args, _f=original, _label=label, **kwargs):
            t0 = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                spent[_label] = spent.get(_label, 0.0) + time.perf_counter() - t0

        setattr(owner, name, timed_call)
        undo.append((owner, name, original))
    try:
        ws = init_workspace(root / f"ws-breakdown-{bool(url)}", signing_key=key, database=url)
        items = 0
        t0 = time.perf_counter()
        for mail_dir, book_paths in batches:
            intake(ws, [mail_dir], spec=spec)
            items += len(book_paths)
        total = time.perf_counter() - t0
    finally:
        for owner, name, original in undo:
            setattr(owner, name, original)
    if "archive (durable write)" in spent:  # record_many's own timer includes the archive's
        spent["ledger transactions"] -= spent["archive (durable write)"]
    print(f"where intake's time goes ({items} items, ms an item; information):")
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {label:<30} {1000 * seconds / items:6.2f}")
    print(f"  {'the rest (reading, sorting…)':<30} {1000 * (total - sum(spent.values())) / items:6.2f}")
    print(f"  {'intake':<30} {1000 * total / items:6.2f}")


def run(root: Path, key: str, spec, batches, args, name: str, fresh) -> None:
    t_check = t_intake = 0.0
    statuses: dict[str, int] = {}
    counts: dict[str, int] = {}
    target = 1.3 if name == "sqlite" else 1.5
    for round_no in range(args.rounds):
        url = fresh()
        ws = init_workspace(root / f"ws-{name}-{round_no}", signing_key=key, database=url)
        # What `qtables check` does in a workspace: the ledger's figures of other periods looked up too.
        ledger = ws.open_ledger()
        ctx = make_context(ws, spec, ledger)
        r_check = r_intake = 0.0
        for i, (mail_dir, book_paths) in enumerate(batches):
            for side in (("check", "intake") if i % 2 == 0 else ("intake", "check")):
                t0 = time.perf_counter()
                if side == "check":
                    for path in book_paths:
                        s = check_file(path, ctx).status
                        statuses[s] = statuses.get(s, 0) + 1
                    r_check += time.perf_counter() - t0
                else:
                    for o in intake(ws, [mail_dir], spec=spec):
                        counts[o.status] = counts.get(o.status, 0) + 1
                    r_intake += time.perf_counter() - t0
        ledger.close()
        print(f"  round {round_no + 1}: check {r_check:6.2f} s, intake {r_intake:6.2f} s, ratio {r_intake / r_check:.2f}")
        if not t_check or r_intake / r_check < t_intake / t_check:
            t_check, t_intake = r_check, r_intake
    print(f"  check  {statuses}")
    print(f"  intake {counts}")
    print(f"ratio intake / check [{name}] = {t_intake / t_check:.2f} (target <= {target}), the better round; per item: "
          f"intake {1000 * t_intake / args.files:.1f} ms, check {1000 * t_check / args.files:.1f} ms")
    breakdown(root, key, spec, batches[:max(1, 100 // args.batch)], fresh())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--distinct", type=int, default=56)
    ap.add_argument("--errors", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=10, help="files per turn of check and intake")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--database", default=None, help="a PostgreSQL address instead of a throwaway local server")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="qtables-bench-intake-"))
    t0 = time.perf_counter()
    spec, key, books, mails = generate(root, args.files, min(args.distinct, args.files), args.errors)
    print(f"generated {args.files} workbooks and .eml files in {time.perf_counter() - t0:.1f} s")
    # check and intake take turns batch by batch (each first for every other batch), so the machine's drift
    # (a third within minutes here) falls on both alike; a fresh workspace each round.
    batches = _batches(mails, books, args.batch)
    server = None
    backends: list[tuple[str, str | None]] = []
    if args.backend in ("sqlite", "both"):
        backends.append(("sqlite", None))
    if args.backend in ("postgresql", "both"):
        if args.database:
            backends.append(("postgresql", args.database))
        else:
            from qtables.devtools.pgcluster import Server

            server = Server().start()
            backends.append(("postgresql", "local"))
    try:
        for name, url in backends:
            print(f"backend: {name}" + (" (a local server over its Unix socket)" if url == "local" else ""))
            fresh = (lambda: server.new_database()) if url == "local" else (lambda: url)
            run(root, key, spec, batches, args, name, fresh)
    finally:
        if server is not None:
            server.stop()
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
