"""``qtables serve``: the status board and drop-box in a browser (Starlette, server-rendered Jinja2 pages, plain forms;
every asset ships in the wheel, nothing is fetched from the internet).

The web layer only calls the library, as the CLI does: ``status.period_status``, ``intake.run.intake``,
``merge.master.merge``, ``report.document.draft_report``, ``analysis.export``, ``issue.run.issue_templates``,
``remind.remind``.  No path from a request touches the file system: downloads are found by ledger ids and hashes,
uploads are saved under a fresh folder with cleaned names.  Every action is written to the ledger's audit trail.
"""

from __future__ import annotations

import io
import re
import secrets
import time
import zipfile
from pathlib import Path
from urllib.parse import quote
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from qtables.check.findings import shown_figure
from qtables.errors import QtablesError, unexpected
from qtables.intake.items import Limits
from qtables.ledger.queries import decode
from qtables.ledger.workspace import Workspace, open_workspace
from qtables.period import Period
from qtables.receipt.workbook import safe_name
from qtables.spec import load_spec
from qtables.states import STATUS_TEXT
from qtables.web.auth import LOCAL_HOSTS, can, check_password, csrf_ok, csrf_token, session_key

HERE = Path(__file__).parent
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class Site:
    def __init__(self, ws_path: Path, host: str):
        self.host = host
        self.ws: Workspace = open_workspace(ws_path)  # read once: a page is served many times, the config seldom changes
        self.spec = load_spec()
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
        self.env.globals["STATUS_TEXT"] = STATUS_TEXT
        from qtables.status import short_time

        self.env.globals["short"] = short_time
        self.env.globals["figure"] = lambda stored: shown_figure(decode(stored))  # a finding's 应为/实为 as recorded

    def who(self, request: Request) -> tuple[str | None, str | None]:
        """(name, role) of the person asking; the local user when the workspace names none and the page is local."""
        name = request.session.get("user")
        ledger = self.ws.open_ledger()
        try:
            if not ledger.users():
                return ("本机", "clerk") if self.host in LOCAL_HOSTS else (None, None)
            row = ledger.user(name) if name else None
            return (row["name"], row["role"]) if row is not None else (None, None)
        finally:
            ledger.close()

    def page(self, request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        name, role = self.who(request)
        html = self.env.get_template(template).render(user=name, role=role, csrf=csrf_token(request.session),
                                                      periods=_periods(), **values)
        return HTMLResponse(html, status_code=status_code)

    def refuse(self, request: Request, code: str, message: str, status_code: int) -> HTMLResponse:
        return self.page(request, "message.html", status_code=status_code, title="未能完成", code=code, message=message)

    def audit(self, user: str, action: str, detail: str) -> None:
        ledger = self.ws.open_ledger()
        try:
            ledger.audit(user, action, detail)
        finally:
            ledger.close()


def _periods() -> list[str]:
    from qtables.timing import today_beijing

    year = today_beijing().year
    return [f"{y}Q{q}" for y in (year - 1, year) for q in range(1, 5)] + [str(year - 1), str(year)]


def create_app(ws_path: Path, *, host: str = "127.0.0.1") -> Starlette:
    site = Site(Path(ws_path), host)

    def guard(action: str):
        """A route for ``action`` (read, or a clerk's): sign-in, role, and on POST the CSRF token."""
        def wrap(handler):
            async def endpoint(request: Request):
                name, role = await run_in_threadpool(site.who, request)
                if name is None:
                    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse(f"/login?next={quote(here)}", status_code=303)
                if not can(role, action):
                    return site.refuse(request, "W101", f"{name}是查看者，只能浏览和下载；收取、汇总、起草报告、下发模板和催报"
                                                        "请找统计员。", 403)
                form = None
                if request.method == "POST":
                    limit = Limits.from_config(site.ws.config).attachment_bytes
                    if int(request.headers.get("content-length") or 0) > 20 * limit:
                        return site.refuse(request, "L01", f"上传的内容超过限制（每个文件不超过 {limit} 字节）。", 413)
                    form = await request.form(max_files=50)
                    if not csrf_ok(request.session, form.get("csrf")):
                        return site.refuse(request, "W102", "表单已过期或来源不明（CSRF 校验未通过），请刷新页面后重试。", 403)
                return await handler(request, name, form)
            return endpoint
        return wrap

    async def login(request: Request):
        if request.method == "GET":
            return site.page(request, "login.html", next=request.query_params.get("next", "/"))
        form = await request.form()
        if not csrf_ok(request.session, form.get("csrf")):
            return site.refuse(request, "W102", "表单已过期，请刷新页面后重试。", 403)
        ledger = site.ws.open_ledger()
        try:
            row = ledger.user(str(form.get("name", "")))
        finally:
            ledger.close()
        if row is None or not await run_in_threadpool(check_password, str(form.get("password", "")), row["password_hash"]):
            return site.page(request, "login.html", status_code=401, error="姓名或密码不对。", next=form.get("next", "/"))
        request.session.clear()
        request.session["user"] = row["name"]
        site.audit(row["name"], "login", "")
        target = str(form.get("next") or "/")
        return RedirectResponse(target if target.startswith("/") and not target.startswith("//") else "/", status_code=303)

    async def logout(request: Request):
        form = await request.form()
        if csrf_ok(request.session, form.get("csrf")):
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @guard("read")
    async def status(request: Request, user: str, _form):
        from qtables.status import period_status
        from qtables.timing import today_beijing

        period = _period(request.query_params.get("period"))
        if period is None:
            return site.refuse(request, "U001", "报告期应形如 2025Q3 或 2025。", 400)
        summary = await run_in_threadpool(period_status, site.ws, site.spec, period, today=today_beijing())
        state = request.query_params.get("state", "")
        units = [u for u in summary["units"] if not state or u["status"] == state]
        from qtables.remind import calendar

        return site.page(request, "status.html", title=f"{summary['label']} 报送情况", s=summary, units=units, state=state,
                         calendar=calendar(site.ws, site.spec, period.year))

    @guard("read")
    async def unit(request: Request, user: str, _form):
        code = request.path_params["code"]
        ws = site.ws
        try:
            who = ws.registry.unit(code)
        except QtablesError:
            return site.refuse(request, "U002", f"没有代码为 {code} 的单位。", 404)
        ledger = ws.open_ledger()
        try:
            subs = ledger.db.execute("SELECT * FROM submissions WHERE unit_code = ? ORDER BY period DESC, version DESC", (code,)).fetchall()
            versions = [{"sub": s, "findings": ledger.findings_of(s["id"])} for s in subs]
            reminders = ledger.db.execute("SELECT * FROM reminders WHERE unit_code = ? ORDER BY day DESC", (code,)).fetchall()
            others = ledger.db.execute("SELECT filename, sha256, status, received_at, code FROM arrivals WHERE unit_code = ? AND"
                                       " submission_id IS NULL ORDER BY id DESC", (code,)).fetchall()
            figures = _figures(site.spec, ledger, code, sorted({s["period"] for s in subs}))
        finally:
            ledger.close()
        return site.page(request, "unit.html", title=f"{who.name}（{code}）", unit=who, versions=versions, reminders=reminders,
                         others=others, figures=figures)

    @guard("clerk")
    async def intake_page(request: Request, user: str, form):
        if request.method == "GET":
            return site.page(request, "intake.html", title="收取")
        from qtables.intake.run import intake

        ws = site.ws
        limit = Limits.from_config(ws.config).attachment_bytes
        folder = ws.path / "uploads" / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"
        saved = []
        for upload in form.getlist("files"):
            if not getattr(upload, "filename", None):
                continue
            data = await upload.read(limit + 1)
            if len(data) > limit:
                return site.refuse(request, "L01", f"“{safe_name(upload.filename)}”超过 {limit} 字节的限制，未收取。", 413)
            name = safe_name(upload.filename) or "附件"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / name
            n = 1
            while target.exists():
                n += 1
                target = folder / f"{Path(name).stem}_{n}{Path(name).suffix}"
            target.write_bytes(data)
            saved.append(target)
        if not saved:
            return site.refuse(request, "U008", "没有选择文件。", 400)
        outcomes = await run_in_threadpool(intake, ws, [folder], spec=site.spec)
        site.audit(user, "intake", "；".join(f"{o.name}：{o.status}" for o in outcomes))
        return site.page(request, "intake.html", title="收取结果", outcomes=outcomes)

    @guard("read")
    async def tools(request: Request, user: str, _form):
        return site.page(request, "tools.html", title="汇总与导出")

    @guard("clerk")
    async def build(request: Request, user: str, form):
        period = _period(form.get("period"))
        what = form.get("what")
        if period is None or what not in ("master", "report", "export", "issue", "remind"):
            return site.refuse(request, "U001", "请选择报告期和要做的事。", 400)
        try:
            name, data = await run_in_threadpool(_build, site, what, period)
        except QtablesError as exc:  # a coded refusal from the library, shown as the CLI shows it
            return site.refuse(request, exc.code, exc.message + (f"\n处理办法：{exc.hint}" if exc.hint else ""), 400)
        site.audit(user, what, period.code)
        if what == "remind":
            return site.page(request, "message.html", title="催报（试运行）", code="", message=data.decode("utf-8"))
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

    @guard("read")
    async def download(request: Request, user: str, _form):
        kind, key = request.path_params["kind"], request.path_params["key"]
        ws = site.ws
        ledger = ws.open_ledger()
        try:
            if kind == "original" and re.fullmatch(r"[0-9a-f]{64}", key):
                row = ledger.db.execute("SELECT filename FROM arrivals WHERE sha256 = ? LIMIT 1", (key,)).fetchone()
                path = ledger.archive_path(key) if row is not None else None
                name = safe_name(row["filename"]) if row is not None else ""
            elif kind in ("receipt", "reply") and key.isdigit():
                row = ledger.db.execute(f"SELECT {kind}_path FROM submissions WHERE id = ?", (int(key),)).fetchone()
                path = (ws.path / row[0]).resolve() if row is not None and row[0] else None
                name = path.name if path else ""
                if path is not None and ws.path.resolve() not in path.parents:
                    path = None
            else:
                path = None
        finally:
            ledger.close()
        if path is None or not path.is_file():
            return site.refuse(request, "U002", "没有这个文件。", 404)
        site.audit(user, "download", f"{kind} {key}")
        return FileResponse(path, filename=name)

    routes = [
        Route("/", lambda request: RedirectResponse("/status", status_code=303)),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/status", status),
        Route("/unit/{code}", unit),
        Route("/intake", intake_page, methods=["GET", "POST"]),
        Route("/tools", tools),
        Route("/build", build, methods=["POST"]),
        Route("/download/{kind}/{key}", download),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    async def failed(request: Request, exc: Exception):
        """Anything unexpected: the same coded Chinese answer as the CLI's (Q999 with its log, or K06), never a trace."""
        error = await run_in_threadpool(unexpected, exc)
        return HTMLResponse(site.env.get_template("message.html").render(
            title="未能完成", code=error.code, message=error.message + (f"\n处理办法：{error.hint}" if error.hint else ""),
            user=None, role=None, csrf="",
            periods=[]), status_code=500)

    secure = host not in LOCAL_HOSTS
    return Starlette(routes=routes, exception_handlers={Exception: failed}, middleware=[
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=session_key(site.ws.signing_key), session_cookie="qtables",
                   same_site="strict", https_only=secure, max_age=8 * 3600)])


class SecurityHeaders:
    """Content-Security-Policy, nosniff, frame denial and referrer policy on every response (plain ASGI)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _v in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k.lower().encode(), v.encode()) for k, v in HEADERS.items() if k.lower().encode() not in have]
            await send(message)

        await self.app(scope, receive, sending)


FIGURES = (("ucon_count", "在建项数"), ("new_count", "新注册"), ("done_count", "竣工"), ("filed_count", "备案"),
           ("filing_rate_count", "备案率（项数，%）"), ("satisfaction_rate", "满意率（%）"), ("accident_count", "事故"))


def _figures(spec, ledger, code: str, periods: list[str]) -> list[dict[str, Any]]:
    """The unit's accepted 合计 of 附表5 (quarters) or 附表7 (years), period by period, with the change vs the period
    before it in the list — the master's figures (``merge.figures.unit_row``)."""
    from qtables.merge.figures import unit_row

    out = []
    for code_ in sorted(periods, key=lambda c: Period.parse(c).order):
        period = Period.parse(code_)
        values = ledger.accepted_values(code, code_) or {}
        table = spec.table("t7" if period.kind == "year" else "t5")
        row = unit_row(table, values) if table.id in values else None
        if row is not None:
            before = next((o for o in reversed(out) if o["kind"] == period.kind), None)
            out.append({"period": period.label, "kind": period.kind, "values": [(label, row.get(cid), None if before is None else
                        _delta(row.get(cid), before["raw"].get(cid))) for cid, label in FIGURES], "raw": row})
    return list(reversed(out))


def _delta(now: Any, then: Any) -> str | None:
    if not isinstance(now, (int, float)) or not isinstance(then, (int, float)):
        return None
    d = now - then
    return "持平" if abs(d) < 1e-9 else f"{'+' if d > 0 else '−'}{abs(d):g}" if float(d).is_integer() else f"{'+' if d > 0 else '−'}{abs(d):.2f}"


def _period(text: Any) -> Period | None:
    try:
        return Period.parse(str(text)) if text else Period.parse(_periods()[-3])
    except Exception:  # noqa: BLE001 - any malformed period is the same refusal
        return None


def _build(site: Site, what: str, period: Period) -> tuple[str, bytes]:
    """Run one of the library's commands; the file to download (name, bytes)."""
    ws = site.ws
    if what == "master":
        from qtables.merge.master import merge

        path = merge(ws, site.spec, period)
        return path.name, path.read_bytes()
    if what == "report":
        from qtables.report.document import draft_report

        path = draft_report(ws, site.spec, period).path
        return path.name, path.read_bytes()
    if what == "remind":
        from qtables.remind import remind

        out = remind(ws, site.spec, periods=[period], dry_run=True)
        text = "\n".join(f"{r.unit_name}：" + "；".join(f"[{c}] {t}" for c, t in r.reasons) for r in out) or "没有需要催报的单位。"
        return "", text.encode("utf-8")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        if what == "export":
            from qtables.analysis import export, open_workspace as analysed

            paths = export(analysed(ws.path), period, "xlsx", Path(tmp))
        else:
            from qtables.issue.run import issue_templates

            paths = [i.path for i in issue_templates(ws, period=period, out_dir=Path(tmp), spec=site.spec)]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in paths:
                zf.write(p, p.name)
        return f"{period.code}_{'导出' if what == 'export' else '模板'}.zip", buf.getvalue()
