"""Read-only questions asked of the ledger (mixed into Ledger)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def decode(value: str | None) -> Any:
    return None if value is None else json.loads(value)


class LedgerQueries:
    db: sqlite3.Connection

    def has_arrival(self, arrival_key: str) -> bool:
        return self.db.execute("SELECT 1 FROM arrivals WHERE arrival_key = ?", (arrival_key,)).fetchone() is not None

    def submission_by_sha(self, sha256: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM submissions WHERE sha256 = ?", (sha256,)).fetchone()

    def current_submissions(self, period: str, *, tables: list[str] | None = None) -> list[sqlite3.Row]:
        """The current version of every submission of a period.  A unit can have more than one: its 附表 and,
        for a year, the 考核评分表 the 考核组 returns (a different set of tables).  ``tables``: only the
        submissions holding one of these."""
        rows = self.db.execute(
            "SELECT * FROM submissions WHERE period = ? AND is_current = 1 ORDER BY unit_code, id", (period,)
        ).fetchall()
        if tables is None:
            return rows
        wanted = set(tables)
        return [r for r in rows if wanted & set(r["tables"].split(","))]

    def accepted_values(self, unit_code: str, period: str) -> dict[str, dict[str, dict[str, Any]]] | None:
        """The values of the current accepted submissions of a unit and period (its 附表 and, for a year,
        its 考核评分表: different tables): table -> row key -> column -> value."""
        rows = self.db.execute(
            "SELECT id FROM submissions WHERE unit_code = ? AND period = ? AND is_current = 1"
            " AND status IN ('accepted', 'accepted_with_warnings') ORDER BY id",
            (unit_code, period),
        ).fetchall()
        if not rows:
            return None
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for row in rows:
            for c in self.db.execute("SELECT table_id, row_key, column_id, value FROM cells WHERE submission_id = ?", (row["id"],)):
                out.setdefault(c["table_id"], {}).setdefault(c["row_key"], {})[c["column_id"]] = decode(c["value"])
        return out

    def snapshot(self) -> dict[str, list[tuple]]:
        """Everything that matters, without ids and times that legitimately vary between runs."""
        return {
            "arrivals": sorted(
                tuple(r) for r in self.db.execute("SELECT arrival_key, sha256, filename, kind, sender, unit_code, period, status FROM arrivals")
            ),
            "submissions": sorted(
                tuple(r) for r in self.db.execute(
                    "SELECT sha256, unit_code, period, tables, version, status, is_current, filename FROM submissions")
            ),
            "findings": sorted(
                tuple(r) for r in self.db.execute(
                    "SELECT s.sha256, f.seq, f.code, f.severity, f.cell, f.message FROM findings f JOIN submissions s ON s.id = f.submission_id")
            ),
            "cells": sorted(
                tuple(r) for r in self.db.execute(
                    "SELECT s.sha256, c.table_id, c.row_key, c.column_id, c.value FROM cells c JOIN submissions s ON s.id = c.submission_id")
            ),
        }

    def pending_outputs(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM submissions WHERE receipt_path IS NULL ORDER BY id").fetchall()

    def findings_of(self, submission_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM findings WHERE submission_id = ? ORDER BY seq", (submission_id,)).fetchall()
