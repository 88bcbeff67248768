"""Exceptions for problems with the spec, the program or the environment.

Problems in *submitted data* are never raised: they are collected as findings
with stable codes (see ``qtables.check.findings``).  What is raised here is what stops
a command: a broken spec file, an unknown period, a missing workspace.  Every
error carries a stable code and a Chinese message; the CLI prints both and
exits 2.
"""

from __future__ import annotations


class QtablesError(Exception):
    """Base of every error qtables raises on purpose."""

    code = "Q000"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # pragma: no cover - trivial
        text = f"[{self.code}] {self.message}"
        if self.hint:
            text += f"\n  处理办法：{self.hint}"
        return text


class SpecError(QtablesError):
    """The declarative spec under schemas/ is malformed."""

    code = "S001"

    def __init__(self, message: str, *, file: str, pointer: str = "", code: str | None = None):
        where = f"{file}#{pointer}" if pointer else file
        super().__init__(
            f"规格文件有误（{where}）：{message}",
            code=code,
            hint="请按错误位置（JSON 指针）修改该规格文件后重试。",
        )
        self.file = file
        self.pointer = pointer


class ExpressionError(QtablesError):
    """A rule or formula expression does not parse or refers to unknown names."""

    code = "S002"


class UsageError(QtablesError):
    """The user asked for something that cannot be done (unknown period, unit …)."""

    code = "U001"


class WorkspaceError(QtablesError):
    """The workspace is missing or its config is broken."""

    code = "W001"


class LedgerError(QtablesError):
    """The ledger's database cannot be used: server down, wrong password, unknown database, a schema newer
    than the program, a connection lost in the middle of a command (K01–K09, docs/errors in README)."""

    code = "K01"


def unexpected(exc: BaseException) -> QtablesError:
    """What a user is told of an error qtables did not expect: a lost database connection is K06 (nothing
    half-recorded); anything else is Q999, its traceback written to a file for the maintainer."""
    import os
    import tempfile
    import traceback

    if isinstance(exc, QtablesError):
        return exc  # a coded refusal that reached here (K09 from a page's ledger): shown as itself, not Q999
    if is_connection_error(exc):
        return lost(exc)
    fd, log = tempfile.mkstemp(prefix="qtables-error-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("".join(traceback.format_exception(exc)))
    return QtablesError(f"程序内部错误，详细信息已写入 {log}", code="Q999", hint="请把该文件发给系统维护人员。")


def lost(exc: Exception) -> LedgerError:
    """The connection dropped in the middle of a command: the open transaction was rolled back by the server."""
    return LedgerError("与 PostgreSQL 台账的连接中断，本次未完成的记录已整体撤销", code="K06",
                       hint="请在连接恢复后重新运行同一命令：已记录的不会重复，未记录的会补上。")


def is_connection_error(exc: BaseException) -> bool:
    """psycopg's OperationalError (the server went away, the network dropped), without importing psycopg."""
    return any(k.__module__.startswith("psycopg") and k.__name__ == "OperationalError" for k in type(exc).__mro__)
