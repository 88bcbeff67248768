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
from json.encoder import encode_basestring
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from qtables.errors import LedgerError
from qtables.figures import Previous, ProjectHistory, Quarters, project_key
from qtables.ledger.archive import Archive, DatabaseArchive
from qtables.ledger.dialect import Database, open_postgres, open_sqlite
from qtables.ledger.pgconnect import connection_guard
from qtables.ledger.history import own_projects, previous_figures, project_history, quarter_figures
from qtables.ledger.inputs import Input
from qtables.ledger.queries import LedgerQueries, decode
from qtables.ledger.people import PeopleLedger
from qtables.ledger.reminders import ReminderLedger
from qtables.period import Period
from qtables.ledger.schema import migrate, now_iso

LEDGER_FILE = "ledger.sqlite"
ARCHIVE_DIR = "archive"

def _encode(value: Any) -> str | None:
    if value is None:
        return None
    kind = type(value)
    if kind is int:
        return str(value)  # what json.dumps writes, without its machinery (a submission has ~1,500 cells)
    if kind is float and value - value == 0:
        return repr(value)
    if kind is str:
        return encode_basestring(value)  # json.dumps(value, ensure_ascii=False) without its machinery: the same text
    return json.dumps(value, ensure_ascii=False, default=str)


class Ledger(LedgerQueries, ReminderLedger, PeopleLedger):
    """The ledger of a workspace: ``url`` None for the SQLite file in ``root``, else a PostgreSQL address."""

    def __init__(self, root: str | os.PathLike[str], url: str | None = None, *, file: str | os.PathLike[str] | None = None,
                 signing_key: str | None = None):
        self.signing_key = signing_key  # the workspace's (hex): recorded by the first to open the ledger, then checked
        self.root = Path(root)
        self.url = url
        self.path = Path(file) if file else self.root / LEDGER_FILE
        self.archive = self.root / ARCHIVE_DIR
        if url:
            self.db = open_postgres(url)
            self._archive = DatabaseArchive(self.archive, self.db)
        else:
            self.db = open_sqlite(self.path)
            self._archive = Archive(self.archive)
        self.migrate()

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def close(self) -> None:
        self.db.close()

    def migrate(self) -> list[int]:
        with self.transaction() as db:
            applied = migrate(db)
            if self.signing_key is not None:
                self._check_key(db)
            if 6 in applied:
                # Submissions recorded before migration 6: their project keys from the cells (附表3/附表4's
                # 工程质量监督注册号, the spec's continuity key when the migration was written).
                db.executemany("INSERT OR IGNORE INTO project_keys (submission_id, key) VALUES (?, ?)", [
                    (r[0], k) for r in db.execute("SELECT submission_id, value FROM cells WHERE table_id IN ('t3', 't4')"
                                                  " AND column_id = 'reg_no'").fetchall() if (k := project_key(decode(r[1])))])
            return applied

    def _check_key(self, db) -> None:
        """The workspace's signing key against the one the ledger holds: recorded when it holds none, refused (K09)
        when it differs — desks that disagree would each take the others' templates for forgeries."""
        recorded = self.recorded_key()
        if recorded is None:
            _record_key(db, self.signing_key)
        elif recorded.lower() != self.signing_key.lower():
            raise LedgerError("本工作区的模板签名密钥与台账中记录的不同：用它收取，各单位的报表都会被当作伪造的模板退回（I01）",
                              code="K09", hint="几个岗位共用一本台账时应共用同一个密钥：新岗位请用 qtables init 工作区 --database 地址"
                              " 建立工作区（自动采用台账中的密钥），或把第一个岗位 qtables.toml 中的 signing_key 抄过来。"
                              "确要更换密钥（此前下发的模板将全部无法通过签名校验）：qtables ledger rekey --workspace 工作区。")

    def recorded_key(self) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE name = 'signing_key'").fetchone()
        return row[0] if row else None

    def rekey(self, key: str) -> None:
        """The ledger's signing key replaced by ``key`` (a deliberate change: templates signed before fail I01)."""
        with self.transaction() as db:
            db.execute("DELETE FROM settings WHERE name = 'signing_key'")
            _record_key(db, key)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One writer at a time, all or nothing (dialect.Database.begin_write).  Originals stored since the last
        transaction go into this one (a PostgreSQL ledger keeps them in the database)."""
        with connection_guard(self.db):
            self.db.begin_write()
            try:
                self._archive.flush(self.db)
                yield self.db
            except BaseException:
                self._rollback()
                raise
            else:
                self.db.commit()

    def _rollback(self) -> None:
        try:
            self.db.rollback()
        except Exception:  # the connection is gone: the server has rolled the transaction back itself
            pass

    @contextmanager
    def reading(self) -> Iterator[Database]:
        """One consistent snapshot for a command that reads much (merge, status): it never sees half of another
        desk's run, nor a unit's two versions at once."""
        with connection_guard(self.db):
            self.db.begin_read()
            try:
                yield self.db
            finally:
                self._rollback()

    # -- other periods ----------------------------------------------------
    def previous(self, unit_code: str, period: Period, table_id: str) -> Previous | None:
        """The accepted figures the 接转 of ``table_id`` in ``period`` must equal (see ledger.history)."""
        return previous_figures(self.db, unit_code, period, table_id)

    def quarters(self, unit_code: str, year: int) -> Quarters:
        return quarter_figures(self.db, unit_code, year)

    def projects(self, unit_code: str, period: Period, tables: tuple[str, str], key: str, own=frozenset()) -> ProjectHistory:
        return project_history(self.db, unit_code, period, tables, key, own)

    def own_projects(self, submission_id: int) -> set[str]:
        return own_projects(self.db, submission_id)

    # -- archive --------------------------------------------------------
    def archive_path(self, sha256: str) -> Path:
        return self._archive.path(sha256)

    def store_original(self, sha256: str, data: bytes) -> Path:
        return self._archive.store(sha256, data)

    # -- writes ---------------------------------------------------------
    def record_many(self, entries: list[tuple[str, bytes, dict[str, Any]]]) -> list[tuple[int | None, str]]:
        """Record a group of arrivals (group commit): their originals made durable together, then all of them in one
        transaction (each as ``record`` would).  Entries: (SHA-256, original bytes, ``record``'s keywords)."""
        self._archive.store_many({sha: data for sha, data, _kw in entries})
        with self.transaction() as db:
            return [self._record(db, **kw) for _sha, _data, kw in entries]

    def versions(self, submission_ids: list[int]) -> dict[int, int]:
        if not submission_ids:
            return {}
        marks = ",".join("?" * len(submission_ids))
        return {r[0]: r[1] for r in self.db.execute(f"SELECT id, version FROM submissions WHERE id IN ({marks})",
                                                    submission_ids).fetchall()}

    def record(self, *, arrival: dict[str, Any], submission: dict[str, Any] | None, findings: list[dict[str, Any]],
               cells: list[tuple[str, str, str, Any]], inputs: list[Input] | None = None,
               projects: set[str] | frozenset[str] = frozenset()) -> tuple[int | None, str]:
        """Record one arrival (and its submission) atomically. Returns (submission id, final status).

        ``inputs``: what the submission's check used from other periods (None: it used none that can change)."""
        with self.transaction() as db:
            return self._record(db, arrival=arrival, submission=submission, findings=findings, cells=cells, inputs=inputs,
                                projects=projects)

    def _record(self, db: Database, *, arrival: dict[str, Any], submission: dict[str, Any] | None, findings: list[dict[str, Any]],
                cells: list[tuple[str, str, str, Any]], inputs: list[Input] | None = None,
                projects: set[str] | frozenset[str] = frozenset()) -> tuple[int | None, str]:
        if db.execute("SELECT 1 FROM arrivals WHERE arrival_key = ?", (arrival["arrival_key"],)).fetchone():
            return None, "already-recorded"
        submission_id = None
        status = arrival["status"]
        if submission is not None:
            existing = db.execute("SELECT id FROM submissions WHERE sha256 = ?", (submission["sha256"],)).fetchone()
            if existing:
                status, submission_id = "duplicate", existing["id"]
            else:
                submission_id = self._insert_submission(db, submission, findings, cells, inputs, projects)
        db.execute(
            "INSERT INTO arrivals (arrival_key, sha256, filename, size, kind, source, message_id, sender, subject,"
            " received_at, unit_code, period, status, submission_id, note, recorded_at, code, severity, fix, received_basis)"
            " VALUES (:arrival_key, :sha256, :filename, :size, :kind, :source, :message_id, :sender, :subject,"
            " :received_at, :unit_code, :period, :status, :submission_id, :note, :recorded_at, :code, :severity, :fix,"
            " :received_basis)",
            dict({"code": None, "severity": None, "fix": None, "received_basis": None} | arrival, status=status,
                 submission_id=submission_id,
                 recorded_at=now_iso()),
        )
        return submission_id, status

    def _insert_submission(self, db, submission, findings, cells, inputs=None, projects=frozenset()) -> int:
        tables = submission["tables"]
        version = 1 + (db.execute(
            "SELECT COALESCE(MAX(version), 0) FROM submissions WHERE unit_code = ? AND period = ? AND tables = ?",
            (submission["unit_code"], submission["period"], tables),
        ).fetchone()[0])
        counts_as_current = submission["status"] not in ("quarantined",)
        new_id = db.insert(
            "INSERT INTO submissions (sha256, unit_code, period, tables, template_id, version, status, is_current,"
            " received_at, sender, filename, received_basis) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (submission["sha256"], submission["unit_code"], submission["period"], tables, submission.get("template_id"),
             version, submission["status"], 1 if counts_as_current else 0, submission["received_at"], submission.get("sender"),
             submission["filename"], submission.get("received_basis")),
        )
        if counts_as_current:
            # A resubmission supersedes the earlier version of the same tables; history stays.
            db.execute(
                "UPDATE submissions SET is_current = 0, superseded_by = ? WHERE unit_code = ? AND period = ? AND tables = ?"
                " AND id != ? AND is_current = 1",
                (new_id, submission["unit_code"], submission["period"], tables, new_id),
            )
        self._write_verdict(db, new_id, findings, cells, inputs)
        db.executemany("INSERT OR IGNORE INTO project_keys (submission_id, key) VALUES (?, ?)", [(new_id, k) for k in sorted(projects)])
        return new_id

    @staticmethod
    def _write_verdict(db, submission_id: int, findings, cells, inputs) -> None:
        db.insert_rows(
            "findings", ("submission_id", "seq", "code", "severity", "tbl", "sheet", "cell", "message", "expected", "found", "note",
                         "explained"),
            [(submission_id, i, f["code"], f["severity"], f.get("table"), f.get("sheet"), f.get("cell"), f["message"],
              _encode(f.get("expected")), _encode(f.get("found")), f.get("note"), int(bool(f.get("explained"))))
             for i, f in enumerate(findings)],
        )
        db.insert_rows("cells", ("submission_id", "table_id", "row_key", "column_id", "value"),
                       [(submission_id, t, r, c, _encode(v)) for t, r, c, v in cells])
        if inputs is not None:
            Ledger._write_inputs(db, submission_id, inputs)

    @staticmethod
    def _write_inputs(db, submission_id: int, inputs: list[Input]) -> None:
        db.execute("DELETE FROM check_inputs WHERE submission_id = ?", (submission_id,))
        db.executemany(
            "INSERT INTO check_inputs (submission_id, role, period, source_id, source, digest) VALUES (?, ?, ?, ?, ?, ?)",
            [(submission_id, i.role, i.period, i.source_id, i.source, i.digest) for i in inputs])
        db.execute("UPDATE submissions SET inputs_known = 1 WHERE id = ?", (submission_id,))

    def inputs(self, submission_id: int) -> list[Input]:
        return [Input(r["role"], r["period"], r["source_id"], r["source"], r["digest"]) for r in self.db.execute(
            "SELECT * FROM check_inputs WHERE submission_id = ? ORDER BY role, period", (submission_id,)).fetchall()]

    def update_inputs(self, submission_id: int, inputs: list[Input]) -> None:
        """The same verdict on other submissions holding the same figures: only its recorded basis moves."""
        with self.transaction() as db:
            self._write_inputs(db, submission_id, inputs)

    def record_recheck(self, submission_id: int, *, status: str, findings: list[dict[str, Any]],
                       cells: list[tuple[str, str, str, Any]], inputs: list[Input], cause: str,
                       basis: list[Input] | None = None) -> int | None:
        """A new, dated verdict on an earlier submission (its original re-checked against changed inputs): the
        earlier verdict is kept in ``verdicts``; the receipt and reply are made again (pending outputs).
        ``basis``: the inputs the re-check found recorded; when another desk has re-checked the submission since
        (its recorded inputs are no longer these), nothing is recorded and None returned."""
        with self.transaction() as db:
            if basis is not None and _basis(self.inputs(submission_id)) != _basis(basis):
                return None
            old = db.execute("SELECT status FROM submissions WHERE id = ?", (submission_id,)).fetchone()
            before = [dict(r) for r in db.execute("SELECT * FROM findings WHERE submission_id = ? ORDER BY seq", (submission_id,)).fetchall()]
            verdict_id = db.insert(
                "INSERT INTO verdicts (submission_id, decided_at, status_before, status_after, cause, findings_before)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (submission_id, now_iso(), old["status"], status, cause, json.dumps(before, ensure_ascii=False)))
            db.execute("DELETE FROM findings WHERE submission_id = ?", (submission_id,))
            db.execute("DELETE FROM cells WHERE submission_id = ?", (submission_id,))
            self._write_verdict(db, submission_id, findings, cells, inputs)
            db.execute("UPDATE submissions SET status = ?, receipt_path = NULL, reply_path = NULL WHERE id = ?",
                       (status, submission_id))
            return verdict_id

    def last_recheck(self, submission_id: int):
        return self.db.execute("SELECT * FROM verdicts WHERE submission_id = ? ORDER BY id DESC LIMIT 1",
                               (submission_id,)).fetchone()

    def rechecks_of(self, submission_id: int) -> int:
        return self.db.execute("SELECT COUNT(*) FROM verdicts WHERE submission_id = ?", (submission_id,)).fetchone()[0]

    def claim_outputs(self, submission_ids: list[int], desk: str, *, stale_after: int = 1800) -> set[int]:
        """Take the making of these submissions' receipts and replies for ``desk`` (its host and workspace folder), in
        one transaction; returns the ids taken.  A submission whose outputs are made, or which another desk claimed
        less than ``stale_after`` seconds ago, is left; the same desk may always retake its own claim (a rerun after
        an interruption writes the same files)."""
        import time as _time

        if not submission_ids:
            return set()
        now = _time.time()
        taken = set()
        with self.transaction() as db:
            marks = ",".join("?" * len(submission_ids))
            for row in db.execute(f"SELECT id, receipt_path, outputs_claim FROM submissions WHERE id IN ({marks})",
                                  list(submission_ids)).fetchall():
                owner, _sep, when = (row["outputs_claim"] or "").rpartition("|")
                if row["receipt_path"] is None and (not owner or owner == desk or now - float(when or 0) >= stale_after):
                    taken.add(row["id"])
            db.executemany("UPDATE submissions SET outputs_claim = ? WHERE id = ?", [(f"{desk}|{now:.0f}", i) for i in sorted(taken)])
        return taken

    def set_outputs(self, submission_id: int, *, receipt_path: str | None, reply_path: str | None) -> None:
        self.set_outputs_many([(submission_id, receipt_path, reply_path)])

    def set_outputs_many(self, outputs: list[tuple[int, str | None, str | None]]) -> None:
        """Receipts and replies written: (submission id, receipt path, reply path), recorded in one transaction."""
        if not outputs:
            return
        with self.transaction() as db:
            db.executemany("UPDATE submissions SET receipt_path = ?, reply_path = ? WHERE id = ?",
                           [(receipt, reply, sid) for sid, receipt, reply in outputs])
            # A re-checked verdict keeps its own receipt and reply (the earlier ones stay in the history).
            db.executemany("UPDATE verdicts SET receipt_path = ?, reply_path = ? WHERE id = (SELECT MAX(id) FROM verdicts"
                           " WHERE submission_id = ?) AND receipt_path IS NULL", [(receipt, reply, sid) for sid, receipt, reply in outputs])


def _basis(inputs: list[Input]) -> list[tuple]:
    return sorted((i.role, i.period, i.source_id or 0, i.digest) for i in inputs)


@dataclass(frozen=True)
class ArrivalKey:
    source_id: str
    sha256: str

    def text(self) -> str:
        import hashlib

        return hashlib.sha256(f"{self.source_id}\n{self.sha256}".encode("utf-8", "surrogateescape")).hexdigest()


def _record_key(db, key: str) -> None:
    db.execute("INSERT INTO settings (name, value) VALUES ('signing_key', ?)", (key,))
