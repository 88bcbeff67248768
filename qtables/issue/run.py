"""``qtables issue``: one workbook per reporting unit for a period."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from qtables.errors import UsageError
from qtables.figures import TOTAL_KEY
from qtables.fsutil import atomic_path
from qtables.issue.workbook import IssueRequest, build_workbook
from qtables.template.names import tables_for
from qtables.period import Period
from qtables.spec.registry import Unit
from qtables.spec import Spec, load_spec
from qtables.ledger.store import LEDGER_FILE, Ledger
from qtables.ledger.workspace import Workspace


# Project lists whose length follows the unit's size (附表3 在建, 附表4 竣工).
DETAIL_TABLES = ("t3", "t4")


class PreviousProvider(Protocol):
    """Supplies a unit's 接转 for a period: (previous 在建 per table and row key or None, what the guide says)."""

    def __call__(self, unit: Unit, period: Period, table_id: str) -> tuple[dict[str, dict[str, Any]] | None, str, float]: ...


def no_previous(unit: Unit, period: Period, table_id: str) -> tuple[None, str, float]:
    return None, "", 0


def quarters_for(ledger: Ledger | None, unit: Unit, period: Period, table_id: str) -> dict[str, dict[str, Any]] | None:
    """An annual template carries the four quarters from the ledger (every row of the unit), so its own 自查
    checks 年报＝四季之和 live; None when any quarter or row is missing (then the 自查 says it is checked centrally)."""
    if period.kind != "year" or ledger is None:
        return None
    q = ledger.quarters(unit.code, period.year)
    rows = (q.tables or {}).get(table_id, {})
    keys = [r.code for r in unit.rows()]
    return {k: rows[k] for k in keys} if rows and all(k in rows for k in keys) else None


def detail_capacity(spec_rows: int, previous_ucon: float) -> int:
    """Rows for 附表3/附表4: the previous 在建 count with a margin (×1.25 + 50, in steps of 50), never below the spec's."""
    wanted = math.ceil((previous_ucon * 1.25 + 50) / 50) * 50
    return max(spec_rows, int(wanted))


def ledger_previous(ledger: Ledger | None) -> PreviousProvider:
    """Pre-fill 接转 from the workspace's ledger, when every row of the unit is known there."""

    def provider(unit: Unit, period: Period, table_id: str) -> tuple[dict[str, dict[str, Any]] | None, str, float]:
        prev = ledger.previous(unit.code, period, table_id) if ledger else None
        label = period.previous().label
        if prev is None:
            return None, (f"接转（上期在建）未预填：台账中没有本单位{label}通过审核的数据。请按上期报表填写，"
                          "由汇总单位审核时核对。"), 0
        rows = prev.tables.get(table_id, {})
        total = rows.get(TOTAL_KEY) or (rows.get(unit.code) if not unit.children else None) or {}
        ucon = total.get("ucon_count") if isinstance(total.get("ucon_count"), (int, float)) else 0
        keys = [r.code for r in unit.rows()]
        if not all(k in rows for k in keys):
            return None, (f"接转（上期在建）未预填：上期数据（{prev.source}）只有本单位合计，没有各县（区）的数。"
                          "请按上期报表逐行填写，合计将由汇总单位核对。"), ucon
        extra = f"（{prev.stand_in}）" if prev.stand_in else ""
        return ({k: rows[k] for k in keys}, f"接转（上期在建）已按{prev.source}{extra}预填并锁定；如有疑问请联系汇总单位。",
                ucon)

    return provider


@dataclass(frozen=True)
class Issued:
    unit: Unit
    path: Path
    template_id: str


def template_filename(unit: Unit, period: Period, scoring: bool = False) -> str:
    suffix = "考核评分表" if scoring and period.kind == "year" else "附表"
    return f"{period.code}_{unit.code}_{unit.name}_{suffix}.xlsx"


def issue_templates(
    workspace: Workspace,
    *,
    period: Period,
    out_dir: str | os.PathLike[str],
    unit_codes: list[str] | None = None,
    scoring: bool = False,
    spec: Spec | None = None,
    previous: PreviousProvider | None = None,
    progress: Callable[[Unit], None] | None = None,
    rows_per_detail: int | None = None,
) -> list[Issued]:
    """One workbook per unit.  ``rows_per_detail`` asks for at least that many rows in 附表3/附表4."""
    spec = spec or load_spec()
    registry = workspace.registry
    units = [registry.unit(c) for c in unit_codes] if unit_codes else list(registry.units)
    if scoring and period.kind != "year":
        raise UsageError("考核评分表按年度考核，请使用年度报告期（如 2025）", code="U005")
    set_names, table_ids = tables_for(spec, period, scoring=scoring)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"无法创建输出目录 {out}：{exc.strerror or exc}", code="U006") from None
    # One ledger connection for the whole run (pre-fill and the annual quarters), closed at the end.
    ledger = workspace.open_ledger() if previous is None and workspace.has_ledger() else None
    try:
        return _issue_all(workspace, spec, period, units, table_ids, set_names, out, scoring, previous or ledger_previous(ledger),
                          ledger, progress, rows_per_detail)
    finally:
        if ledger is not None:
            ledger.close()


def _issue_all(workspace, spec, period, units, table_ids, set_names, out, scoring, provider, ledger, progress,
               rows_per_detail) -> list[Issued]:
    keyed = next((t for t in table_ids if spec.table(t).kind == "keyed"), None)
    form = {k: str(v) for k, v in workspace.config.get("form", {}).items()}
    jobs: list[tuple[Unit, Path, IssueRequest]] = []
    for unit in units:  # what each workbook needs from the ledger is read here, in one process
        rows, note, ucon = provider(unit, period, keyed) if keyed else (None, "", 0)
        capacity = {t: max(rows_per_detail or 0, detail_capacity(spec.table(t).capacity, ucon))
                    for t in table_ids if t in DETAIL_TABLES}
        quarters = quarters_for(ledger, unit, period, keyed) if keyed else None
        request = IssueRequest(unit=unit, period=period, table_ids=table_ids, set_names=set_names,
                               previous={keyed: rows} if rows else None, prefill_note=note, capacity=capacity, quarters=quarters,
                               form=form)
        jobs.append((unit, out / template_filename(unit, period, scoring), request))
    key, password = workspace.signing_key, workspace.protection_password
    issued: dict[str, Issued] = {}
    workers = issue_workers(len(jobs))
    if workers <= 1:
        for unit, path, request in jobs:
            issued[unit.code] = Issued(unit, path, _write(path, spec, request, key, password))
            if progress:
                progress(unit)
        return [issued[u.code] for u, _p, _r in jobs]
    # Writing a workbook is pure CPU (xlsxwriter): the units are shared out over processes.  Spawned, not
    # forked, so it works the same on Windows; each worker receives the spec once.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init, initargs=(spec,)) as pool:
        pending = {pool.submit(_write_in_worker, str(path), request, key, password): (unit, path) for unit, path, request in jobs}
        for future in as_completed(pending):
            unit, path = pending[future]
            issued[unit.code] = Issued(unit, path, future.result())
            if progress:
                progress(unit)
    return [issued[u.code] for u, _p, _r in jobs]


def issue_workers(jobs: int) -> int:
    """Processes to write ``jobs`` workbooks with: $QTABLES_WORKERS, else one per CPU (at most 4) for a batch
    of 8 or more (below that, starting the processes costs more than it saves)."""
    env = os.environ.get("QTABLES_WORKERS", "")
    if env.isdigit():
        return max(1, min(int(env), jobs))
    return min(os.cpu_count() or 1, 4) if jobs >= 8 else 1


def _write(path: Path, spec: Spec, request: IssueRequest, key: bytes, password: str) -> str:
    # Write beside the target and rename, so an interrupted run never leaves half a workbook.
    with atomic_path(path) as tmp:
        identity = build_workbook(str(tmp), spec=spec, request=request, key=key, password=password)
    return identity.template_id


_WORKER_SPEC: Spec | None = None


def _worker_init(spec: Spec) -> None:
    global _WORKER_SPEC
    _WORKER_SPEC = spec


def _write_in_worker(path: str, request: IssueRequest, key: bytes, password: str) -> str:
    assert _WORKER_SPEC is not None
    return _write(Path(path), _WORKER_SPEC, request, key, password)
