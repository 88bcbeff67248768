"""Figures of other periods as they are handed between stages (ledger → check, issue).

Plain records, so the checker can use what the ledger found without importing the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qtables.period import Period

Figures = dict[str, dict[str, dict[str, Any]]]  # table id -> row key -> column id -> value

# The row key under which a keyed table's 合计 is kept (ledger cells, previous-period figures).
TOTAL_KEY = "_total"


@dataclass
class Previous:
    """The previous period's figures of one unit, re-keyed to the table being checked."""

    tables: Figures
    source: str  # Chinese, e.g. "2025年第2季度 第1版（郑州市.xlsx，2025-07-05收到）"
    period: Period
    stand_in: str = ""  # non-empty when the figures come from another table (why, in Chinese)
    detail: Figures = field(default_factory=dict)  # 附表3/附表4 of the previous period (project continuity)
    submission_id: int | None = None  # the ledger submission the figures are (None: given on the command line)


@dataclass
class Quarters:
    """The four quarters' 附表5 of one unit, as the annual rules see them (``q.sum_x``, ``q.q4_x``, ``q.q1_x``)."""

    tables: Figures | None
    missing: list[Period]
    sources: list[str]
    # Each quarter as it was found: (period, ledger submission or None, its description, digest of its figures).
    parts: list[tuple[Period, int | None, str, str]] = field(default_factory=list)
