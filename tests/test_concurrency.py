"""Several desks at once (issue 27): two intakes over the two halves of a mailbox and a third over all of it, with a
merge looping beside them, on both backends and ×ROUNDS.  The ledger afterwards equals one sequential intake's,
every table compared row by row (ids aside), and no merge fails."""

from __future__ import annotations

import os
import shutil

import pytest

from concurrency import FIRST, FORK, LAST, clone, halves, mailbox, merge_loop, start, take
from ledgerdump import differences, dump
from qtables.ledger.workspace import open_workspace
from test_postgres import make_workspace
from qtables.intake.run import intake

ROUNDS = int(os.environ.get("QTABLES_CONCURRENCY_ROUNDS", "20"))


@pytest.fixture(scope="module")
def bases(tmp_path_factory, pg_server):
    """Per backend: a workspace that has taken in the first quarter, and the reference ledger of a sequential intake
    of the last quarter's two halves and then the whole mailbox."""
    out = {}
    for name in ("sqlite", "postgresql"):
        url = pg_server.new_database() if name == "postgresql" else None
        ws = make_workspace(tmp_path_factory.mktemp(f"base-{name}") / "ws", url)
        intake(ws, mailbox(FIRST))
        base_db = url.split("@/")[1].split("?")[0] if url else None
        ref = clone(ws.path, tmp_path_factory.mktemp(f"ref-{name}") / "ws", pg_server if url else None, base_db)
        one, two = halves(LAST)
        for files in (one, two, mailbox(LAST)):
            intake(open_workspace(ref), files)
        ledger = open_workspace(ref).open_ledger()
        out[name] = (ws.path, base_db, dump(ledger))
        ledger.close()
    return out


@pytest.mark.parametrize("name", ["sqlite", "postgresql"])
def test_two_desks_and_a_merge_at_once_lose_nothing_and_count_nothing_twice(name, bases, pg_server, tmp_path):
    base, base_db, reference = bases[name]
    one, two = halves(LAST)
    for n in range(ROUNDS):
        ws = clone(base, tmp_path / f"round{n}", pg_server if base_db else None, base_db)
        stop, errors = FORK.Event(), FORK.Queue()
        looping = start(merge_loop, str(ws), stop, errors)
        desks = [start(take, str(ws), [str(f) for f in files]) for files in (one, two, mailbox(LAST))]
        for desk in desks:
            desk.join(300)
            assert desk.exitcode == 0, f"round {n}: an intake failed"
        stop.set()
        looping.join(300)
        said = errors.get(timeout=10)
        assert said.startswith("ok"), f"round {n}: merge failed beside the intakes: {said}"
        ledger = open_workspace(ws).open_ledger()
        try:
            assert differences(dump(ledger), reference) == [], f"round {n}"
        finally:
            ledger.close()
        if base_db is None:
            shutil.rmtree(ws, ignore_errors=True)
