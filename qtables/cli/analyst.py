"""Commands for analysts: export (the ledger's figures as csv, xlsx or parquet) and report (the drafted 分析报告)."""

from __future__ import annotations

from pathlib import Path

import click

from qtables.cli.app import handle_errors, main, workspace_option


@main.command("export")
@workspace_option
@click.option("--period", required=True, metavar="报告期", help="报告期，如 2025Q3 或 2025。")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "parquet"]), default="csv", show_default=True,
              help="csv（UTF-8 带 BOM，Excel 可直接打开中文）、xlsx 或 parquet（需安装 pyarrow）。")
@click.option("--table", "tables", multiple=True, help="只导出这些表（如 t5；可重复），默认导出本期全部附表。")
@click.option("--out", "out_dir", default="导出", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="输出目录。")
@handle_errors
def export_cmd(workspace, period, fmt, tables, out_dir) -> None:
    """导出通过审核的数据（宽表与长表），供统计分析使用。

    \b
    宽表：每个单位（附表5/7 为每个县（区）行，附表1–4 为每条明细）一行，列为规格中的列代码；
    长表：每个数一行，附表头文字和计量单位。数据与汇总表取自同一套函数。
    示例：
      qtables export --workspace 工作区 --period 2025Q3
      qtables export --workspace 工作区 --period 2025Q3 --format xlsx --table t5 --out 分析
    """
    from qtables.analysis import export, open_workspace

    ws = open_workspace(workspace)
    paths = export(ws, period, fmt, out_dir, tables=list(tables) or None)
    click.echo(f"已导出 {len(paths)} 个文件到 {out_dir}")
    for path in paths:
        click.echo(f"  {path.name}")


@main.command("report")
@workspace_option
@click.option("--period", required=True, metavar="报告期", help="报告期，如 2025Q3 或 2025。")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="输出的 .docx 文件（默认：工作区 reports/ 下）。")
@click.option("--template", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="另一份 Word 模板（在随程序发布的模板上修改措辞、字体、顺序即可，标记见 README）。")
@click.option("--public", is_flag=True, help="公开版（第十五条）：不列企业和个人名称。")
@handle_errors
def report_cmd(workspace, period, out_file, template, public) -> None:
    """起草《工程质量运行态势分析报告》（Word）：数据能回答的部分按台账写好，其余留出【待填写】。

    \b
    示例：
      qtables report --workspace 工作区 --period 2025Q3
      qtables report --workspace 工作区 --period 2025 --out 2025年度分析报告.docx
      qtables report --workspace 工作区 --period 2025Q3 --public
    """
    from qtables.ledger.workspace import open_workspace
    from qtables.period import Period
    from qtables.report.document import draft_report
    from qtables.spec import load_spec

    drafted = draft_report(open_workspace(workspace), load_spec(), Period.parse(period), out=out_file, template=template,
                           public=public)
    click.echo(f"分析报告初稿：{drafted.path}")
    click.echo(f"  其中 {drafted.todo} 处【待填写】须由汇总单位补写，定稿前删除全部【】标记。")
