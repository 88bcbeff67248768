"""The ledger's schema: numbered migrations, applied once each, in order, inside one transaction.

One set of migrations for both backends, written in SQLite's terms; ``ddl`` turns a statement into
PostgreSQL's (an integer primary key is an identity column, text compares byte by byte as in SQLite so
every ORDER BY sorts alike, a blob is bytea, WITHOUT ROWID is SQLite's alone).
"""

from __future__ import annotations

import re
import time

from qtables.errors import LedgerError


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial",
        """
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
    (
        2,
        "imports",
        """
        CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            period TEXT NOT NULL,
            file TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            mapping TEXT NOT NULL,           -- JSON: sheet, layout, column letters, row → unit
            gaps TEXT NOT NULL,              -- JSON: what was not imported (allow_partial)
            imported_at TEXT NOT NULL
        );
        """,
    ),
    (
        3,
        "arrival outcomes",
        """
        ALTER TABLE arrivals ADD COLUMN code TEXT;          -- finding code of an item that was not a submission
        ALTER TABLE arrivals ADD COLUMN severity TEXT;
        ALTER TABLE arrivals ADD COLUMN fix TEXT;           -- what the sender should do (Chinese)
        ALTER TABLE arrivals ADD COLUMN notice_path TEXT;   -- the notice mail that answered it ('' when none is due)
        UPDATE arrivals SET notice_path = '';               -- what arrived before this migration is not answered again
        """,
    ),
    (
        4,
        "cells without rowid",
        """
        -- A submission's ~600 cells are written at once and read by submission: kept in their key's own B-tree,
        -- each insert writes one tree instead of a table and its key index (~25 % of intake's ledger time).
        CREATE TABLE cells_v4 (
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            table_id TEXT NOT NULL,
            row_key TEXT NOT NULL,
            column_id TEXT NOT NULL,
            value TEXT,
            PRIMARY KEY (submission_id, table_id, row_key, column_id)
        ) WITHOUT ROWID;
        INSERT INTO cells_v4 (submission_id, table_id, row_key, column_id, value)
            SELECT submission_id, table_id, row_key, column_id, value FROM cells;
        DROP TABLE cells;
        ALTER TABLE cells_v4 RENAME TO cells;
        """,
    ),
    (
        5,
        "arrivals by submission and message",
        """
        -- intake looks up, per submission, the message it came in (to answer in its thread) and, per message,
        -- whether it brought a submission (to send a notice or not): without these, each look-up read every
        -- arrival, so a ledger's years of arrivals made each intake slower.
        CREATE INDEX arrivals_submission ON arrivals(submission_id);
        CREATE INDEX arrivals_message ON arrivals(message_id);
        """,
    ),
    (
        6,
        "check inputs, verdict history, received basis",
        """
        -- What each check used from other periods (qtables.ledger.inputs): which submission, and a digest of
        -- its figures.  When a unit's version of a period changes, its later filings whose inputs differ now
        -- are re-checked from their archived originals, and a changed verdict is a new, dated row in verdicts.
        CREATE TABLE check_inputs (
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            role TEXT NOT NULL,              -- previous | quarter
            period TEXT NOT NULL,            -- the period used (or asked for, when there was none)
            source_id INTEGER REFERENCES submissions(id),
            source TEXT NOT NULL,
            digest TEXT NOT NULL,
            PRIMARY KEY (submission_id, role, period)
        );
        CREATE INDEX check_inputs_source ON check_inputs(source_id);
        ALTER TABLE submissions ADD COLUMN inputs_known INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE verdicts (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            decided_at TEXT NOT NULL,
            status_before TEXT NOT NULL,
            status_after TEXT NOT NULL,
            cause TEXT NOT NULL,             -- Chinese: what changed among the inputs
            findings_before TEXT NOT NULL,   -- JSON: the findings the earlier verdict had
            receipt_path TEXT,
            reply_path TEXT
        );
        CREATE INDEX verdicts_submission ON verdicts(submission_id);
        -- Each submission's project keys (工程质量监督注册号 as compared: qtables.figures.project_key), so the other
        -- units listing the same project (PC-09) are found by index, not by reading every unit's 附表3/附表4.
        CREATE TABLE project_keys (
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            key TEXT NOT NULL,
            PRIMARY KEY (submission_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX project_keys_key ON project_keys(key);
        -- How the received time was established (qtables.timing.BASIS_TEXT), NULL before this migration.
        ALTER TABLE arrivals ADD COLUMN received_basis TEXT;
        ALTER TABLE submissions ADD COLUMN received_basis TEXT;
        """,
    ),
    (
        7,
        "originals in the database",
        """
        -- A PostgreSQL ledger keeps every received original here, written in the transaction that records its
        -- arrival, so every desk reads the same originals and none is named before it is durable.  A SQLite
        -- workspace keeps them as files in archive/ (written and synced before the transaction) and leaves this
        -- table empty. ``qtables ledger copy`` moves originals between the two.
        CREATE TABLE originals (
            sha256 TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        -- Workbooks and zips are compressed already: PostgreSQL stores them out of line without compressing again.
        /*postgresql*/ ALTER TABLE originals ALTER COLUMN data SET STORAGE EXTERNAL;
        """,
    ),
    (
        8,
        "reminders",
        """
        -- Every 催报 mail (qtables remind): claimed in the ledger before it is sent, so two runs (or two desks) never
        -- send the same one; a unit gets at most one a day for a period (UNIQUE), a failed send is retried.
        CREATE TABLE reminders (
            id INTEGER PRIMARY KEY,
            unit_code TEXT NOT NULL,
            period TEXT NOT NULL,
            day TEXT NOT NULL,               -- 北京 date the reminder is for (YYYY-MM-DD)
            reasons TEXT NOT NULL,           -- JSON: [[code, Chinese text], …] (H01 未报 …)
            recipients TEXT NOT NULL,        -- comma-separated addresses
            message_id TEXT NOT NULL,
            path TEXT NOT NULL,              -- the mail as written under outbox/reminders/
            state TEXT NOT NULL,             -- sending | sent | written | failed
            code TEXT,                       -- why it failed (H06)
            note TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (unit_code, period, day)
        );
        CREATE INDEX reminders_period ON reminders(period, unit_code);
        """,
    ),
    (
        9,
        "web users and audit trail",
        """
        -- qtables serve: who may sign in (a bcrypt hash, never the password) and what every signed-in person did.
        CREATE TABLE users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,              -- viewer | clerk
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            user_name TEXT NOT NULL,
            action TEXT NOT NULL,            -- login | intake | merge | report | export | issue | remind …
            detail TEXT NOT NULL
        );
        """,
    ),
    (
        10,
        "outputs claimed by a desk",
        """
        -- Receipts and replies are made by the desk whose intake recorded a submission.  Several desks on one ledger
        -- (each with its own outbox): a desk claims a submission's outputs first, so two never both answer it.
        ALTER TABLE submissions ADD COLUMN outputs_claim TEXT;  -- "desk|time" (time as now_iso)
        """,
    ),
    (
        11,
        "the ledger's own settings",
        """
        -- What every desk on the ledger must share: the templates' signing key (a desk with another key would take
        -- every filing for a forgery, I01).  The first workspace to open the ledger records its key; a second desk's
        -- init adopts it; a workspace with another key is refused (K09).
        CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
]


_PG_DDL = [
    (re.compile(r"\bINTEGER PRIMARY KEY\b"), "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\)\s*WITHOUT ROWID"), ")"),
]


def ddl(statement: str, dialect: str) -> str | None:
    """A migration statement for ``dialect`` (see the module docstring); None: not for this dialect (a statement
    marked ``/*postgresql*/`` is PostgreSQL's alone)."""
    if "/*postgresql*/" in statement and dialect != "postgresql":
        return None
    if dialect == "postgresql":
        for pattern, text in _PG_DDL:
            statement = pattern.sub(text, statement)
    return statement


def latest() -> int:
    return MIGRATIONS[-1][0]


def migrate(db) -> list[int]:
    """Apply the migrations not yet applied (the caller holds the transaction); return their numbers.
    A ledger migrated by a newer qtables is refused (K04) before anything is written."""
    db.execute(ddl("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                   " applied_at TEXT NOT NULL)", db.dialect))
    done = {r[0] for r in db.execute("SELECT version FROM schema_migrations")}
    if done and max(done) > latest():
        raise LedgerError(f"台账的结构版本（{max(done)}）比本程序（{latest()}）新：它已被更新版本的 qtables 使用过", code="K04",
                          hint="请把本机的 qtables 升级到与其他岗位相同的版本后再运行；未作任何改动。")
    applied = []
    for version, name, sql in MIGRATIONS:
        if version in done:
            continue
        # Comments go before the split: a ";" in one must not end a statement.
        code = "\n".join(line.split("--")[0] for line in sql.splitlines())
        for statement in [s for s in code.split(";") if s.strip()]:
            if (text := ddl(statement, db.dialect)) is not None:
                db.execute(text)
        db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, now_iso()))
        applied.append(version)
    return applied
