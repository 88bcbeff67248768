"""The command line: thin click commands over the library.

Only this module imports click.  Each command parses options, calls one
library function and prints Chinese.  Errors qtables raises on purpose
(QtablesError) become ``[code] message`` and exit 2; anything unexpected is
logged to a file and reported without a traceback, also with exit 2.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import traceback
from pathlib import Path

import click

from qtables import __version__
from qtables.errors import QtablesError

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
        except Exception:  # noqa: BLE001 - the last line of defence for users
            fd, log = tempfile.mkstemp(prefix="qtables-error-", suffix=".log")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(traceback.format_exc())
            _fail("Q999", f"程序内部错误，详细信息已写入 {log}", "请把该文件发给系统维护人员。")

    return wrapper


def workspace_option(func):
    return click.option(
        "--workspace",
        "workspace",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="工作区目录（默认：环境变量 QTABLES_WORKSPACE，否则为当前目录）。",
    )(func)


class _Group(click.Group):
    def main(self, *args, **kwargs):  # pragma: no cover - exercised through the console script
        # click's own usage errors exit 2 already; make sure they print Chinese hints too.
        return super().main(*args, **kwargs)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qtables")
def main() -> None:
    """qtables：河南省建设工程质量分析报告 附表 的下发、收取、审核与汇总。

    \b
    常用流程：
      qtables init 工作区
      qtables issue --workspace 工作区 --period 2025Q3 --out 工作区/下发模板
    """


@main.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--unit", "root_unit", default="410000", show_default=True, help="本工作区的汇总单位代码（省厅 410000；市级工作区填本市代码）。")
@handle_errors
def init_cmd(directory: Path, root_unit: str) -> None:
    """创建工作区（配置、单位名录、签名密钥、归档目录）。

    \b
    示例：
      qtables init 工作区
      qtables init 郑州工作区 --unit 410100
    """
    from qtables.workspace import init_workspace

    ws = init_workspace(directory, root_unit=root_unit)
    click.echo(f"工作区已就绪：{ws.path}")
    click.echo(f"  汇总单位：{ws.registry.root.name}（{ws.registry.root.code}），报送单位 {len(ws.registry.units)} 个")
    click.echo(f"  配置文件：{ws.path / 'qtables.toml'}（可修改截止日期、发件人名单等）")


@main.command("issue")
@workspace_option
@click.option("--period", required=True, help="报告期：季报如 2025Q3，年报如 2025。")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="模板输出目录。")
@click.option("--unit", "units", multiple=True, help="只为这些单位生成（6位行政区划代码，可重复）。")
@click.option("--scoring", is_flag=True, help="同时生成考核评分表（附件2、附件3；仅年度）。")
@click.option("--spec", "spec_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="使用另一份规格目录（默认使用随程序发布的规格）。")
@handle_errors
def issue_cmd(workspace: Path | None, period: str, out_dir: Path, units: tuple[str, ...], scoring: bool, spec_dir: Path | None) -> None:
    """为每个报送单位生成锁定、可自查的附表模板。

    \b
    季报（附表1–6）：qtables issue --period 2025Q3 --out 下发模板
    年报（附表6、7）：qtables issue --period 2025 --out 下发模板
    只给两个单位：   qtables issue --period 2025Q3 --out 下发模板 --unit 410100 --unit 410181
    """
    from qtables.issue.run import issue_templates
    from qtables.period import Period
    from qtables.spec import load_spec
    from qtables.workspace import open_workspace

    p = Period.parse(period)
    spec = load_spec(spec_dir)
    ws = open_workspace(workspace)
    for code in units:
        ws.registry.unit(code)  # fail on an unknown code before any file is written
    count = len(units) if units else len(ws.registry.units)
    with click.progressbar(length=count, label=f"生成 {p.label} 模板", file=sys.stderr) as bar:
        issued = issue_templates(ws, period=p, out_dir=out_dir, unit_codes=list(units) or None, scoring=scoring, spec=spec,
                                 progress=lambda _u: bar.update(1))
    click.echo(f"已生成 {len(issued)} 个模板，保存在 {out_dir}")
    for item in issued:
        click.echo(f"  {item.unit.code} {item.unit.name}：{item.path.name}")
    for warning in spec.warnings if scoring else []:
        click.echo(f"提示：{warning}")


@main.command("check")
@workspace_option
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
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

    from qtables.check import CheckContext, carried_figures, check_file
    from qtables.errors import UsageError
    from qtables.period import Period
    from qtables.receipt import write_receipt
    from qtables.report import render
    from qtables.spec import load_spec
    from qtables.workspace import open_workspace

    spec = load_spec()
    ws = open_workspace(workspace)
    if expected_unit:
        ws.registry.unit(expected_unit)
    if expected_period:
        expected_period = Period.parse(expected_period).code
    ctx = CheckContext(spec, ws.registry, ws.signing_key, expected_unit=expected_unit, expected_period=expected_period)
    if previous is not None:
        prev = check_file(previous, ctx)
        if prev.period is None or prev.unit is None or prev.status == "unreadable":
            raise UsageError(f"--previous 指定的文件 {previous} 不是可读取的 qtables 报表", code="U007")
        ctx.history[(prev.unit.code, prev.period.code)] = carried_figures(prev)
    reports = []
    for path in files:
        report = check_file(path, ctx)
        reports.append(report)
        if not no_receipts:
            report_receipt = write_receipt(report, out_dir)
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


@main.command("intake")
@workspace_option
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--imap", "use_imap", is_flag=True, help="从 IMAP 邮箱收取（服务器与账号见工作区配置 [imap] 与环境变量）。")
@click.option("--send", is_flag=True, help="通过 SMTP 发出回复邮件（设置见配置 [smtp]）。")
@click.option("--json", "as_json", is_flag=True, help="每收到一项输出一条 JSON 记录。")
@handle_errors
def intake_cmd(workspace, paths, use_imap, send, as_json) -> None:
    """收取报回的文件和邮件：归档、识别、审核、登记台账、生成回执。

    \b
    可以是文件、文件夹、.eml、.msg、mbox、Maildir、zip；同一文件再次收取不会重复计入。
    示例：
      qtables intake --workspace 工作区 收件箱/
      qtables intake --workspace 工作区 郑州市.eml 开封市.msg 附件.zip --json
      qtables intake --workspace 工作区 --imap --send
    """
    import json as jsonlib

    from qtables.errors import UsageError
    from qtables.intake import intake
    from qtables.sources import count_sources
    from qtables.workspace import open_workspace

    ws = open_workspace(workspace)
    if not paths and not use_imap:
        raise UsageError("没有指定要收取的文件、文件夹或 --imap", code="U008", hint="例如：qtables intake 收件箱/")
    outcomes = []
    if paths:
        total = count_sources(list(paths))
        show = not as_json and total > 1
        with click.progressbar(length=total, label="收取", file=sys.stderr) if show else _nullbar() as bar:
            seen_groups: set[str] = set()

            def tick(outcome):
                if outcome.source not in seen_groups:
                    seen_groups.add(outcome.source)
                    bar.update(1)

            outcomes += intake(ws, list(paths), progress=tick)
    if use_imap:
        from qtables.imap import intake_imap

        outcomes += intake_imap(ws)
    if send:
        from qtables.mail import send_outbox

        sent = send_outbox(ws)
        if not as_json:
            click.echo(f"已发出回复邮件 {len(sent)} 封")
    if as_json:
        for o in outcomes:
            click.echo(jsonlib.dumps(o.as_json(), ensure_ascii=False))
        return
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    from qtables.status import STATUS_TEXT as ST

    names = {"attachment": "其他材料", "unreadable": "无法审核", "already-recorded": "此前已收取", **ST}
    click.echo(f"共收到 {len(outcomes)} 项：" + "，".join(f"{names.get(k, k)} {v}" for k, v in sorted(counts.items())))
    for o in outcomes:
        if o.status in ("rejected", "unreadable", "quarantined"):
            click.echo(f"  [{names.get(o.status, o.status)}] {o.name}（{o.sender or o.source}）{o.message}")
    click.echo(f"审核回执：{ws.path / 'receipts'}；回复邮件：{ws.path / 'outbox'}")


class _nullbar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


@main.command("status")
@workspace_option
@click.option("--period", required=True, help="报告期，如 2025Q3 或 2025。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@handle_errors
def status_cmd(workspace, period, as_json) -> None:
    """各单位报送情况：是否按时、审核状态、催报名单。

    \b
    示例：
      qtables status --workspace 工作区 --period 2025Q3
      qtables status --workspace 工作区 --period 2025 --json
    """
    import json as jsonlib

    from qtables.period import Period
    from qtables.spec import load_spec
    from qtables.status import period_status, render
    from qtables.workspace import open_workspace

    ws = open_workspace(workspace)
    summary = period_status(ws, load_spec(), Period.parse(period))
    click.echo(jsonlib.dumps(summary, ensure_ascii=False, indent=1) if as_json else render(summary))


@main.command("merge")
@workspace_option
@click.option("--period", required=True, help="报告期，如 2025Q3 或 2025。")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="汇总表文件（默认：工作区/masters/2025Q3_全省汇总.xlsx）。")
@click.option("--into", "template", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="市级工作区：把各县（区）的数据填入上级下发给本市的模板，用于向上报送。")
@handle_errors
def merge_cmd(workspace, period, out_file, template) -> None:
    """由各单位当前通过审核的报表生成汇总工作簿。

    \b
    示例：
      qtables merge --workspace 工作区 --period 2025Q3
      qtables merge --workspace 工作区 --period 2025 --out 2025年全省汇总.xlsx
      qtables merge --workspace 郑州工作区 --period 2025Q3 --into 省厅下发_郑州市.xlsx
    """
    from qtables.merge import merge
    from qtables.period import Period
    from qtables.spec import load_spec
    from qtables.workspace import open_workspace

    ws = open_workspace(workspace)
    p = Period.parse(period)
    if template is not None:
        from qtables.upward import fill_upward

        out = out_file or template.with_name(f"{p.code}_{ws.registry.root.name}_上报.xlsx")
        path = fill_upward(ws, load_spec(), p, template, out)
        click.echo(f"已把各县（区）数据填入上级模板：{path}（可直接向上报送）")
        return
    path = merge(ws, load_spec(), p, out_file)
    click.echo(f"汇总表：{path}")


@main.command("import-master")
@workspace_option
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--period", required=True, help="该汇总表的报告期，如 2025Q2。")
@handle_errors
def import_master_cmd(workspace, file, period) -> None:
    """导入上一期的汇总表（qtables 汇总表或制度附表5/7格式），使首次使用即可核对“接转＝上期在建”。

    \b
    示例：
      qtables import-master --workspace 工作区 2025Q2_全省汇总.xlsx --period 2025Q2
    """
    from qtables.importer import import_master
    from qtables.period import Period
    from qtables.spec import load_spec
    from qtables.workspace import open_workspace

    ws = open_workspace(workspace)
    p = Period.parse(period)
    imported = import_master(ws, load_spec(), file, p)
    click.echo(f"已导入 {p.label} {len(imported)} 个单位的数据（共 {sum(imported.values())} 行）")


@main.command("demo")
@click.option("--out", "out_dir", default="qtables-demo", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="演示输出目录。")
@click.option("--samples", "samples_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="样例收件箱目录（默认：当前目录或程序目录下的 samples/）。")
@handle_errors
def demo_cmd(out_dir: Path, samples_dir: Path | None) -> None:
    """演示全流程：建工作区 → 收取两个季度的样例邮件 → 报送情况 → 汇总表。

    \b
    样例收件箱（samples/）中有28个单位 2025年第2、3季度的报送邮件，含几处常见错误和一次更正重报。
    示例：
      qtables demo --out 演示
    """
    from qtables.devtools import SAMPLE_KEY, SAMPLE_PERIODS, SAMPLE_PASSWORD
    from qtables.errors import UsageError
    from qtables.intake import intake
    from qtables.issue.run import issue_templates
    from qtables.merge import merge
    from qtables.period import Period
    from qtables.spec import load_spec
    from qtables.status import period_status, render
    from qtables.workspace import init_workspace, open_workspace

    candidates = [samples_dir] if samples_dir else [Path.cwd() / "samples", Path(__file__).resolve().parent.parent / "samples"]
    samples = next((p for p in candidates if p and (p / SAMPLE_PERIODS[0]).is_dir()), None)
    if samples is None:
        raise UsageError("找不到样例收件箱 samples/", code="U010", hint="请在 qtables 源码目录下运行，或用 --samples 指定样例目录。")
    spec = load_spec()
    ws_path = out_dir / "工作区"
    init_workspace(ws_path, signing_key=SAMPLE_KEY)
    cfg = ws_path / "qtables.toml"
    text = cfg.read_text(encoding="utf-8")
    if "qtables-sample" not in text:
        import re

        cfg.write_text(re.sub(r'protection_password = ".*"', f'protection_password = "{SAMPLE_PASSWORD}"', text), encoding="utf-8")
    ws = open_workspace(ws_path)
    last = Period.parse(SAMPLE_PERIODS[-1])
    templates = out_dir / "下发模板" / last.code
    click.echo(f"1. 下发模板：为 {len(ws.registry.units)} 个单位生成 {last.label} 模板 → {templates}")
    issue_templates(ws, period=last, out_dir=templates, spec=spec)
    for code in SAMPLE_PERIODS:
        outcomes = intake(ws, [samples / code], spec=spec)
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        from qtables.status import STATUS_TEXT as ST

        names = {"attachment": "其他材料", "unreadable": "无法审核", "already-recorded": "此前已收取", **ST}
        click.echo(f"2. 收取 {Period.parse(code).label} 样例邮件：共 {len(outcomes)} 项，"
                   + "，".join(f"{names.get(k, k)} {v}" for k, v in sorted(counts.items())))
    click.echo("3. 报送情况：")
    click.echo("\n".join("   " + line for line in render(period_status(ws, spec, last)).splitlines()[:2]))
    master = merge(ws, spec, last)
    click.echo(f"4. 汇总表：{master}")
    click.echo(f"   审核回执：{ws.path / 'receipts'}")
    click.echo(f"   回复邮件：{ws.path / 'outbox'}")
    click.echo(f"   查看完整报送情况：qtables status --workspace {ws.path} --period {last.code}")


if __name__ == "__main__":  # pragma: no cover
    main()
