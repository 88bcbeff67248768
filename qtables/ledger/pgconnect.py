"""Connecting to a PostgreSQL ledger, with each way it can fail named in Chinese under its own code.

psycopg 3 is an optional extra (``pip install "qtables[postgresql]"``): the SQLite default needs nothing.
The password is never read from qtables.toml; libpq finds it as usual (``PGPASSWORD``, ``~/.pgpass`` or
``%APPDATA%\\postgresql\\pgpass.conf``), or the whole address comes from ``QTABLES_DATABASE_URL``.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

from qtables.errors import LedgerError, is_connection_error, lost


def shown(url: str) -> str:
    """The address as printed: any password replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def connect(url: str, row_factory):
    try:
        import psycopg
    except ImportError:
        raise LedgerError("未安装 PostgreSQL 驱动（psycopg），无法使用 PostgreSQL 台账", code="K05",
                          hint='请运行 pip install "qtables[postgresql]"，或去掉 qtables.toml 中的 [database] url 改用本机 SQLite 台账。') from None
    try:
        return psycopg.connect(url, autocommit=True, row_factory=row_factory, connect_timeout=10,
                               application_name="qtables")
    except psycopg.Error as exc:
        raise connect_error(url, exc) from None


def connect_error(url: str, exc: Exception) -> LedgerError:
    text = str(exc)
    state = getattr(exc, "sqlstate", None)
    where = shown(url)
    if state in ("28P01", "28000") or "password authentication failed" in text or "no password supplied" in text:
        return LedgerError(f"PostgreSQL 拒绝登录（{where}）：用户名或密码不对", code="K02",
                           hint="请检查 PGPASSWORD、~/.pgpass（Windows：%APPDATA%\\postgresql\\pgpass.conf）或 QTABLES_DATABASE_URL 中的密码；密码不要写在 qtables.toml 里。")
    if state == "3D000" or re.search(r'database "[^"]*" does not exist', text):
        return LedgerError(f"PostgreSQL 上没有这个数据库（{where}）", code="K03",
                           hint="请数据库管理员先建库（createdb），或改正地址中的库名。")
    return LedgerError(f"连不上 PostgreSQL 台账（{where}）：服务器未启动或网络不通", code="K01",
                       hint=f"请确认数据库服务器已启动、地址和端口正确；未作任何改动。（{text.strip().splitlines()[0] if text.strip() else type(exc).__name__}）")


@contextmanager
def connection_guard(db) -> Iterator[None]:
    """A PostgreSQL connection lost inside the block becomes K06 (nothing half-recorded: the server rolls back)."""
    try:
        yield
    except Exception as exc:
        if db.dialect == "postgresql" and is_connection_error(exc):
            raise lost(exc) from None
        raise
