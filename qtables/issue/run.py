"""``qtables issue``: one workbook per reporting unit for a period."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from qtables.errors import UsageError
from qtables.fsutil import atomic_path
from qtables.issue.workbook import IssueRequest, build_workbook, tables_for
from qtables.period import Period
from qtables.registry import Unit
from qtables.spec import Spec, load_spec
from qtables.workspace import Workspace


class PreviousProvider(Protocol):
    """Supplies the previous period's accepted 在建 figures, per table and row key.

    The ledger implements this once intake exists; until then nothing is
    pre-filled and 接转 cells are typed by the unit (and checked centrally).
    """

    def __call__(self, unit: Unit, period: Period) -> dict[str, dict[str, dict[str, Any]]] | None: ...


def no_previous(unit: Unit, period: Period) -> None:
    return None


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
    previous: PreviousProvider = no_previous,
    progress: Callable[[Unit], None] | None = None,
) -> list[Issued]:
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
    issued: list[Issued] = []
    for unit in units:
        request = IssueRequest(unit=unit, period=period, table_ids=table_ids, set_names=set_names, previous=previous(unit, period))
        path = out / template_filename(unit, period, scoring)
        # Write beside the target and rename, so an interrupted run never leaves half a workbook.
        with atomic_path(path) as tmp:
            identity = build_workbook(str(tmp), spec=spec, request=request, key=workspace.signing_key,
                                      password=workspace.protection_password)
        issued.append(Issued(unit, path, identity.template_id))
        if progress:
            progress(unit)
    return issued
