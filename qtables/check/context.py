"""What a check needs (CheckContext) and what it returns (Report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from qtables.check.findings import Finding
from qtables.figures import Previous, ProjectHistory, Quarters
from qtables.template.identity import Identity
from qtables.period import Period
from qtables.read.workbook import ReadLimits
from qtables.spec.registry import Registry, Unit
from qtables.template.rules import WorkbookData
from qtables.spec.model import Spec


@dataclass
class CheckContext:
    spec: Spec
    registry: Registry
    key: bytes
    expected_unit: str | None = None
    expected_period: str | None = None
    # (unit code, previous period code) -> figures given on the command line (``--previous FILE``)
    history: dict[tuple[str, str], Previous] = field(default_factory=dict)
    # The ledger's accepted figures for periods not in ``history``: (unit code, period, keyed table id).
    lookup: Callable[[str, Period, str], Previous | None] | None = None
    # The ledger's four quarters of a year, for the annual identities: (unit code, year).
    quarters: Callable[[str, int], Quarters] | None = None
    limits: ReadLimits | None = None
    # The unit's projects in its earlier quarters and the period's other units' 注册号: (unit code, period).
    projects: Callable[..., ProjectHistory] | None = None  # (unit code, period, own project keys)

    def previous_for(self, unit: Unit, period: Period, table_id: str) -> Previous | None:
        key = (unit.code, period.previous().code)
        if key in self.history:
            return self.history[key]
        return self.lookup(unit.code, period, table_id) if self.lookup else None

    def projects_for(self, unit: Unit, period: Period, own: set[str]) -> ProjectHistory | None:
        return self.projects(unit.code, period, own) if self.projects is not None and period.kind == "quarter" else None

    def quarters_for(self, unit: Unit, period: Period) -> Quarters | None:
        if period.kind != "year" or self.quarters is None:
            return None
        return self.quarters(unit.code, period.year)


@dataclass
class Report:
    file: str
    findings: list[Finding] = field(default_factory=list)
    identity: Identity | None = None
    format: str | None = None
    data: WorkbookData | None = None
    unit: Unit | None = None
    period: Period | None = None
    receipt: str | None = None
    previous: Previous | None = None  # the other period the 接转 and continuity checks used
    quarters: Quarters | None = None  # the quarters an annual filing's identities used
    history: ProjectHistory | None = None  # the project history and other units' 注册号 the lifecycle rules used
    projects: frozenset[str] = frozenset()  # the project keys its 附表3/附表4 list (qtables.figures.project_key)
    recognised: str | None = None  # a non-template workbook laid out as this table (F06)

    @property
    def status(self) -> str:
        severities = {f.severity for f in self.findings}
        if "F" in severities:
            return "unreadable"
        if "E" in severities:
            return "rejected"
        if any(f.severity == "W" and not f.explained for f in self.findings):
            return "accepted_with_warnings"
        return "accepted"

    @property
    def exit_code(self) -> int:
        return {"unreadable": 2, "rejected": 1}.get(self.status, 0)

    def count(self, severity: str, *, explained: bool | None = None) -> int:
        return sum(1 for f in self.findings if f.severity == severity and (explained is None or f.explained == explained))

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "status": self.status,
            "format": self.format,
            "unit": self.identity.unit_code if self.identity else None,
            "period": self.identity.period if self.identity else None,
            "template_id": self.identity.template_id if self.identity else None,
            "findings": [f.as_json() for f in self.findings],
        }
