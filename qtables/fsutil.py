"""Writing files so that a reader never sees half of one, whatever interrupts the writer."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: str | os.PathLike[str], *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` for a writer that wants a path (xlsxwriter); on success it
    replaces ``target`` in one step.  Bytes at hand, or a write that must be durable: ``write_atomic``.

    ``mode`` defaults to the usual permissions for new files (mkstemp's are private).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=target.suffix, dir=target.parent)
    os.close(fd)

    with _moved_over(Path(tmp), target, mode):
        yield Path(tmp)


def write_atomic(target: str | os.PathLike[str], data: bytes, *, mode: int | None = None, fsync: bool = False) -> Path:
    """``data`` written beside ``target`` through one handle, synced to disk when ``fsync`` (before it is moved,
    so a name never points at bytes a power cut can lose), then moved over ``target`` in one step."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{os.urandom(6).hex()}{target.suffix}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    with _moved_over(tmp, target, mode):
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    return target


@contextmanager
def _moved_over(tmp: Path, target: Path, mode: int | None) -> Iterator[None]:
    """After the body has written ``tmp``: its permissions set, then moved over ``target``; gone on any failure."""
    try:
        yield
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def replace(tmp: Path, target: Path) -> None:
    """``os.replace``; on Windows a target open in Excel or WPS is locked and cannot be replaced: that is said in
    Chinese under its own code (U045), and the old file stays as it was."""
    try:
        os.replace(tmp, target)
    except PermissionError:
        from qtables.errors import QtablesError

        raise QtablesError(f"无法写入 {target}：该文件正被其他程序打开（多半是 Excel 或 WPS）", code="U045",
                           hint=f"请先在 Excel/WPS 中关闭“{Path(target).name}”，再重新运行；原文件未作改动。") from None


def write_many_atomic(files: dict[Path, bytes], *, mode: int | None = None) -> None:
    """Several files made durable together: each written beside its target through its own handle, then all
    synced, then each moved over its target.  One sync after another while the disk is idle costs each file a
    full flush; syncing a group lets the file system commit them together.  As ``write_atomic(fsync=True)``, a
    name never points at bytes a power cut can lose."""
    open_files = []
    try:
        for target, data in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".tmp-{os.urandom(6).hex()}{target.suffix}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            fh = os.fdopen(fd, "wb")
            open_files.append((fh, tmp, target))
            fh.write(data)
            fh.flush()
        for fh, _tmp, _target in open_files:
            os.fsync(fh.fileno())
        for fh, tmp, target in open_files:
            fh.close()
            os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
            replace(tmp, target)
    finally:
        for fh, tmp, _target in open_files:
            fh.close()
            if os.path.exists(tmp):
                os.unlink(tmp)
