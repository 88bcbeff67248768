"""The content-addressed archive: every received original kept once, by SHA-256, read-only."""

from __future__ import annotations

import stat
from pathlib import Path

from qtables.fsutil import write_atomic


class Archive:
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
        return write_atomic(target, data, mode=stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH, fsync=True)
