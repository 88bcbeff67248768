"""Figures of other periods as they are handed between stages (ledger → check, issue).

Plain records, so the checker can use what the ledger found without importing the ledger.
"""

from __future__ import annotations

import unicodedata
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


def project_key(value: Any) -> str:
    """A 工程质量监督注册号 as compared across periods and units: width-folded (NFKC), without spaces, upper case."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "".join(unicodedata.normalize("NFKC", str(value)).split()).upper()


@dataclass
class ProjectHistory:
    """A unit's projects over its earlier quarters (附表3 在建, 附表4 竣工/备案) and, for the same period, which
    other units' filings list the same 注册号 — what the lifecycle rules (PC-05…PC-09) compare with."""

    earlier: dict[str, list[tuple[Period, str, dict[str, Any]]]]  # project key -> [(period, table id, row values)]
    sources: list[str]  # the earlier filings used, described in Chinese
    peers: dict[str, set[str]]  # project key -> codes of the other units whose filing of the period lists it
