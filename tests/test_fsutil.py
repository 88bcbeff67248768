"""Atomic writes: a reader sees the old file or the new one, never a part; nothing is left behind."""

from __future__ import annotations

import os
import stat

import pytest

from qtables.fsutil import write_atomic


def test_write_atomic_replaces_in_one_step_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "回执.xlsx"
    assert write_atomic(target, b"first") == target and target.read_bytes() == b"first"
    write_atomic(target, b"second", fsync=True)
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["回执.xlsx"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_write_atomic_gives_the_mode_asked_for(tmp_path):
    target = write_atomic(tmp_path / "original", b"x", mode=stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH, fsync=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o444


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "reply.eml"
    write_atomic(target, b"old")

    def broken(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["reply.eml"]
