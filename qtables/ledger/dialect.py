"""The ledger's two backends behind one small connection: SQLite (the embedded default, one file in the
workspace) and PostgreSQL (psycopg 3, for several desks).

Every query in qtables is written once, in the SQL both understand, with ``?`` placeholders (``:name`` for a
dict of parameters).  What differs lives here and in ``schema.ddl``:

* placeholders (``%s``/``%(name)s`` for psycopg, with a literal ``%`` doubled);
* ``INSERT OR IGNORE`` is ``INSERT … ON CONFLICT DO NOTHING``;
* a new row's id comes from ``lastrowid`` or ``RETURNING id``;
* a write transaction is ``BEGIN IMMEDIATE`` (SQLite: one writer) or ``BEGIN`` plus a transaction-scoped
  advisory lock (PostgreSQL: the same one-writer-at-a-time rule, so supersession and version numbers are
  decided by one desk at a time); a read is one snapshot (``BEGIN`` / ``REPEATABLE READ READ ONLY``).
"""

from __future__ import annotations

import re
import sqlite3
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

# pg_advisory_xact_lock key of the ledger's writer lock ("qtables" in ASCII, truncated to a bigint).
WRITER_LOCK = 0x71746162_6C6573


class Row:
    """A result row read by position or by column name, like ``sqlite3.Row`` (``dict(row)`` works)."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence[Any], index: dict[str, int]):
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return tuple(self) == tuple(other) if isinstance(other, (Row, tuple)) else NotImplemented

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Row({dict(zip(self._index, self._values))!r})"


def _row_factory(cursor):
    index = {c.name: i for i, c in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def to_postgres(sql: str, named: bool) -> str:
    """One query in psycopg's terms (see the module docstring)."""
    text = sql.replace("%", "%%")
    text = _NAMED.sub(r"%(\1)s", text) if named else text.replace("?", "%s")
    if text.lstrip().upper().startswith("INSERT OR IGNORE INTO"):
        text = re.sub(r"(?i)^\s*INSERT OR IGNORE INTO", "INSERT INTO", text) + " ON CONFLICT DO NOTHING"
    return text


class Database:
    """One connection to the ledger (see the module docstring); ``dialect`` is "sqlite" or "postgresql"."""

    dialect = "sqlite"

    def __init__(self, con):
        self.con = con

    # -- queries ---------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()):
        return self.con.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.con.executemany(sql, rows)

    def insert(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run an INSERT into a table with an ``id`` column and return the new row's id."""
        return self.con.execute(sql, params).lastrowid

    def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Many rows into ``table`` at once (a submission's ~600 cells): executemany, or COPY on PostgreSQL."""
        self.con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)

    # -- transactions ----------------------------------------------------
    def begin_write(self) -> None:
        """BEGIN IMMEDIATE: one writer at a time (waits up to a minute for another desk's transaction)."""
        for _attempt in range(600):
            try:
                self.con.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(0.1)
        raise sqlite3.OperationalError("ledger is locked")  # pragma: no cover - a minute of contention

    def begin_read(self) -> None:
        self.con.execute("BEGIN")
        self.con.execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()  # the snapshot starts at the first read

    def commit(self) -> None:
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        self.con.execute("ROLLBACK")

    def close(self) -> None:
        self.con.close()

    def identity_follows(self, table: str) -> None:
        """After rows were copied in with their ids: new rows get ids after them (SQLite does so by itself)."""


_COPY_TEXT = {str, int, type(None), bool}
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    """One value in COPY's text format: NULL as \\N, backslash, tab and line ends escaped."""
    if value is None:
        return "\\N"
    if type(value) is str:
        return value.translate(_COPY_ESCAPES)
    return str(int(value))


class PostgresDatabase(Database):
    dialect = "postgresql"

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()):
        return self.con.execute(to_postgres(sql, isinstance(params, dict)), params or None)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            with self.con.cursor() as cur:
                cur.executemany(to_postgres(sql, isinstance(rows[0], dict)), rows)

    def insert(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        return self.execute(sql + " RETURNING id", params).fetchone()[0]

    def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        # COPY streams the rows instead of one Bind/Execute each; rows of text and integers are written as COPY's
        # text format in one piece (psycopg's write_row costs ~6 µs a row, a submission has ~600 cells).
        rows = list(rows)
        with self.con.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            if all(type(v) in _COPY_TEXT for row in rows for v in row):
                copy.write("".join("\t".join(map(_copy_field, row)) + "\n" for row in rows).encode("utf-8", "surrogateescape"))
            else:
                for row in rows:
                    copy.write_row(row)

    def begin_write(self) -> None:
        self.con.execute("BEGIN")
        self.con.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))

    def begin_read(self) -> None:
        self.con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self.con.execute("SELECT 1").fetchall()

    def identity_follows(self, table: str) -> None:
        self.con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1,"
                         " false)")



def open_sqlite(path: Path) -> Database:
    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    # WAL with synchronous=NORMAL: a killed process never loses or corrupts a committed arrival; a power cut may
    # lose the last commits, which the next intake takes in again (arrivals are keyed, originals archived first).
    # FULL would sync on every commit (~7 ms per item on the benchmark machine).
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    return Database(con)


def open_postgres(url: str) -> PostgresDatabase:
    from qtables.ledger.pgconnect import connect

    return PostgresDatabase(connect(url, _row_factory))
