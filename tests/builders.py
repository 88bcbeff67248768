"""Build filled workbooks for checker tests: qtables' own fixture builder over samplegen."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

from qtables.devtools import samplegen
from qtables.issue.workbook import IssueRequest, build_workbook
from qtables.template.names import tables_for
from qtables.template.layout import TableLayout
from qtables.period import Period


def layouts_for(spec, unit, period, scoring=False):
    set_names, table_ids = tables_for(spec, period, scoring=scoring)
    return set_names, table_ids, [TableLayout.for_unit(spec.table(t), unit) for t in table_ids]


def build_filled(path: Path, spec, workspace, unit_code: str, period_code: str, *, seed: int = 1,
                 mutate: Callable[[dict[str, Any]], None] | None = None, notes: dict[str, str] | None = None,
                 previous=None, key: bytes | None = None, tight: bool = True) -> tuple[Path, dict[str, Any]]:
    """A template filled by qtables' own writer.  ``tight`` (the default): 附表3/附表4 with only as many rows as the
    filling needs plus ten, as `issue` sizes them from the previous period — a fifth of the helper formulas to
    write, read and recalculate; the checker reads the row counts from the identity.  ``tight=False``: the
    spec's 300 rows."""
    unit = workspace.registry.unit(unit_code)
    period = Period.parse(period_code)
    set_names, table_ids, layouts = layouts_for(spec, unit, period)
    filling = samplegen.generate(layouts, unit, period, seed=seed)
    values = copy.deepcopy(filling.values)
    if mutate:
        mutate(values)
    capacity = {t: max(20, len(values.get(t, [])) + 10) for t in ("t3", "t4") if t in table_ids} if tight else {}
    request = IssueRequest(unit, period, table_ids, set_names, values=values, line_values=filling.line_values,
                           notes=notes or {}, previous=previous, capacity=capacity)
    build_workbook(path, spec=spec, request=request, key=key or workspace.signing_key, password="pw")
    return path, values


def annual_workspace(root: Path, spec, workspace, codes=("410100", "410200", "410300")):
    """A workspace that has taken in the year 2025's filings of ``codes`` (the other units have not filed)."""
    from qtables.intake.run import intake
    from qtables.ledger.workspace import init_workspace

    ws = init_workspace(root / "ws", signing_key="5e" * 32)  # the suite's key: build_filled signs with it
    inbox = root / "in"
    inbox.mkdir()
    for i, code in enumerate(codes):
        build_filled(inbox / f"{code}.xlsx", spec, workspace, code, "2025", seed=11 + i)
    intake(ws, [inbox], spec=spec)
    return ws
