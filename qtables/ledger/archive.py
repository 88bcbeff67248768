"""The archive of every received original, kept once by SHA-256: files (a SQLite workspace) or rows of the
``originals`` table (a PostgreSQL ledger, where every desk reads them)."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from qtables.fsutil import write_atomic, write_many_atomic

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


class Archive:
    """Files under ``archive/``: each written and synced before the transaction that names it."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def store(self, sha256: str, data: bytes) -> Path:
        """Keep the bytes once, by hash, read-only. Safe to repeat and to interrupt."""
        target = self.path(sha256)
        if target.exists() and target.stat().st_size == len(data):
            return target
        return write_atomic(target, data, mode=READ_ONLY, fsync=True)

    def store_many(self, originals: dict[str, bytes]) -> None:
        """A group of originals made durable together: every file written, then every file synced (the disk
        flushes them in one go instead of one after another)."""
        write_many_atomic({target: data for sha, data in originals.items()
                           if not ((target := self.path(sha)).exists() and target.stat().st_size == len(data))}, mode=READ_ONLY)

    def flush(self, db) -> None:
        """Nothing waits for a transaction: the files were synced before it."""

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


class DatabaseArchive(Archive):
    """Rows of ``originals``, inserted in the transaction that records their arrival; read through a local
    cache under ``archive/`` (checked against the hash), since the checker and receipts read files."""

    def __init__(self, root: Path, db):
        super().__init__(root)
        self.db = db
        self.pending: dict[str, bytes] = {}

    def store(self, sha256: str, data: bytes) -> Path:
        self.store_many({sha256: data})
        return super().path(sha256)

    def store_many(self, originals: dict[str, bytes]) -> None:
        """Held for the next transaction; this desk's cache written now (not synced: the database is the record,
        and a cache file is written whole or not at all)."""
        self.pending.update(originals)
        for sha, data in originals.items():
            target = super().path(sha)
            if not target.exists():
                write_atomic(target, data, mode=READ_ONLY, fsync=False)

    def flush(self, db) -> None:
        if self.pending:
            have = {r[0] for r in db.execute(
                f"SELECT sha256 FROM originals WHERE sha256 IN ({','.join('?' * len(self.pending))})", list(self.pending)).fetchall()}
            db.insert_rows("originals", ("sha256", "size", "data"),
                           [(sha, len(data), data) for sha, data in self.pending.items() if sha not in have])
            self.pending = {}

    def path(self, sha256: str) -> Path:
        target = super().path(sha256)
        if not target.exists():
            try:
                data = self.read(sha256)
            except FileNotFoundError:
                return target  # not in the ledger: the caller finds no file, as with a missing archive file
            if hashlib.sha256(data).hexdigest() == sha256:
                write_atomic(target, data, mode=READ_ONLY, fsync=False)
        return target

    def read(self, sha256: str) -> bytes:
        row = self.db.execute("SELECT data FROM originals WHERE sha256 = ?", (sha256,)).fetchone()
        if row is None:
            raise FileNotFoundError(sha256)
        return bytes(row[0])

