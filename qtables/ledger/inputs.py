"""What a check used from other periods — its *inputs* — so a verdict can be re-checked when they change.

A quarter's 接转 rules read the previous period's accepted figures; an annual filing's identities read the
four quarters.  Each submission records, per input, which ledger submission it was (or that there was none)
and a digest of the figures themselves.  When a unit's current version of a period changes, the inputs of
its later filings are asked again; only a filing whose inputs now differ is re-checked (see
``qtables.intake.recheck``), so a resubmission that changes nothing a later check used changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from qtables.figures import Previous, ProjectHistory, Quarters
from qtables.ledger.history import digest
from qtables.period import Period


@dataclass(frozen=True)
class Input:
    role: str  # "previous" (接转 and continuity) | "quarter" (an annual filing's quarters)
    period: str  # the period whose figures were used, or were asked for when there were none
    source_id: int | None  # the ledger submission used (None: nothing was there)
    source: str  # its description in Chinese ("" when none)
    digest: str  # of the figures used ("none" when none)

    @property
    def key(self) -> tuple[str, str]:
        return (self.role, self.period if self.role == "quarter" else "")


def inputs_of(period: Period, previous: Previous | None, quarters: Quarters | None,
              history: ProjectHistory | None = None, own: frozenset[str] | set[str] = frozenset()) -> list[Input]:
    """The inputs of a check of ``period`` that used ``previous``, (for a year) ``quarters`` and (附表3/附表4)
    the unit's project ``history``; of the other units' projects only those sharing a key with ``own`` count."""
    if previous is None:
        out = [Input("previous", period.previous().code, None, "", digest(None))]
    else:
        used = {"tables": previous.tables, "detail": previous.detail, "stand_in": previous.stand_in}
        out = [Input("previous", previous.period.code, previous.submission_id, previous.source, digest(used))]
    if quarters is not None:
        out += [Input("quarter", q.code, sid, source, fingerprint) for q, sid, source, fingerprint in quarters.parts]
    if history is not None:
        earlier = {k: [(p.code, t, row) for p, t, row in v] for k, v in history.earlier.items()}
        out.append(Input("history", "", None, "、".join(history.sources), digest(earlier or None)))
        clash = {k: sorted(history.peers[k]) for k in sorted(own) if k in history.peers}
        units = "、".join(sorted({u for us in clash.values() for u in us}))
        out.append(Input("peers", "", None, units, digest(clash or None)))
    return out


def same(a: list[Input], b: list[Input]) -> bool:
    """Whether two sets of inputs hold the same figures (which submission holds them does not matter)."""
    return {i.key: (i.period, i.digest) for i in a} == {i.key: (i.period, i.digest) for i in b}


def cause(before: list[Input], after: list[Input]) -> str:
    """Why a filing is re-checked, in Chinese: what changed among the figures its check used."""
    old = {i.key: i for i in before}
    parts = []
    for new in after:
        was = old.get(new.key)
        if was is not None and (was.period, was.digest) == (new.period, new.digest):
            continue
        if new.role == "history":
            parts.append("本单位此前各期的附表3/附表4工程明细有变化")
            continue
        if new.role == "peers":
            parts.append(f"其他单位本期报表中的相同注册号有变化（{new.source or '现已没有'}）")
            continue
        label = Period.parse(new.period).label
        if was is None or was.source_id is None:
            if new.source_id is not None:
                parts.append(f"收到{label}报表（{_version(new.source, label)}）")
        elif new.source_id is None:
            parts.append(f"{Period.parse(was.period).label}此前采用的报表已被取代或退回（原为{_version(was.source, Period.parse(was.period).label)}）")
        elif was.source_id != new.source_id:
            old_version = _version(was.source, label).split("（", 1)[0]
            parts.append(f"{label}报表由{old_version}更正为{_version(new.source, label)}")
        else:
            parts.append(f"{label}数据变化（{_version(new.source, label)}）")
    if not before:
        parts.append("首次记录本次审核所依据的其他报告期数据")
    return "；".join(parts) or "所依据的其他报告期数据变化"


def _version(source: str, label: str) -> str:
    """"2025年第2季度 第2版（郑州市.xlsx，2025-10-10收到）" without the period it names: "第2版（…）"."""
    return source[len(label):].strip() if source.startswith(label) else source
