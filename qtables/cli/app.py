"""The command group, its options and error handling; the commands live in ``setup`` and ``flow``.

Only the ``cli`` package imports click.  Each command parses options, calls one
library function and prints Chinese.  Errors qtables raises on purpose
(QtablesError) become ``[code] message`` and exit 2; anything unexpected is
logged to a file and reported without a traceback, also with exit 2.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from qtables.cli import chinese

chinese.install()  # before any option or path type is built: click names them when they are created

from qtables import __version__  # noqa: E402
from qtables.errors import QtablesError, unexpected  # noqa: E402

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _fail(code: str, message: str, hint: str | None = None) -> None:
    click.echo(f"错误 [{code}] {message}", err=True)
    if hint:
        click.echo(f"  处理办法：{hint}", err=True)
    sys.exit(EXIT_USAGE)


def handle_errors(func):
    """Map domain errors to a clean Chinese message and exit 2; never show a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except QtablesError as exc:
            _fail(exc.code, exc.message, exc.hint)
        except KeyboardInterrupt:
            _fail("Q002", "已中断。已写出的文件都是完整的；重新运行即可继续。")
        except Exception as exc:  # noqa: BLE001 - the last line of defence for users
            error = unexpected(exc)
            _fail(error.code, error.message, error.hint)

    return wrapper


def workspace_option(func):
    return click.option(
        "--workspace",
        "workspace",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="工作区目录（默认：环境变量 QTABLES_WORKSPACE，否则为当前目录）。",
    )(func)


# click's usage errors, each with a stable code (exit 2, like every error that stops a command).
USAGE_CODES = (
    (click.MissingParameter, "U020"),
    (click.NoSuchOption, "U021"),
    (click.BadParameter, "U022"),
    (click.UsageError, "U023"),
    (click.ClickException, "U024"),
)


class _Command(click.Command):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)


class _Group(click.Group):
    command_class = _Command

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as done:  # --help, --version
            sys.exit(done.exit_code)
        except click.Abort:
            _fail("Q002", "已中止。")
        except click.ClickException as exc:
            code = next(c for kind, c in USAGE_CODES if isinstance(exc, kind))
            hint = None
            ctx = getattr(exc, "ctx", None)
            if ctx is not None:
                hint = f"请运行 “{ctx.command_path} --help” 查看用法和示例。"
            _fail(code, exc.format_message(), hint)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qtables")
def main() -> None:
    """qtables：河南省建设工程质量分析报告 附表 的下发、收取、审核与汇总。

    \b
    常用流程：
      qtables init 工作区
      qtables issue --workspace 工作区 --period 2025Q3 --out 工作区/下发模板
    """
