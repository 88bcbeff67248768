"""Shared by the concurrency and kill tests: a workspace that has taken in the demo's first quarter, cloned
cheaply per round (a copied folder, or on PostgreSQL a database made from it as a template), and intake or merge
run in forked processes as separate desks would run them."""

from __future__ import annotations

import multiprocessing
import re
import shutil
import uuid
from pathlib import Path

from qtables.devtools.generate import SAMPLE_PERIODS
from qtables.intake.run import intake
from qtables.ledger.workspace import open_workspace
from qtables.merge.master import merge
from qtables.period import Period

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
FIRST, LAST = SAMPLE_PERIODS[0], SAMPLE_PERIODS[-1]
FORK = multiprocessing.get_context("fork")


def mailbox(period: str) -> list[Path]:
    return sorted((SAMPLES / period).glob("*.eml"))


def halves(period: str) -> tuple[list[Path], list[Path]]:
    """The mailbox split by unit (a unit's corrected resubmission stays with its first filing)."""
    files = mailbox(period)
    units = sorted({f.name.split("_")[0] for f in files})
    first = set(units[: len(units) // 2])
    return [f for f in files if f.name.split("_")[0] in first], [f for f in files if f.name.split("_")[0] not in first]


def clone(base: Path, target: Path, server=None, base_db: str | None = None) -> Path:
    """A copy of the workspace ``base`` (and of its PostgreSQL database ``base_db``)."""
    shutil.copytree(base, target)
    if server is not None:
        name = "qt_" + uuid.uuid4().hex[:12]
        server.admin(f"CREATE DATABASE {name} TEMPLATE {base_db}")
        cfg = target / "qtables.toml"
        text, n = re.subn(r'(?m)^url = ".*"$', f'url = "{server.url(name)}"', cfg.read_text(encoding="utf-8"))
        assert n == 1
        cfg.write_text(text, encoding="utf-8")
    return target


def take(ws_path: str, files: list[str]) -> None:
    intake(open_workspace(ws_path), [Path(f) for f in files])


def merge_loop(ws_path: str, stop, errors) -> None:
    ws = open_workspace(ws_path)
    from qtables.spec import load_spec

    spec = load_spec()
    n = 0
    while not stop.is_set():
        try:
            merge(ws, spec, Period.parse(LAST), Path(ws_path) / "masters" / f"loop{n % 2}.xlsx")
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.put(f"{type(exc).__name__}: {exc}")
            return
        n += 1
    errors.put(f"ok {n}")


def start(target, *args):
    proc = FORK.Process(target=target, args=args)
    proc.start()
    return proc
