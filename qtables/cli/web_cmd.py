"""``qtables serve`` (the office page) and ``qtables user`` (who may sign in to it)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from qtables.cli.app import handle_errors, main, workspace_option


def _web():
    try:
        import bcrypt  # noqa: F401
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        from qtables.errors import QtablesError

        raise QtablesError("未安装网页功能所需的程序包", code="U051", hint='请运行 pip install "qtables[web]"。') from None


@main.command("serve")
@workspace_option
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址；在办公网提供服务（如 0.0.0.0）须先用 qtables user add 添加用户。")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535), help="端口。")
@handle_errors
def serve_cmd(workspace, host, port) -> None:
    """在浏览器中查看报送情况、收取文件、生成汇总表和分析报告（办公网页）。

    \b
    示例：
      qtables serve --workspace 工作区                       # 本机：http://127.0.0.1:8765
      qtables serve --workspace 工作区 --host 0.0.0.0         # 办公网（须已添加用户）
    """
    _web()
    from qtables.errors import QtablesError
    from qtables.ledger.workspace import open_workspace
    from qtables.web.app import create_app
    from qtables.web.auth import LOCAL_HOSTS

    ws = open_workspace(workspace)
    ledger = ws.open_ledger()
    try:
        named = bool(ledger.users())
    finally:
        ledger.close()
    if host not in LOCAL_HOSTS and not named:
        raise QtablesError(f"在 {host} 上提供服务前，须先添加用户（否则办公网上任何人都能操作）", code="U050",
                           hint="qtables user add 姓名 --role clerk（统计员）或 --role viewer（查看者）；或只在本机使用（--host 127.0.0.1）。")
    import uvicorn

    click.echo(f"办公网页：http://{host}:{port}/ （Ctrl+C 停止）")
    uvicorn.run(create_app(ws.path, host=host), host=host, port=port, log_level="warning")


@main.group("user")
def user_group() -> None:
    """办公网页的用户：查看者（viewer）只能浏览；统计员（clerk）还能收取、汇总、起草报告、下发模板、催报。

    \b
    示例：
      qtables user add 张三 --role clerk --workspace 工作区
      qtables user list --workspace 工作区
    """


@user_group.command("add")
@workspace_option
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "clerk"]), required=True, help="viewer 查看者；clerk 统计员。")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（脚本用）；否则提示输入两遍。")
@handle_errors
def user_add(workspace, name, role, password_stdin) -> None:
    """添加或重设用户（密码只存 bcrypt 哈希）。

    \b
    示例：
      qtables user add 张三 --role clerk
      echo 密码 | qtables user add 李四 --role viewer --password-stdin
    """
    _web()
    from qtables.errors import UsageError
    from qtables.ledger.workspace import open_workspace
    from qtables.web.auth import hash_password

    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt("密码", hide_input=True, confirmation_prompt="再输入一遍")
    if len(password) < 8:
        raise UsageError("密码至少 8 个字符", code="U052")
    ledger = open_workspace(workspace).open_ledger()
    try:
        ledger.add_user(name, role, hash_password(password))
        ledger.audit("（命令行）", "user add", f"{name} {role}")
    finally:
        ledger.close()
    click.echo(f"已添加用户 {name}（{'统计员' if role == 'clerk' else '查看者'}）")


@user_group.command("list")
@workspace_option
@handle_errors
def user_list(workspace) -> None:
    """列出用户。

    \b
    示例：
      qtables user list --workspace 工作区
    """
    from qtables.ledger.workspace import open_workspace

    ledger = open_workspace(workspace).open_ledger()
    try:
        for row in ledger.users():
            click.echo(f"{row['name']}\t{row['role']}\t{row['created_at']}")
    finally:
        ledger.close()


@user_group.command("remove")
@workspace_option
@click.argument("name")
@handle_errors
def user_remove(workspace, name) -> None:
    """删除用户。

    \b
    示例：
      qtables user remove 李四 --workspace 工作区
    """
    from qtables.errors import UsageError
    from qtables.ledger.workspace import open_workspace

    ledger = open_workspace(workspace).open_ledger()
    try:
        if not ledger.remove_user(name):
            raise UsageError(f"没有用户 {name}", code="U053")
        ledger.audit("（命令行）", "user remove", name)
    finally:
        ledger.close()
    click.echo(f"已删除用户 {name}")
