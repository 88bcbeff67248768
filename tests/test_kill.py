"""kill -9 at random points of an intake, on both backends, ×ROUNDS (scripts/soak.sh runs ×200 and writes
benchmarks/soak.md): after a rerun the ledger equals a clean run's, every table row by row (ids aside), and every
original's SHA-256 is intact."""

from __future__ import annotations

import json
import os
import random
import shutil
import time

import pytest

from concurrency import LAST, clone, mailbox, start, take
from ledgerdump import differences, dump
from qtables.intake.run import intake
from qtables.ledger.workspace import open_workspace
from test_concurrency import bases  # noqa: F401 - the fixture: a workspace with the first quarter taken in

ROUNDS = int(os.environ.get("QTABLES_KILL_ROUNDS", "20"))
REPORT = os.environ.get("QTABLES_SOAK_REPORT")


def count_arrivals(ws) -> int:
    ledger = open_workspace(ws).open_ledger()
    try:
        return ledger.db.execute("SELECT COUNT(*) FROM arrivals").fetchone()[0]
    finally:
        ledger.close()


@pytest.fixture(scope="module")
def clean(bases, pg_server, tmp_path_factory):  # noqa: F811
    """Per backend: the ledger after an uninterrupted intake of the last quarter, and how long that took."""
    out = {}
    for name, (base, base_db, _reference) in bases.items():
        ws = clone(base, tmp_path_factory.mktemp(f"clean-{name}") / "ws", pg_server if base_db else None, base_db)
        began = time.perf_counter()
        intake(open_workspace(ws), mailbox(LAST))
        took = time.perf_counter() - began
        ledger = open_workspace(ws).open_ledger()
        out[name] = (dump(ledger), took)
        ledger.close()
    return out


@pytest.mark.parametrize("name", ["sqlite", "postgresql"])
def test_kill_at_random_points_then_rerun_gives_the_clean_ledger(name, bases, clean, pg_server, tmp_path):  # noqa: F811
    base, base_db, _reference = bases[name]
    reference, _took = clean[name]
    rng = random.Random(27)
    files = [str(f) for f in mailbox(LAST)]
    figures = []
    # How long a forked intake takes here and now (the machine may be busy with other tests): the kills are spread
    # over that, so most land while it is at work.
    probe = clone(base, tmp_path / "probe", pg_server if base_db else None, base_db)
    began = time.perf_counter()
    desk = start(take, str(probe), files)
    desk.join(300)
    took = time.perf_counter() - began
    for n in range(ROUNDS):
        ws = clone(base, tmp_path / f"round{n}", pg_server if base_db else None, base_db)
        before = count_arrivals(ws)
        desk = start(take, str(ws), files)
        wait = rng.uniform(0.05, 1.1 * took)  # at any point of the work, now and then after it
        time.sleep(wait)
        killed = desk.exitcode is None
        desk.kill()
        desk.join(60)
        at_kill = count_arrivals(ws) - before
        intake(open_workspace(ws), [f for f in files])
        ledger = open_workspace(ws).open_ledger()
        try:
            assert differences(dump(ledger), reference) == [], f"round {n}: killed after {wait:.2f} s"
        finally:
            ledger.close()
        figures.append({"backend": name, "round": n, "after_s": round(wait, 3), "killed": killed, "arrivals_at_kill": at_kill,
                        "arrivals": len(reference["arrivals"]) - before})
        if base_db is None:
            shutil.rmtree(ws, ignore_errors=True)
    # Killed while at work: checking, recording a group, or writing receipts and replies after the last group.
    working = [f for f in figures if f["killed"]]
    assert len(working) >= ROUNDS // 3, f"too few kills landed while the intake was at work: {figures}"
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as fh:
            for f in figures:
                fh.write(json.dumps(f) + "\n")
