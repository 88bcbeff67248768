"""The ledger (SQLite) and the content-addressed archive of every received original.

Every received item is an *arrival* with a stable key (where it came from and
what its bytes are), so running intake again over the same mailbox or folder
adds nothing.  Each arrival is recorded in one transaction together with its
submission, findings and data; the archived original is written (atomically,
by SHA-256, read-only) before that transaction, so a crash at any point leaves
either nothing or everything, and a rerun completes the work.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from qtables.fsutil import atomic_path

LEDGER_FILE = "ledger.sqlite"
ARCHIVE_DIR = "archive"

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial",
        """
        CREATE TABLE arrivals (
            id INTEGER PRIMARY KEY,
            arrival_key TEXT NOT NULL UNIQUE,
            sha256 TEXT NOT NULL,
            filename TEXT NOT NULL,
            size INTEGER NOT NULL,
            kind TEXT NOT NULL,              -- workbook | attachment | rejected-file
            source TEXT NOT NULL,            -- file path, mailbox name, imap://…
            message_id TEXT,
            sender TEXT,
            subject TEXT,
            received_at TEXT NOT NULL,
            unit_code TEXT,
            period TEXT,
            status TEXT NOT NULL,            -- accepted | accepted_with_warnings | rejected | quarantined | duplicate | unreadable | attachment
            submission_id INTEGER REFERENCES submissions(id),
            note TEXT,
            recorded_at TEXT NOT NULL
        );
        CREATE INDEX arrivals_sha ON arrivals(sha256);
        CREATE INDEX arrivals_unit ON arrivals(unit_code, period);
        CREATE TABLE submissions (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            unit_code TEXT NOT NULL,
            period TEXT NOT NULL,
            tables TEXT NOT NULL,
            template_id TEXT,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            is_current INTEGER NOT NULL DEFAULT 1,
            superseded_by INTEGER REFERENCES submissions(id),
            received_at TEXT NOT NULL,
            sender TEXT,
            filename TEXT NOT NULL,
            receipt_path TEXT,
            reply_path TEXT
        );
        CREATE INDEX submissions_unit ON submissions(unit_code, period, is_current);
        CREATE TABLE findings (
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            seq INTEGER NOT NULL,
            code TEXT NOT NULL,
            severity TEXT NOT NULL,
            tbl TEXT, sheet TEXT, cell TEXT,
            message TEXT NOT NULL,
            expected TEXT, found TEXT, note TEXT,
            explained INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (submission_id, seq)
        );
        CREATE TABLE cells (
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            table_id TEXT NOT NULL,
            row_key TEXT NOT NULL,
            column_id TEXT NOT NULL,
            value TEXT,
            PRIMARY KEY (submission_id, table_id, row_key, column_id)
        );
        """,
    ),
]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _encode(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str)


def decode(value: str | None) -> Any:
    return None if value is None else json.loads(value)


class Ledger:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.path = self.root / LEDGER_FILE
        self.archive = self.root / ARCHIVE_DIR
        self.archive.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    def close(self) -> None:
        self.db.close()

    # -- schema ---------------------------------------------------------
    def migrate(self) -> list[int]:
        with self.transaction():
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {r[0] for r in self.db.execute("SELECT version FROM schema_migrations")}
            applied = []
            for version, name, sql in MIGRATIONS:
                if version in done:
                    continue
                for statement in [s for s in sql.split(";") if s.strip()]:
                    self.db.execute(statement)
                self.db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, now_iso()))
                applied.append(version)
        return applied

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT: one writer at a time, all or nothing."""
        for attempt in range(600):
            try:
                self.db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(0.1)
        else:  # pragma: no cover - a minute of contention
            raise sqlite3.OperationalError("ledger is locked")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # -- archive --------------------------------------------------------
    def archive_path(self, sha256: str) -> Path:
        return self.archive / sha256[:2] / sha256

    def store_original(self, sha256: str, data: bytes) -> Path:
        """Keep the bytes once, by hash, read-only. Safe to repeat and to interrupt."""
        target = self.archive_path(sha256)
        if target.exists() and target.stat().st_size == len(data):
            return target
        with atomic_path(target, mode=stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH, fsync=True) as tmp:
            tmp.write_bytes(data)
        return target

    # -- queries --------------------------------------------------------
    def has_arrival(self, arrival_key: str) -> bool:
        return self.db.execute("SELECT 1 FROM arrivals WHERE arrival_key = ?", (arrival_key,)).fetchone() is not None

    def submission_by_sha(self, sha256: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM submissions WHERE sha256 = ?", (sha256,)).fetchone()

    def current_submissions(self, period: str) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM submissions WHERE period = ? AND is_current = 1 ORDER BY unit_code", (period,)
        ).fetchall()

    def accepted_values(self, unit_code: str, period: str) -> dict[str, dict[str, dict[str, Any]]] | None:
        """The values of the current accepted submission of a unit and period: table -> row key -> column -> value."""
        row = self.db.execute(
            "SELECT id FROM submissions WHERE unit_code = ? AND period = ? AND is_current = 1"
            " AND status IN ('accepted', 'accepted_with_warnings')",
            (unit_code, period),
        ).fetchone()
        if row is None:
            return None
        out: dict[str, dict[str, dict[str, Any]]] = {}
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

    # -- writes ---------------------------------------------------------
    def record(self, *, arrival: dict[str, Any], submission: dict[str, Any] | None, findings: list[dict[str, Any]],
               cells: list[tuple[str, str, str, Any]]) -> tuple[int | None, str]:
        """Record one arrival (and its submission) atomically. Returns (submission id, final status)."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM arrivals WHERE arrival_key = ?", (arrival["arrival_key"],)).fetchone():
                return None, "already-recorded"
            submission_id = None
            status = arrival["status"]
            if submission is not None:
                existing = db.execute("SELECT id FROM submissions WHERE sha256 = ?", (submission["sha256"],)).fetchone()
                if existing:
                    status, submission_id = "duplicate", existing["id"]
                else:
                    submission_id = self._insert_submission(db, submission, findings, cells)
            db.execute(
                "INSERT INTO arrivals (arrival_key, sha256, filename, size, kind, source, message_id, sender, subject,"
                " received_at, unit_code, period, status, submission_id, note, recorded_at)"
                " VALUES (:arrival_key, :sha256, :filename, :size, :kind, :source, :message_id, :sender, :subject,"
                " :received_at, :unit_code, :period, :status, :submission_id, :note, :recorded_at)",
                dict(arrival, status=status, submission_id=submission_id, recorded_at=now_iso()),
            )
            return submission_id, status

    def _insert_submission(self, db, submission, findings, cells) -> int:
        tables = submission["tables"]
        version = 1 + (db.execute(
            "SELECT COALESCE(MAX(version), 0) FROM submissions WHERE unit_code = ? AND period = ? AND tables = ?",
            (submission["unit_code"], submission["period"], tables),
        ).fetchone()[0])
        counts_as_current = submission["status"] not in ("quarantined",)
        cur = db.execute(
            "INSERT INTO submissions (sha256, unit_code, period, tables, template_id, version, status, is_current,"
            " received_at, sender, filename) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (submission["sha256"], submission["unit_code"], submission["period"], tables, submission.get("template_id"),
             version, submission["status"], 1 if counts_as_current else 0, submission["received_at"], submission.get("sender"),
             submission["filename"]),
        )
        new_id = cur.lastrowid
        if counts_as_current:
            # A resubmission supersedes the earlier version of the same tables; history stays.
            db.execute(
                "UPDATE submissions SET is_current = 0, superseded_by = ? WHERE unit_code = ? AND period = ? AND tables = ?"
                " AND id != ? AND is_current = 1",
                (new_id, submission["unit_code"], submission["period"], tables, new_id),
            )
        db.executemany(
            "INSERT INTO findings (submission_id, seq, code, severity, tbl, sheet, cell, message, expected, found, note, explained)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(new_id, i, f["code"], f["severity"], f.get("table"), f.get("sheet"), f.get("cell"), f["message"],
              _encode(f.get("expected")), _encode(f.get("found")), f.get("note"), int(bool(f.get("explained"))))
             for i, f in enumerate(findings)],
        )
        db.executemany(
            "INSERT INTO cells (submission_id, table_id, row_key, column_id, value) VALUES (?, ?, ?, ?, ?)",
            [(new_id, t, r, c, _encode(v)) for t, r, c, v in cells],
        )
        return new_id

    def set_outputs(self, submission_id: int, *, receipt_path: str | None, reply_path: str | None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE submissions SET receipt_path = ?, reply_path = ? WHERE id = ?", (receipt_path, reply_path, submission_id))

    def pending_outputs(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM submissions WHERE receipt_path IS NULL ORDER BY id").fetchall()

    def findings_of(self, submission_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM findings WHERE submission_id = ? ORDER BY seq", (submission_id,)).fetchall()


@dataclass(frozen=True)
class ArrivalKey:
    source_id: str
    sha256: str

    def text(self) -> str:
        import hashlib

        return hashlib.sha256(f"{self.source_id}\n{self.sha256}".encode("utf-8", "surrogateescape")).hexdigest()
