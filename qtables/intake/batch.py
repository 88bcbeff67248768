"""Group commit: the items of an intake recorded a group at a time.

Each item used to pay for its own durable archive write and its own transaction.  Now the checked items wait
in a batch; their originals are made durable together (files synced as a group, or rows of the PostgreSQL
ledger's ``originals``) and their arrivals, submissions, findings and cells recorded in one transaction.  A
kill at any point leaves a batch all recorded or not at all, and a rerun takes in what was not.

An item's check reads the ledger (the unit's earlier periods, other units listing the same project), so an
item whose unit or projects meet one still waiting in the batch is checked again once the batch is recorded:
every verdict is the one a one-at-a-time intake gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from qtables.ledger.store import Ledger

GROUP_ITEMS = 32
GROUP_BYTES = 32 * 1024 * 1024


@dataclass
class Entry:
    outcome: Any
    record: dict[str, Any] | None  # Ledger.record's keywords; None: nothing to record (already recorded)
    sha256: str = ""
    data: bytes = b""


@dataclass
class Batch:
    ledger: Ledger
    progress: Callable[[Any], None] | None = None
    entries: list[Entry] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)
    size: int = 0
    done: list[Any] = field(default_factory=list)

    def waiting(self, *, key: str | None = None, unit: str | None = None, projects=frozenset()) -> bool:
        """Whether an item with this arrival key, unit or projects depends on what the batch has not recorded."""
        return (key is not None and key in self.keys) or (unit is not None and unit in self.units) or bool(self.projects & set(projects))

    def add(self, outcome: Any, record: dict[str, Any] | None = None, *, sha256: str = "", data: bytes = b"") -> None:
        self.entries.append(Entry(outcome, record, sha256, data))
        if record is not None:
            self.keys.add(record["arrival"]["arrival_key"])
            submission = record.get("submission")
            if submission is not None:
                self.units.add(submission["unit_code"])
                self.projects |= set(record.get("projects") or ())
            self.size += len(data)
        if len(self.entries) >= GROUP_ITEMS or self.size >= GROUP_BYTES:
            self.flush()

    def flush(self) -> None:
        """Record the batch (originals durable first), then finish each item's outcome in order."""
        recorded = [e for e in self.entries if e.record is not None]
        results = self.ledger.record_many([(e.sha256, e.data, e.record) for e in recorded]) if recorded else []
        ids = [sid for sid, _final in results if sid is not None]
        versions = self.ledger.versions(ids)
        for entry, (submission_id, final) in zip(recorded, results):
            if entry.record.get("submission") is None:
                continue
            outcome = entry.outcome
            outcome.status = final
            if submission_id is not None:
                outcome.version = versions.get(submission_id)
            if final == "duplicate":
                outcome.message = "与此前收到的文件完全相同，不重复计入"
        for entry in self.entries:
            self.done.append(entry.outcome)
            if self.progress:
                self.progress(entry.outcome)
        self.entries, self.keys, self.units, self.projects, self.size = [], set(), set(), set(), 0
