"""The office page (issue 30) on a real server on 127.0.0.1, driven by Debian's headless Chromium through Playwright:
sign in, the status board, 洛阳市's T5-01, a corrected workbook dropped in and 通过, the receipt downloaded, the master
built; a viewer refused the upload.  Screenshots of every page are saved (QTABLES_SCREENSHOTS, else the test's
folder).  Security: clerk routes refused without a session, a forged CSRF token refused, an upload over the limit
refused with its code, a hostile file name stored safely, the security headers on every response."""

from __future__ import annotations

import io
import os
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from qtables.devtools import samplegen
from qtables.devtools.generate import SAMPLE_KEY, SAMPLE_PASSWORD, SAMPLE_PERIODS
from qtables.intake.run import intake
from qtables.issue.workbook import IssueRequest, build_workbook
from qtables.ledger.workspace import init_workspace, open_workspace
from qtables.period import Period
from qtables.template.layout import TableLayout
from qtables.template.names import tables_for
from qtables.web.auth import hash_password

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CLERK, VIEWER, PASSWORD = "张三", "李四", "办公室-密码-2025"
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(root: Path):
    """The office page of the workspace at ``root`` on a free port of 127.0.0.1 (uvicorn in a thread); its address."""
    import uvicorn

    from qtables.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(root, host="127.0.0.1"), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def corrected_luoyang(spec, ws) -> bytes:
    """洛阳市's 2025Q3 as the samples make it, without the mistake that had it 退回."""
    unit = ws.registry.unit("410300")
    previous = None
    for code in SAMPLE_PERIODS:
        period = Period.parse(code)
        set_names, table_ids = tables_for(spec, period)
        layouts = [TableLayout.for_unit(spec.table(t), unit) for t in table_ids]
        previous = filling = samplegen.generate(layouts, unit, period, seed=2025, previous=previous)
    buf = io.BytesIO()
    build_workbook(buf, spec=spec, request=IssueRequest(unit, period, table_ids, set_names, values=filling.values,
                                                        line_values=filling.line_values), key=ws.signing_key, password=SAMPLE_PASSWORD)
    return buf.getvalue()


@pytest.fixture(scope="module")
def site(tmp_path_factory, spec):
    root = tmp_path_factory.mktemp("web") / "ws"
    init_workspace(root, signing_key=SAMPLE_KEY)
    cfg = root / "qtables.toml"
    text = re.sub(r'protection_password = ".*"', f'protection_password = "{SAMPLE_PASSWORD}"', cfg.read_text(encoding="utf-8"))
    cfg.write_text(text.replace("attachment_bytes = 26214400", "attachment_bytes = 2000000"), encoding="utf-8")
    ws = open_workspace(root)
    for code in SAMPLE_PERIODS:
        intake(ws, [SAMPLES / code], spec=spec)
    ledger = ws.open_ledger()
    ledger.add_user(CLERK, "clerk", hash_password(PASSWORD))
    ledger.add_user(VIEWER, "viewer", hash_password(PASSWORD))
    ledger.close()
    with serving(root) as base:
        yield base, ws


def _login(client: httpx.Client, base: str, name: str) -> None:
    page = client.get(f"{base}/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = client.post(f"{base}/login", data={"csrf": token, "name": name, "password": PASSWORD, "next": "/status"})
    assert done.status_code == 303, done.text


def _csrf(client: httpx.Client, url: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(url).text).group(1)


def test_a_clerk_and_a_viewer_in_a_real_browser(site, spec, tmp_path):
    from playwright.sync_api import sync_playwright

    base, ws = site
    shots = Path(os.environ.get("QTABLES_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    fixed = tmp_path / "洛阳市2025年第3季度附表（改正）.xlsx"
    fixed.write_bytes(corrected_luoyang(spec, ws))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                           "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True).new_page()
        page.goto(f"{base}/status?period=2025Q3")
        assert "/login" in page.url
        page.fill("input[name=name]", CLERK)
        page.fill("input[name=password]", PASSWORD)
        page.click("text=登录")
        page.wait_for_selector("text=报送情况")
        assert "2025年第3季度 报送情况" in page.inner_text("h1")
        assert "洛阳市" in page.inner_text("table") and "退回" in page.inner_text("table")
        page.screenshot(path=str(shots / "1-报送情况.png"), full_page=True)
        page.click("text=洛阳市")
        assert "T5-01" in page.inner_text("main")
        row = page.locator("tr", has_text="T5-01").first.inner_text()
        assert "0～100" in row and "120" in row  # its 应为 and 实为, as the receipt gives them
        page.screenshot(path=str(shots / "2-洛阳市.png"), full_page=True)
        page.goto(f"{base}/intake")
        page.set_input_files("input[type=file]", str(fixed))
        page.click("button:has-text('收取')")
        page.wait_for_selector("text=收取结果")
        assert "通过" in page.inner_text("table")
        page.screenshot(path=str(shots / "3-收取结果.png"), full_page=True)
        # The same file dragged onto the drop box (drop.js): taken in as the duplicate it is.
        import base64

        page.goto(f"{base}/intake")
        transfer = page.evaluate_handle(
            """([name, b64]) => { const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                 const dt = new DataTransfer(); dt.items.add(new File([bytes], name)); return dt; }""",
            [fixed.name, base64.b64encode(fixed.read_bytes()).decode()])
        page.dispatch_event("form.drop", "drop", {"dataTransfer": transfer})
        page.wait_for_selector("text=收取结果")
        assert "重复" in page.inner_text("table") or "duplicate" in page.inner_text("table")
        page.goto(f"{base}/unit/410300")
        assert page.inner_text("section h2 >> nth=0").startswith("2025Q3 第2版")
        with page.expect_download() as got:
            page.click("text=审核回执 >> nth=0")
        receipt = got.value
        saved = tmp_path / receipt.suggested_filename
        receipt.save_as(str(saved))
        assert saved.read_bytes()[:2] == b"PK" and "审核回执" in saved.name
        page.goto(f"{base}/tools")
        page.select_option("select[name=period]", "2025Q3")
        with page.expect_download() as got:
            page.click("button:has-text('生成并下载汇总表')")
        assert got.value.suggested_filename.endswith("汇总.xlsx")
        page.screenshot(path=str(shots / "4-汇总与导出.png"), full_page=True)

        viewer = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        viewer.goto(f"{base}/login")
        viewer.fill("input[name=name]", VIEWER)
        viewer.fill("input[name=password]", PASSWORD)
        viewer.click("text=登录")
        viewer.wait_for_selector("text=报送情况")
        answer = viewer.goto(f"{base}/intake")
        assert answer.status == 403 and "W101" in viewer.inner_text("main")
        viewer.screenshot(path=str(shots / "5-查看者不能收取.png"), full_page=True)
        browser.close()
    ledger = ws.open_ledger()
    try:
        actions = {(r["user_name"], r["action"]) for r in ledger.audit_trail()}
    finally:
        ledger.close()
    assert {(CLERK, "login"), (CLERK, "intake"), (CLERK, "master"), (VIEWER, "login")} <= actions


def test_the_page_refuses_what_it_must(site, tmp_path):
    base, ws = site
    with httpx.Client(follow_redirects=False) as anonymous:
        for method, path in (("GET", "/intake"), ("POST", "/intake"), ("POST", "/build"), ("GET", "/status"),
                             ("GET", "/download/receipt/1")):
            answer = anonymous.request(method, f"{base}{path}")
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), (method, path)
        headers = anonymous.get(f"{base}/login").headers
        assert "default-src 'self'" in headers["content-security-policy"] and headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY" and "samesite=strict" in headers["set-cookie"].lower()
    with httpx.Client(follow_redirects=False) as clerk:
        _login(clerk, base, CLERK)
        forged = clerk.post(f"{base}/build", data={"csrf": "forged", "period": "2025Q3", "what": "master"})
        assert forged.status_code == 403 and "W102" in forged.text
        token = _csrf(clerk, f"{base}/intake")
        big = clerk.post(f"{base}/intake", data={"csrf": token}, files={"files": ("大.xlsx", b"0" * 2_100_000)})
        assert big.status_code == 413 and "L01" in big.text
        hostile = clerk.post(f"{base}/intake", data={"csrf": token},
                             files={"files": ("../../evil\x01name.xlsx", b"not a workbook")})
        assert hostile.status_code == 200
        stored = [p for p in (ws.path / "uploads").rglob("*") if p.is_file()]
        assert stored and all(ws.path / "uploads" in p.parents and "\x01" not in p.name and ".." not in p.name for p in stored)
        assert not (ws.path.parent / "evil\x01name.xlsx").exists()
        bad_download = clerk.get(f"{base}/download/original/..%2F..%2Fqtables.toml")
        assert bad_download.status_code == 404
        page = clerk.get(f"{base}/unit/410100").text  # the unit's figures vs the period before, as the master has them
        assert "主要数字" in page and "2025年第3季度" in page and "2025年第2季度" in page
        assert re.search(r"（[+−]\d|（持平）", page)


def test_the_office_network_needs_users_and_passwords_are_only_hashes(tmp_path):
    from click.testing import CliRunner

    from qtables.cli import main

    runner = CliRunner()
    ws = init_workspace(tmp_path / "ws", signing_key="5e" * 32)
    refused = runner.invoke(main, ["serve", "--workspace", str(ws.path), "--host", "0.0.0.0"])
    assert refused.exit_code == 2 and "U050" in refused.output
    added = runner.invoke(main, ["user", "add", "王五", "--role", "clerk", "--workspace", str(ws.path), "--password-stdin"],
                          input="一个足够长的办公密码\n")
    assert added.exit_code == 0, added.output
    short = runner.invoke(main, ["user", "add", "赵六", "--role", "viewer", "--workspace", str(ws.path), "--password-stdin"], input="短\n")
    assert short.exit_code == 2 and "U052" in short.output
    ledger = ws.open_ledger()
    try:
        row = ledger.user("王五")
        assert row["role"] == "clerk" and row["password_hash"].startswith("$2") and "一个足够长的办公密码" not in row["password_hash"]
    finally:
        ledger.close()
    listed = runner.invoke(main, ["user", "list", "--workspace", str(ws.path)])
    assert "王五\tclerk" in listed.output


def test_the_page_works_on_a_postgresql_ledger(tmp_path, spec, pg_server):
    """Several desks share a PostgreSQL ledger: the page reads and writes it as the commands do."""
    root = tmp_path / "ws"
    init_workspace(root, signing_key=SAMPLE_KEY, database=pg_server.new_database())
    cfg = root / "qtables.toml"
    cfg.write_text(re.sub(r'protection_password = ".*"', f'protection_password = "{SAMPLE_PASSWORD}"',
                          cfg.read_text(encoding="utf-8")), encoding="utf-8")
    ws = open_workspace(root)
    ledger = ws.open_ledger()
    ledger.add_user(CLERK, "clerk", hash_password(PASSWORD))
    ledger.close()
    with serving(root) as base, httpx.Client(follow_redirects=False) as clerk:
        _login(clerk, base, CLERK)
        token = _csrf(clerk, f"{base}/intake")
        mail = sorted((SAMPLES / SAMPLE_PERIODS[0]).glob("410100_*.eml"))[0]
        done = clerk.post(f"{base}/intake", data={"csrf": token}, files={"files": (mail.name, mail.read_bytes())})
        assert done.status_code == 200 and "通过" in done.text
        status = clerk.get(f"{base}/status?period={SAMPLE_PERIODS[0]}").text
        assert "郑州市" in status and "通过" in status
        mail = sorted((SAMPLES / SAMPLE_PERIODS[1]).glob("410300_*.eml"))[0]  # 洛阳市's 满意率 of 120: 退回
        sent_back = clerk.post(f"{base}/intake", data={"csrf": token}, files={"files": (mail.name, mail.read_bytes())})
        assert "退回" in sent_back.text and "强制性问题：T5-01" in sent_back.text
    ledger = ws.open_ledger()
    try:
        assert ledger.dialect == "postgresql" and (CLERK, "intake") in {(r["user_name"], r["action"]) for r in ledger.audit_trail()}
    finally:
        ledger.close()
    # A desk whose signing key is not the ledger's: the page says K09 and how to fix it, not an internal error.
    cfg.write_text(re.sub(r'signing_key = ".*"', f'signing_key = "{"e5" * 32}"', cfg.read_text(encoding="utf-8")), encoding="utf-8")
    with serving(root) as base, httpx.Client(follow_redirects=False) as desk:
        page = desk.get(f"{base}/status?period={SAMPLE_PERIODS[0]}")
        assert "K09" in page.text and "qtables init" in page.text and "Q999" not in page.text


def test_the_clerks_tools_give_the_libraries_files(site):
    """汇总与导出 calls the library: the draft report, the export and the 催报名单 come back as the commands make them."""
    import zipfile as zf

    base, _ws = site
    with httpx.Client(follow_redirects=False, timeout=120) as clerk:
        _login(clerk, base, CLERK)
        token = _csrf(clerk, f"{base}/tools")
        report = clerk.post(f"{base}/build", data={"csrf": token, "period": "2025Q3", "what": "report"})
        assert report.status_code == 200 and report.content[:2] == b"PK"
        assert "%E5%88%9D%E7%A8%BF" in report.headers["content-disposition"]  # …（初稿）.docx, RFC 5987-encoded
        export = clerk.post(f"{base}/build", data={"csrf": token, "period": "2025Q3", "what": "export"})
        names = zf.ZipFile(io.BytesIO(export.content)).namelist()
        assert export.status_code == 200 and any(n.endswith(".xlsx") for n in names)
        chase = clerk.post(f"{base}/build", data={"csrf": token, "period": "2025Q3", "what": "remind"})
        assert chase.status_code == 200 and "[H04]" in chase.text
        wrong = clerk.post(f"{base}/build", data={"csrf": token, "period": "2025Q9", "what": "master"})
        assert wrong.status_code == 400 and "U001" in wrong.text
