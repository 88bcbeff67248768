"""``qtables ledger copy``: a whole ledger moved to another backend — a SQLite workspace up to PostgreSQL when
a second desk joins, or a PostgreSQL ledger down to a SQLite file for a backup.

Every row of every table is copied with its id (so receipts, outbox mails and the ``verdicts`` history keep
pointing at the same submissions), and every original with it: files of the SQLite archive become rows of
``originals`` and back.  The target must be empty (K07); before anything is written every original is read
and its SHA-256 checked (K08); afterwards each table's row count and a digest of its rows are compared on both
sides and every original read back from the target is checked again (K08).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable

from qtables.errors import LedgerError
from qtables.ledger.store import Ledger

# In an order the foreign keys allow (submissions.superseded_by is set in a second pass).
TABLES: list[tuple[str, str]] = [
    ("submissions", "id"),
    ("arrivals", "id"),
    ("findings", "submission_id, seq"),
    ("cells", "submission_id, table_id, row_key, column_id"),
    ("check_inputs", "submission_id, role, period"),
    ("verdicts", "id"),
    ("project_keys", "submission_id, key"),
    ("imports", "id"),
    ("reminders", "id"),
    ("users", "name"),
    ("audit", "id"),
    ("settings", "name"),
]


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)
    originals: int = 0
    original_bytes: int = 0


def _rows(ledger: Ledger, table: str, order: str) -> tuple[list[str], list[tuple]]:
    cur = ledger.db.execute(f"SELECT * FROM {table} ORDER BY {order}")
    names = [d[0] for d in cur.description]
    return names, [tuple(r) for r in cur.fetchall()]


def table_digest(ledger: Ledger, table: str, order: str) -> tuple[int, str]:
    """Row count and a SHA-256 over the rows in key order (the same on both backends for the same rows)."""
    names, rows = _rows(ledger, table, order)
    h = hashlib.sha256(",".join(sorted(names)).encode())
    position = sorted(range(len(names)), key=lambda i: names[i])
    for row in rows:
        h.update(repr([row[i] for i in position]).encode("utf-8", "surrogateescape"))
    return len(rows), h.hexdigest()


def original_hashes(ledger: Ledger) -> list[str]:
    """Every original the ledger names (arrivals and imports)."""
    return sorted({r[0] for r in ledger.db.execute("SELECT sha256 FROM arrivals UNION SELECT sha256 FROM imports").fetchall()})


def is_empty(ledger: Ledger) -> bool:
    """Nothing recorded yet.  The settings do not count: a ledger made by ``init --database`` holds only its new
    workspace's signing key, which the copied ledger's replaces (the templates it knows were signed with that)."""
    return all(ledger.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] == 0
               for t, _o in TABLES + [("originals", "")] if t != "settings")


def copy_ledger(source: Ledger, target: Ledger, *, progress: Callable[[str], None] | None = None) -> CopyReport:
    say = progress or (lambda _text: None)
    if not is_empty(target):
        raise LedgerError("目标台账不是空的，未作任何改动", code="K07",
                          hint="ledger copy 只往空台账里复制：请换一个新建的空数据库（createdb）或一个不存在的 .sqlite 文件。")
    hashes = original_hashes(source)
    originals: dict[str, bytes] = {}
    bad = []
    for sha in hashes:
        try:
            data = source._archive.read(sha)
        except OSError:
            bad.append(f"{sha[:12]}…（缺失）")
            continue
        if hashlib.sha256(data).hexdigest() != sha:
            bad.append(f"{sha[:12]}…（内容与哈希不符）")
            continue
        originals[sha] = data
    if bad:
        raise LedgerError(f"源台账有 {len(bad)} 份原件不完整：{'；'.join(bad[:5])}{'……' if len(bad) > 5 else ''}", code="K08",
                          hint="请先从备份恢复这些原件（archive/ 目录），再复制；未作任何改动。")
    report = CopyReport()
    with source.reading():
        tables = {t: _rows(source, t, order) for t, order in TABLES}
    target._archive.store_many(originals)
    with target.transaction() as db:
        db.execute("DELETE FROM settings")
        for table, _order in TABLES:
            names, rows = tables[table]
            if table == "submissions":
                held = names.index("superseded_by")
                rows_in = [r[:held] + (None,) + r[held + 1:] for r in rows]
            else:
                rows_in = rows
            if rows_in:
                db.insert_rows(table, names, rows_in)
            if table == "submissions":
                db.executemany("UPDATE submissions SET superseded_by = ? WHERE id = ?",
                               [(r[held], r[names.index("id")]) for r in rows if r[held] is not None])
            if "id" in names:
                db.identity_follows(table)
            report.rows[table] = len(rows)
            say(f"{table}：{len(rows)} 行")
    report.originals, report.original_bytes = len(originals), sum(map(len, originals.values()))
    say(f"原件：{report.originals} 份，{report.original_bytes} 字节")
    verify(source, target)
    return report


def verify(source: Ledger, target: Ledger) -> None:
    """Counts and digests of every table, and every original's hash read back from the target (K08)."""
    differ = []
    for table, order in TABLES:
        a, b = table_digest(source, table, order), table_digest(target, table, order)
        if a != b:
            differ.append(f"{table}（源 {a[0]} 行，目标 {b[0]} 行）")
    for sha in original_hashes(source):
        try:
            ok = hashlib.sha256(target._archive.read(sha)).hexdigest() == sha
        except OSError:
            ok = False
        if not ok:
            differ.append(f"原件 {sha[:12]}…")
    if differ:
        raise LedgerError(f"复制后核对不一致：{'；'.join(differ[:5])}", code="K08",
                          hint="目标台账不可用，请删除后重新复制；源台账未作改动。")

