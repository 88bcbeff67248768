"""Commands that make things: init (a workspace), issue (templates) and check (returned workbooks)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from qtables.cli.app import handle_errors, main, workspace_option


@main.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--unit", "root_unit", default="410000", show_default=True, help="本工作区的汇总单位代码（省厅 410000；市级工作区填本市代码）。")
@click.option("--database", default=None, metavar="地址",
              help="台账放在 PostgreSQL（几个岗位共用），如 postgresql://qtables@192.168.1.10/qtables；密码放在 PGPASSWORD 或 pgpass 文件中。默认：工作区内的 SQLite 文件。")
@handle_errors
def init_cmd(directory: Path, root_unit: str, database: str | None) -> None:
    """创建工作区（配置、单位名录、签名密钥、归档目录）。

    \b
    示例：
      qtables init 工作区
      qtables init 郑州工作区 --unit 410100
      qtables init 工作区 --database postgresql://qtables@db.example.gov.cn/qtables
    """
    from qtables.errors import WorkspaceError
    from qtables.ledger.workspace import CONFIG_FILE, init_workspace, open_workspace

    if (directory / CONFIG_FILE).exists():
        existing = open_workspace(directory)
        raise WorkspaceError(f"{directory} 已经是工作区（汇总单位：{existing.registry.root.name}），未作任何改动", code="W004",
                             hint="如需另建工作区，请换一个目录；修改配置请编辑其中的 qtables.toml。")
    ws = init_workspace(directory, root_unit=root_unit, database=database)
    if database:
        from qtables.ledger.pgconnect import shown

        ws.open_ledger().close()  # the schema made now, so the first command of every desk finds it
        click.echo(f"台账：PostgreSQL {shown(database)}（原件也存入数据库，各岗位共用）")
        click.echo("  模板签名密钥：与台账一致（台账已有密钥时沿用它，其他岗位 init 时同样自动采用）")
    click.echo(f"工作区已就绪：{ws.path}")
    click.echo(f"  汇总单位：{ws.registry.root.name}（{ws.registry.root.code}），报送单位 {len(ws.registry.units)} 个")
    click.echo(f"  配置文件：{ws.path / 'qtables.toml'}（可修改截止日期、发件人名单等）")


@main.command("issue")
@workspace_option
@click.option("--period", required=True, metavar="报告期", help="报告期：季报如 2025Q3，年报如 2025。")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="模板输出目录。")
@click.option("--unit", "units", multiple=True, metavar="单位代码", help="只为这些单位生成（6位行政区划代码，可重复）。")
@click.option("--scoring", is_flag=True, help="只生成考核评分表（附件2、附件3），供省厅考核组对每个被考核单位填写；仅年度，不含附表。")
@click.option("--spec", "spec_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="使用另一份规格目录（默认使用随程序发布的规格）。")
@click.option("--no-prefill", is_flag=True, help="不按台账中的上期数据预填“接转”（默认预填并锁定）。")
@click.option("--rows", "rows", type=click.IntRange(1, 20000), default=None,
              help="附表3、附表4 至少预留的行数（默认按上期在建项数留余量，不少于规格的行数）。")
@handle_errors
def issue_cmd(workspace: Path | None, period: str, out_dir: Path, units: tuple[str, ...], scoring: bool, spec_dir: Path | None,
              no_prefill: bool, rows: int | None) -> None:
    """为每个报送单位生成锁定、可自查的附表模板。

    \b
    季报（附表1–6）：qtables issue --period 2025Q3 --out 下发模板
    年报（附表6、7）：qtables issue --period 2025 --out 下发模板
    只给两个单位：   qtables issue --period 2025Q3 --out 下发模板 --unit 410100 --unit 410181
    """
    from qtables.issue.run import issue_templates, no_previous
    from qtables.period import Period
    from qtables.spec import load_spec
    from qtables.ledger.workspace import open_workspace

    p = Period.parse(period)
    spec = load_spec(spec_dir)
    ws = open_workspace(workspace)
    for code in units:
        ws.registry.unit(code)  # fail on an unknown code before any file is written
    count = len(units) if units else len(ws.registry.units)
    with click.progressbar(length=count, label=f"生成 {p.label} 模板", file=sys.stderr) as bar:
        issued = issue_templates(ws, period=p, out_dir=out_dir, unit_codes=list(units) or None, scoring=scoring, spec=spec,
                                 progress=lambda _u: bar.update(1), previous=no_previous if no_prefill else None,
                                 rows_per_detail=rows)
    if scoring:
        click.echo(f"已生成 {len(issued)} 份考核评分表（附件2、附件3），供省厅考核组对各被考核单位填写，保存在 {out_dir}")
        for table in (spec.table(t) for t in ("s2", "s3") if t in spec.tables):
            if table.schedule:
                click.echo(f"  {table.schedule}")
    else:
        click.echo(f"已生成 {len(issued)} 个模板，保存在 {out_dir}")
    for item in issued:
        click.echo(f"  {item.unit.code} {item.unit.name}：{item.path.name}")
    for warning in spec.warnings if scoring else []:
        click.echo(f"提示：{warning}")


@main.command("check")
@workspace_option
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--previous", "previous", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="上一报告期已审核的报表（核对“接转＝上期在建”）。")
@click.option("--unit", "expected_unit", default=None, help="应为此单位的报表（6位代码）。")
@click.option("--period", "expected_period", default=None, help="应为此报告期的报表。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出每个文件的审核结果。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("审核结果"), show_default=True,
              help="审核回执（标注后的工作簿）的输出目录。")
@click.option("--no-receipts", is_flag=True, help="不生成审核回执。")
@handle_errors
def check_cmd(workspace, files, previous, expected_unit, expected_period, as_json, out_dir, no_receipts) -> None:
    """审核报回的工作簿：标识、结构、数值和全部审核规则。

    \b
    退出码：0 无强制性问题；1 有强制性问题；2 文件无法审核或用法有误。
    示例：
      qtables check 郑州市.xlsx
      qtables check 郑州市_2025Q3.xlsx --previous 郑州市_2025Q2.xlsx --json
    """
    import json as jsonlib

    from qtables.check.checker import check_file
    from qtables.check.context import CheckContext
    from qtables.check.verdicts import previous_from_report
    from qtables.ledger.store import LEDGER_FILE, Ledger
    from qtables.errors import UsageError
    from qtables.period import Period
    from qtables.check.report import render
    from qtables.spec import load_spec
    from qtables.ledger.workspace import open_workspace

    spec = load_spec()
    ws = open_workspace(workspace)
    if expected_unit:
        ws.registry.unit(expected_unit)
    if expected_period:
        expected_period = Period.parse(expected_period).code
    # The previous period comes from the workspace's ledger (accepted submissions, imported masters);
    # --previous FILE overrides it for that file's unit and period.
    ledger = ws.open_ledger() if ws.has_ledger() else None
    from qtables.intake.run import projects_lookup
    ctx = CheckContext(spec, ws.registry, ws.signing_key, expected_unit=expected_unit, expected_period=expected_period,
                       lookup=ledger.previous if ledger else None, quarters=ledger.quarters if ledger else None,
                       projects=projects_lookup(spec, ledger) if ledger else None)
    if previous is not None:
        prev = check_file(previous, ctx)
        if prev.period is None or prev.unit is None or prev.status == "unreadable":
            raise UsageError(f"--previous 指定的文件 {previous} 不是可读取的 qtables 报表", code="U007")
        ctx.history[(prev.unit.code, prev.period.code)] = previous_from_report(prev, previous.name)
    reports = []
    for path in files:
        report = check_file(path, ctx)
        reports.append(report)
        if not no_receipts:
            from qtables.receipt.workbook import Office, write_receipt

            report_receipt = write_receipt(report, out_dir, office=Office.of(ws))
            report.receipt = str(report_receipt)
    if as_json:
        payload = [dict(r.as_json(), receipt=getattr(r, "receipt", None)) for r in reports]
        click.echo(jsonlib.dumps(payload, ensure_ascii=False, indent=1, default=str))
    else:
        for r in reports:
            click.echo(render(r))
            if getattr(r, "receipt", None):
                click.echo(f"  审核回执：{r.receipt}")
    sys.exit(max(r.exit_code for r in reports))
