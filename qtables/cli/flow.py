"""Commands over the ledger: intake, status, merge, import-master and the demo."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from qtables.cli.app import handle_errors, main, workspace_option


@main.command("intake")
@workspace_option
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--imap", "use_imap", is_flag=True, help="从 IMAP 邮箱收取（服务器与账号见工作区配置 [imap] 与环境变量）。")
@click.option("--send", is_flag=True, help="通过 SMTP 发出回复邮件（设置见配置 [smtp]）。")
@click.option("--json", "as_json", is_flag=True, help="每收到一项输出一条 JSON 记录。")
@click.option("--received-at", "received_at", default=None, metavar="日期",
              help="登记的收到日期（北京时间，如 2025-09-28）：邮寄或面交的报表按此日期判断是否按时。")
@handle_errors
def intake_cmd(workspace, paths, use_imap, send, as_json, received_at) -> None:
    """收取报回的文件和邮件：归档、识别、审核、登记台账、生成回执。

    \b
    可以是文件、文件夹、.eml、.msg、mbox、Maildir、zip；同一文件再次收取不会重复计入。
    示例：
      qtables intake --workspace 工作区 收件箱/
      qtables intake --workspace 工作区 郑州市.eml 开封市.msg 附件.zip --json
      qtables intake --workspace 工作区 --imap --send
      qtables intake --workspace 工作区 邮寄的附表.xlsx --received-at 2025-09-28
    """
    import json as jsonlib

    from qtables.timing import given_date

    from qtables.errors import UsageError
    from qtables.intake.run import intake
    from qtables.intake.sources import count_sources
    from qtables.ledger.workspace import open_workspace

    ws = open_workspace(workspace)
    if not paths and not use_imap:
        raise UsageError("没有指定要收取的文件、文件夹或 --imap", code="U008", hint="例如：qtables intake 收件箱/")
    given = given_date(received_at) if received_at else None
    if given and use_imap:
        raise UsageError("--received-at 只用于登记邮寄或面交的文件，不能与 --imap 同用", code="U036",
                         hint="邮件的收到时间取自邮件服务器。")
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

            outcomes += intake(ws, list(paths), progress=tick, received_at=given)
    if use_imap:
        from qtables.intake.imap import intake_imap

        outcomes += intake_imap(ws)
    if send:
        from qtables.intake.mail import send_outbox

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

    names = {"attachment": "其他材料", "unreadable": "无法审核", "already-recorded": "此前已收取", "rechecked": "复核后结果改变", **ST}
    click.echo(f"共收到 {len(outcomes)} 项：" + "，".join(f"{names.get(k, k)} {v}" for k, v in sorted(counts.items())))
    for o in outcomes:
        if o.status in ("rejected", "unreadable", "quarantined"):
            shown = o.as_json()
            code = f"[{o.code}] " if o.code else ""
            problems = f"强制性问题：{'、'.join(o.error_codes)}" if o.status == "rejected" and o.error_codes else ""
            click.echo(f"  [{names.get(o.status, o.status)}] {shown['name']}（{shown['sender'] or shown['source']}）{code}"
                       f"{shown['message']}{problems}")
            if o.fix:
                click.echo(f"      处理办法：{o.fix}")
        elif o.status == "rechecked":
            click.echo(f"  [复核] {ws.registry.unit(o.unit).name} {o.as_json()['message']}")
    forged = sum(1 for o in outcomes if "I01" in o.error_codes)
    if forged >= 2:
        # Many templates "forged" at once is most often this workspace's key, not the units: say so to the clerk.
        click.echo(f"提示：{forged} 份报表的模板签名无效（I01）。如果它们确是本汇总单位下发的模板，说明本工作区的签名密钥"
                   f"（{ws.path / 'qtables.toml'} 中的 signing_key）与下发模板时所用工作区的不同：请改在那个工作区中收取"
                   f"（几个岗位应共用同一个密钥）。样例邮件 samples/ 由演示工作区签名，请用 qtables demo 体验。", err=True)
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
@click.option("--period", default=None, metavar="报告期", help="报告期，如 2025Q3 或 2025。")
@click.option("--calendar", "year", default=None, metavar="年份", type=int, is_flag=False, flag_value=-1,
              help="列出报送日历：该年（默认今年）各季度和年度的截止日期、依据条款和催报日。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@handle_errors
def status_cmd(workspace, period, year, as_json) -> None:
    """各单位报送情况：是否按时、审核状态、催报名单；或全年的报送日历。

    \b
    示例：
      qtables status --workspace 工作区 --period 2025Q3
      qtables status --workspace 工作区 --period 2025 --json
      qtables status --workspace 工作区 --calendar 2026
    """
    import json as jsonlib

    from qtables.errors import UsageError
    from qtables.ledger.workspace import open_workspace
    from qtables.period import Period
    from qtables.spec import load_spec
    from qtables.status import period_status, render

    if year is None and not period:
        raise UsageError("缺少选项 --period（报告期）；或用 --calendar 查看报送日历", code="U020", hint="例如：qtables status --period 2025Q3")
    ws = open_workspace(workspace)
    if year is not None:
        from qtables.remind import calendar
        from qtables.timing import today_beijing

        rows = calendar(ws, load_spec(), today_beijing().year if year == -1 else year)
        if as_json:
            click.echo(jsonlib.dumps(rows, ensure_ascii=False, indent=1))
            return
        click.echo(f"{rows[0]['period'][:4]}年报送日历")
        for r in rows:
            click.echo(f"  {r['label']:<12}截止 {r['deadline']}　{r['article']}")
            click.echo(f"  {'':<12}{r['reminders']}")
        return
    from qtables.timing import today_beijing

    summary = period_status(ws, load_spec(), Period.parse(period), today=today_beijing())
    click.echo(jsonlib.dumps(summary, ensure_ascii=False, indent=1) if as_json else render(summary))


@main.command("merge")
@workspace_option
@click.option("--period", required=True, metavar="报告期", help="报告期，如 2025Q3 或 2025。")
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
    from qtables.merge.master import merge
    from qtables.period import Period
    from qtables.spec import load_spec
    from qtables.ledger.workspace import open_workspace

    ws = open_workspace(workspace)
    p = Period.parse(period)
    if template is not None:
        from qtables.merge.upward import fill_upward

        out = out_file or template.with_name(f"{p.code}_{ws.registry.root.name}_上报.xlsx")
        path = fill_upward(ws, load_spec(), p, template, out)
        click.echo(f"已把各县（区）数据填入上级模板：{path}（可直接向上报送）")
        return
    from qtables.errors import UsageError
    from qtables.status import OK_STATUSES, period_status

    spec = load_spec()
    summary = period_status(ws, spec, p)
    missing = [u for u in summary["units"] if u["status"] not in OK_STATUSES]
    if len(missing) == len(summary["units"]):
        raise UsageError(f"{p.label}还没有任何单位的报表通过审核，未生成汇总表", code="U019",
                         hint=f"请先收取报表（qtables intake），或用 qtables status --period {p.code} 查看报送情况。")
    path = merge(ws, spec, p, out_file)
    click.echo(f"汇总表：{path}")
    if missing:
        click.echo(f"注意：{len(missing)} 个单位没有通过审核的报表，汇总表中为空：" + "、".join(u["name"] for u in missing), err=True)
        sys.exit(1)


@main.command("import-master")
@workspace_option
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--period", required=True, metavar="报告期", help="该汇总表的报告期，如 2025Q2。")
@click.option("--allow-partial", is_flag=True, help="只导入能对应上的单位，缺漏记入台账（默认有缺漏即拒绝导入）。")
@click.option("--dry-run", is_flag=True, help="只显示列和单位的对应关系，不导入。")
@click.option("--unit", "unit_code", default=None, help="把某个单位自己的旧格式附表作为该单位的数据导入（由汇总单位决定）。")
@click.option("--table", "table_name", default=None, metavar="附表3|附表4",
              help="导入工程明细清单（附表3 在建、附表4 竣工）或附表6（分类），使连续性从首次报送起即可核对；默认导入附表5/附表7。")
@handle_errors
def import_master_cmd(workspace, file, period, allow_partial, dry_run, unit_code, table_name) -> None:
    """导入上一期的汇总表（qtables 汇总表或制度附表5/7格式），使首次使用即可核对“接转＝上期在建”。

    \b
    列按表头文字识别（不按位置），单位按代码、名称（可带序号）、简称、曾用名识别。
    有对应不上的行、缺少的单位、无法识别的数值或合计不符时拒绝导入并列出原因。
    示例：
      qtables import-master --workspace 工作区 2025Q2_全省汇总.xlsx --period 2025Q2 --dry-run
      qtables import-master --workspace 工作区 2025Q2_全省汇总.xlsx --period 2025Q2
      qtables import-master --workspace 工作区 郑州市自制附表5.xlsx --period 2025Q3 --unit 410100
    """
    from qtables.ledger.workspace import open_workspace
    from qtables.merge.importer import import_master
    from qtables.period import Period
    from qtables.spec import load_spec

    ws = open_workspace(workspace)
    p = Period.parse(period)
    if table_name:
        _import_projects(ws, file, p, table_name, unit_code, allow_partial, dry_run)
        return
    plan = import_master(ws, load_spec(), file, p, allow_partial=allow_partial, dry_run=dry_run, unit_code=unit_code)
    click.echo(f"{file.name}：工作表“{plan.sheet}”，{'qtables 汇总表明细' if plan.layout == 'master' else '制度表式（每单位一行）'}")
    if dry_run:
        click.echo("列的对应：" + "；".join(f"{h}→{c}列" for h, c in plan.mapping()))
        click.echo("单位的对应：" + "；".join(f"第{r}行“{t}”→{n}" for r, t, n in plan.row_units))
        for problem in plan.problems:
            click.echo(f"  问题：{problem}")
        click.echo("（--dry-run：未导入）")
        return
    for problem in plan.problems:
        click.echo(f"  已记录的缺漏：{problem}")
    rows = sum(len(r) for r in plan.rows.values())
    click.echo(f"已导入 {p.label} {len(plan.rows)} 个单位的数据（共 {rows} 行）")
    for again in plan.rechecks:
        click.echo(f"  [复核] {ws.registry.unit(again.unit).name} {again.text}")


def _import_projects(ws, file, period, table_name, unit_code, allow_partial, dry_run) -> None:
    from qtables.errors import UsageError
    from qtables.merge.projects_import import import_projects
    from qtables.spec import load_spec

    spec = load_spec()
    ids = {"附表3": "t3", "附表4": "t4", "附表6": "t6", "t3": "t3", "t4": "t4", "t6": "t6", "3": "t3", "4": "t4", "6": "t6"}
    if table_name.strip() not in ids:
        raise UsageError(f"--table “{table_name}” 不能单独导入", code="U038", hint="可以是 附表3（在建）、附表4（竣工）或 附表6（分类）。")
    unit = ws.registry.unit(unit_code) if unit_code else None
    plan = import_projects(ws, spec, file, period, ids[table_name.strip()], unit=unit, allow_partial=allow_partial, dry_run=dry_run)
    what = "行" if plan.table.kind == "categories" else "项工程"
    click.echo(f"{file.name}：工作表“{plan.sheet}”，{plan.table.name} {plan.count} {what}，{len(plan.rows)} 个单位")
    for problem in plan.problems:
        click.echo(f"  {'问题' if dry_run else '已记录的缺漏'}：{problem}")
    if dry_run:
        click.echo("（--dry-run：未导入）")
        return
    click.echo(f"已导入 {period.label} {plan.table.name}（{len(plan.rows) - len(plan.broken_units)} 个单位）")
    for again in plan.rechecks:
        click.echo(f"  [复核] {ws.registry.unit(again.unit).name} {again.text}")


@main.command("demo")
@click.option("--out", "out_dir", default="qtables-demo", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="演示输出目录。")
@click.option("--samples", "samples_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="样例收件箱目录（默认：当前目录或程序目录下的 samples/）。")
@handle_errors
def demo_cmd(out_dir: Path, samples_dir: Path | None) -> None:
    """演示全流程：建工作区 → 收取两个季度的样例邮件 → 报送情况 → 汇总表 → 催报名单（试运行）→ 分析报告初稿。

    \b
    样例收件箱（samples/）中有28个单位 2025年第2、3季度的报送邮件，含几处常见错误和一次更正重报。
    示例：
      qtables demo --out 演示
    """
    from qtables.devtools.generate import SAMPLE_KEY, SAMPLE_PERIODS, SAMPLE_PASSWORD
    from qtables.errors import UsageError
    from qtables.intake.run import intake
    from qtables.issue.run import issue_templates
    from qtables.merge.master import merge
    from qtables.period import Period
    from qtables.spec import load_spec
    from qtables.status import period_status, render
    from qtables.ledger.workspace import init_workspace, open_workspace

    candidates = [samples_dir] if samples_dir else [Path.cwd() / "samples", Path(__file__).resolve().parents[2] / "samples"]
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
    from qtables.status import STATUS_TEXT as ST

    names = {"attachment": "其他材料", "unreadable": "无法审核", "already-recorded": "此前已收取", "rechecked": "复核后结果改变", **ST}

    def take(step: str, code: str) -> None:
        outcomes = intake(ws, [samples / code], spec=spec)
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        click.echo(f"{step}. 收取 {Period.parse(code).label} 样例邮件：共 {len(outcomes)} 项，"
                   + "，".join(f"{names.get(k, k)} {v}" for k, v in sorted(counts.items())))

    # The earlier quarters first, so the last quarter's templates are issued with 接转 pre-filled from them.
    for code in SAMPLE_PERIODS[:-1]:
        take("1", code)
    click.echo(f"2. 下发模板：为 {len(ws.registry.units)} 个单位生成 {last.label} 模板（接转按上期预填并锁定）→ {templates}")
    with click.progressbar(length=len(ws.registry.units), label="   生成模板", file=sys.stderr) as bar:
        issue_templates(ws, period=last, out_dir=templates, spec=spec, progress=lambda _u: bar.update(1))
    take("3", last.code)
    click.echo("4. 报送情况：")
    click.echo("\n".join("   " + line for line in render(period_status(ws, spec, last)).splitlines()[:2]))
    master = merge(ws, spec, last)
    click.echo(f"5. 汇总表：{master}")
    click.echo(f"   审核回执：{ws.path / 'receipts'}")
    click.echo(f"   回复邮件：{ws.path / 'outbox'}")
    click.echo(f"   查看完整报送情况：qtables status --workspace {ws.path} --period {last.code}")
    from qtables.remind import remind

    chased = remind(ws, spec, periods=[last], dry_run=True)
    click.echo(f"6. 催报（试运行，不发送）：{len(chased)} 个单位尚未报齐" + ("：" if chased else "。"))
    for r in chased:
        click.echo(f"   {r.unit_name}：" + "；".join(f"[{code}] {text}" for code, text in r.reasons))
    click.echo(f"   正式催报：qtables remind --workspace {ws.path} --period {last.code} --send")
    from qtables.report.document import draft_report

    drafted = draft_report(ws, spec, last)
    click.echo(f"7. 分析报告初稿：{drafted.path}（{drafted.todo} 处【待填写】留给汇总单位）")
