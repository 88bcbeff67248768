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
            path = merge(ws, spec, Period.parse(LAST), Path(ws_path) / "masters" / f"loop{n % 2}.xlsx")
            mixed = mixed_units(path)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.put(f"{type(exc).__name__}: {exc}")
            return
        if mixed:
            errors.put(f"master {n} mixes versions: {mixed}")
            return
        n += 1
    errors.put(f"ok {n}")


def mixed_units(master: Path) -> list[str]:
    """Units whose 附表5汇总 figures and 报送情况 verdict come from different versions: figures without an accepted
    verdict, or an accepted verdict without figures (what a master read outside one snapshot could show)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(master))
    figures = {}
    for row in book.get_sheet_by_name("附表5汇总").to_python():
        if isinstance(row[0], float) and isinstance(row[1], str):
            figures[row[1]] = any(isinstance(v, float) for v in row[2:])
    accepted = {}
    for row in book.get_sheet_by_name("报送情况").to_python():
        if isinstance(row[0], str) and row[0].isdigit() and len(row) > 2:
            accepted[row[1]] = str(row[2]).startswith("通过")
    if len(figures) < 20 or len(accepted) < 20:
        return [f"unreadable master: {len(figures)} rows of figures, {len(accepted)} of verdicts"]
    return sorted(name for name, has in figures.items() if name in accepted and has != accepted[name])


def start(target, *args):
    proc = FORK.Process(target=target, args=args)
    proc.start()
    return proc
