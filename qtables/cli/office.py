"""The office's routine: ``remind`` (催报) and ``run-daily`` (IMAP intake, replies and reminders, unattended)."""

from __future__ import annotations

import json as jsonlib
import os
import time
from pathlib import Path

import click

from qtables.cli.app import handle_errors, main, workspace_option

STATE_TEXT = {"sent": "已发送", "written": "已写入待发", "failed": "发送失败", "already": "本期已催报", "no-address": "无邮箱，请电话催报",
              "dry-run": "将催报"}


@main.command("remind")
@workspace_option
@click.option("--period", "periods", multiple=True, metavar="报告期",
              help="催报哪个报告期（可重复）；不写时按今天的日期和 [reminders] 设置决定哪些报告期该催报。")
@click.option("--unit", "units", multiple=True, metavar="单位代码", help="只催这些单位（可重复）。")
@click.option("--send", is_flag=True, help="通过 SMTP 发出（设置见配置 [smtp]）；不写时只写入 outbox/reminders/。")
@click.option("--dry-run", is_flag=True, help="只列出将催报哪些单位、为什么，不写、不发、不记录。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@handle_errors
def remind_cmd(workspace, periods, units, send, dry_run, as_json) -> None:
    """催报：给尚未报齐的单位各发一封邮件，写明缺什么、依据哪一条、截止日期，未报的附上本单位模板。

    \b
    示例：
      qtables remind --workspace 工作区 --dry-run
      qtables remind --workspace 工作区 --period 2025Q3 --send
      qtables remind --workspace 工作区 --period 2025Q3 --unit 410100
    """
    from qtables.ledger.workspace import open_workspace
    from qtables.period import Period
    from qtables.remind import remind
    from qtables.spec import load_spec
    from qtables.timing import today_beijing

    ws = open_workspace(workspace)
    today = today_beijing()
    out = remind(ws, load_spec(), periods=[Period.parse(p) for p in periods] or None, today=today, deliver=send,
                 dry_run=dry_run, units=list(units) or None)
    if as_json:
        click.echo(jsonlib.dumps([r.as_json() for r in out], ensure_ascii=False, indent=1))
        return
    _show(out, today, dry_run)


def _show(out, today, dry_run) -> None:
    if not out:
        click.echo(f"{today.isoformat()}：没有需要催报的单位（或今天不在催报日）。")
        return
    click.echo(f"{today.isoformat()} 催报{'（试运行，未写、未发、未记录）' if dry_run else ''}：")
    for r in out:
        where = f"→ {', '.join(r.recipients)}（{r.recipients_from}）" if r.recipients else ""
        click.echo(f"  {r.period} {r.unit_name}（{r.unit_code}）[{STATE_TEXT.get(r.state, r.state)}] {where}")
        for code, text in r.reasons:
            click.echo(f"      [{code}] {text}")
        if r.attachment:
            click.echo(f"      附件：{r.attachment}")
        if r.note:
            click.echo(f"      {('[' + r.code + '] ') if r.code else ''}{r.note}")


@main.command("run-daily")
@workspace_option
@click.option("--no-send", is_flag=True, help="只收取和写出，不通过 SMTP 发送（回复和催报留在 outbox/）。")
@handle_errors
def run_daily_cmd(workspace, no_send) -> None:
    """无人值守的日常作业：从 IMAP 收取并审核、发出回复、按日程催报。可每小时由 cron 或 Windows 任务计划运行。

    \b
    上一次还没运行完时，本次等待至多 10 分钟，仍未结束则退出（U044），不会重复发送。
    示例：
      qtables run-daily --workspace 工作区
    """
    from qtables.intake.imap import intake_imap
    from qtables.intake.mail import send_outbox
    from qtables.ledger.workspace import open_workspace
    from qtables.remind import remind
    from qtables.spec import load_spec
    from qtables.timing import today_beijing

    ws = open_workspace(workspace)
    with run_lock(ws.path / "run-daily.lock"):
        outcomes = intake_imap(ws)
        click.echo(f"收取：{len(outcomes)} 项")
        if not no_send:
            sent = send_outbox(ws)
            click.echo(f"回复：已发出 {len(sent)} 封")
        today = today_beijing()
        out = remind(ws, load_spec(), today=today, deliver=not no_send)
        _show(out, today, False)


class run_lock:
    """One run-daily at a time on a workspace: a lock file made with O_EXCL (portable: no fcntl), holding the pid and
    the start time.  A second run waits up to ``wait`` seconds; a lock older than ``stale`` seconds (a run killed
    with the machine) is taken over.  Reminders are also claimed in the ledger, so even two desks cannot double-send."""

    def __init__(self, path: Path, *, wait: float = 600, stale: float = 6 * 3600):
        self.path, self.wait, self.stale = path, wait, stale

    def __enter__(self):
        from qtables.errors import QtablesError

        deadline = time.monotonic() + self.wait
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    age = time.time() - self.path.stat().st_mtime
                except FileNotFoundError:
                    continue
                if age > self.stale:
                    self.path.unlink(missing_ok=True)
                    continue
                if time.monotonic() >= deadline:
                    raise QtablesError(f"上一次 run-daily 仍在运行（{self.path.read_text(encoding='utf-8', errors='replace').strip()}），本次未做任何事",
                                       code="U044", hint=f"等它结束后再运行；如确认没有在运行，删除 {self.path} 即可。") from None
                time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(f"进程 {os.getpid()}，开始于 {time.strftime('%Y-%m-%d %H:%M:%S')}")
            return self

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)
