"""``qtables ledger``: the ledger itself — where it is, and moving it between SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import click

from qtables.cli.app import handle_errors, main, workspace_option


@main.group("ledger")
def ledger_group() -> None:
    """台账：在 SQLite 与 PostgreSQL 之间整体复制（升级到多岗位共用，或备份）；更换模板签名密钥。

    \b
    示例：
      qtables ledger copy --workspace 工作区 --to postgresql://qtables@db/qtables
      qtables ledger copy --workspace 工作区 --to 台账备份.sqlite
      qtables ledger rekey --workspace 工作区 --yes
    """


@ledger_group.command("copy")
@workspace_option
@click.option("--to", "target", required=True, metavar="目标",
              help="PostgreSQL 地址（postgresql://用户@主机/库名，须为空库），或一个新的 .sqlite 文件（备份）。")
@handle_errors
def copy_cmd(workspace: Path | None, target: str) -> None:
    """把本工作区的整本台账（到件、各版报表、审核结果、数据、导入记录和全部原件）复制到另一处，并逐表核对。

    \\b
    升级到 PostgreSQL：qtables ledger copy --workspace 工作区 --to postgresql://qtables@db/qtables
    备份成 SQLite：   qtables ledger copy --workspace 工作区 --to 台账备份.sqlite
    复制完成后，在 qtables.toml 的 [database] 填上 url，本工作区即改用 PostgreSQL 台账。
    """
    from qtables.errors import UsageError
    from qtables.ledger.copy import copy_ledger
    from qtables.ledger.pgconnect import shown
    from qtables.ledger.store import Ledger
    from qtables.ledger.workspace import open_workspace

    ws = open_workspace(workspace)
    if target.startswith(("postgresql://", "postgres://")):
        to, label = (lambda: Ledger(ws.path, url=target)), f"PostgreSQL {shown(target)}"
    else:
        path = Path(target)
        if path.suffix.lower() not in (".sqlite", ".sqlite3", ".db"):
            raise UsageError(f"不认识的目标：{target}", code="U040",
                             hint="目标应是 postgresql://… 地址，或以 .sqlite 结尾的新文件名。")
        if path.exists():
            raise UsageError(f"{path} 已存在，未作任何改动", code="U041", hint="请换一个新的文件名。")
        to, label = (lambda: Ledger(path.parent, file=path)), str(path)
    source = ws.open_ledger()
    try:
        dest = to()
        try:
            report = copy_ledger(source, dest, progress=lambda text: click.echo(f"  {text}"))
        finally:
            dest.close()
    finally:
        source.close()
    click.echo(f"已复制到 {label}：{sum(report.rows.values())} 行，{report.originals} 份原件；逐表行数与摘要、每份原件的哈希均已核对一致。")


@ledger_group.command("rekey")
@workspace_option
@click.option("--yes", is_flag=True, help="确认更换（不加此项只说明后果，不作改动）。")
@handle_errors
def rekey_cmd(workspace: Path | None, yes: bool) -> None:
    """把台账记录的模板签名密钥换成本工作区 qtables.toml 中的密钥（有意更换密钥时用）。

    \b
    更换后，此前下发的模板报回时都会因签名无效被退回（I01），须重新下发模板；
    共用这本台账的其他岗位也要把 signing_key 改成同一个，否则它们会被拒绝（K09）。
    """
    from qtables.errors import UsageError
    from qtables.ledger.store import Ledger
    from qtables.ledger.workspace import open_workspace

    ws = open_workspace(workspace)
    ledger = Ledger(ws.path, url=ws.database_url)  # opened without the check that refuses the new key
    try:
        key = ws.config["template"]["signing_key"]
        if (ledger.recorded_key() or "").lower() == key.lower():
            click.echo("台账记录的签名密钥与本工作区相同，无需更换。")
            return
        if not yes:
            raise UsageError("更换签名密钥后，此前下发的模板都将无法通过签名校验（I01），未作改动", code="U054",
                             hint="确要更换，请加 --yes 再运行一次，然后重新下发模板，并把其他岗位的 signing_key 改成同一个。")
        ledger.rekey(key)
    finally:
        ledger.close()
    click.echo("台账的模板签名密钥已换成本工作区的密钥。请重新下发模板；其他岗位请把 qtables.toml 的 signing_key 改成同一个。")
