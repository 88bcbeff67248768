"""Reporting periods: a quarter such as ``2025Q3`` or a year such as ``2025``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from qtables.errors import UsageError

_QUARTER = re.compile(r"^(\d{4})\s*[Qq季]\s*([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_EXCEL_EPOCH = date(1899, 12, 30)


@dataclass(frozen=True, order=True)
class Period:
    year: int
    quarter: int | None = None  # None for an annual period

    @classmethod
    def parse(cls, text: str) -> "Period":
        raw = (text or "").strip()
        m = _QUARTER.match(raw)
        if m:
            p = cls(int(m.group(1)), int(m.group(2)))
        elif _YEAR.match(raw):
            p = cls(int(raw))
        else:
            raise UsageError(
                f"报告期 “{text}” 无法识别",
                code="U002",
                hint="季报写成 2025Q3（2025年第3季度），年报写成 2025。",
            )
        if not 2000 <= p.year <= 2099:
            raise UsageError(f"报告期 “{text}” 的年份超出 2000–2099", code="U002", hint="请检查年份。")
        return p

    @property
    def kind(self) -> str:
        return "year" if self.quarter is None else "quarter"

    @property
    def code(self) -> str:
        return str(self.year) if self.quarter is None else f"{self.year}Q{self.quarter}"

    @property
    def label(self) -> str:
        return f"{self.year}年度" if self.quarter is None else f"{self.year}年第{self.quarter}季度"

    @property
    def start(self) -> date:
        return date(self.year, 1, 1) if self.quarter is None else date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self) -> date:
        if self.quarter is None:
            return date(self.year, 12, 31)
        nxt = date(self.year + 1, 1, 1) if self.quarter == 4 else date(self.year, 3 * self.quarter + 1, 1)
        return nxt - timedelta(days=1)

    @property
    def order(self) -> tuple[int, int]:
        """Chronological order of any two periods: a year after its fourth quarter, before the next first."""
        return (self.year, 5 if self.quarter is None else self.quarter)

    def previous(self) -> "Period":
        """The period whose 在建 this period carries over (上季度 / 上年度)."""
        if self.quarter is None:
            return Period(self.year - 1)
        if self.quarter == 1:
            return Period(self.year - 1, 4)
        return Period(self.year, self.quarter - 1)

    def quarters(self) -> list["Period"]:
        if self.quarter is not None:
            return [self]
        return [Period(self.year, q) for q in range(1, 5)]

    def __str__(self) -> str:
        return self.code

    @classmethod
    def reported_at(cls, when: date) -> "Period":
        """The quarter a thing arriving on ``when`` most likely belongs to: the one whose end (the 第五条
        deadline) is nearest.  Used only for what carries no period itself (a stamped PDF, an unreadable file)."""
        candidates = [cls(y, q) for y in (when.year - 1, when.year, when.year + 1) for q in range(1, 5)]
        return min(candidates, key=lambda p: (abs((p.end - when).days), p.end))


def excel_serial(d: date) -> float:
    """A date as Excel's 1900-system serial number."""
    return float((d - _EXCEL_EPOCH).days)


def from_excel_serial(serial: float) -> date:
    return _EXCEL_EPOCH + timedelta(days=int(serial))
