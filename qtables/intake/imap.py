"""``qtables intake --imap``: take in a mailbox over IMAP.

Settings: ``[imap]`` in the workspace config (host, port, ssl, folder,
processed_folder); credentials from the environment (QTABLES_IMAP_USER,
QTABLES_IMAP_PASSWORD) or the config — never the command line.  A message is
marked only after its items are recorded: moved to ``processed_folder`` (a
name that may be Chinese, sent as modified UTF-7 per RFC 3501) or, without
one, flagged ``$Qtables``.  Arrival keys carry UIDVALIDITY and UID, so a
message fetched twice after an interruption is still counted once.
"""

from __future__ import annotations

import base64
import imaplib
import os
import re
import time
from datetime import datetime, timezone

from qtables.errors import QtablesError
from qtables.intake.run import Outcome, intake
from qtables.intake.items import Limits
from qtables.intake.messages import message_items
from qtables.ledger.workspace import Workspace
from qtables.timing import beijing

DONE_FLAG = "$Qtables"


def encode_folder(name: str) -> str:
    """Modified UTF-7 (RFC 3501 §5.1.3) for a mailbox name such as 已处理."""
    out, buffer = [], []

    def flush():
        if buffer:
            raw = "".join(buffer).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            buffer.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buffer.append(ch)
    flush()
    return "".join(out)


def decode_folder(name: str) -> str:
    def repl(m):
        body = m.group(1)
        if not body:
            return "&"
        body = body.replace(",", "/")
        return base64.b64decode(body + "=" * (-len(body) % 4)).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", repl, name)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapError(QtablesError):
    code = "M001"


def _login(conn: imaplib.IMAP4, user: str, password: str) -> None:
    """LOGIN for ASCII credentials; AUTHENTICATE PLAIN (RFC 4616, UTF-8) for others or when LOGIN is refused."""
    ascii_only = user.isascii() and password.isascii()
    if ascii_only:
        try:
            conn.login(user, password)
            return
        except imaplib.IMAP4.error:
            pass
    try:
        conn.authenticate("PLAIN", lambda _challenge: b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8"))
    except imaplib.IMAP4.error:
        raise ImapError("邮件服务器拒绝登录，请检查账号和密码", code="M003") from None


def intake_imap(ws: Workspace) -> list[Outcome]:
    cfg = ws.config.get("imap", {})
    host = cfg.get("host")
    if not host:
        raise ImapError("工作区配置中没有 [imap] host", hint="在 qtables.toml 中加入 [imap] 一节：host、port、folder 等。")
    user = os.environ.get("QTABLES_IMAP_USER") or cfg.get("user")
    password = os.environ.get("QTABLES_IMAP_PASSWORD") or cfg.get("password")
    if not user or not password:
        raise ImapError("缺少 IMAP 账号或密码", hint="请设置环境变量 QTABLES_IMAP_USER 和 QTABLES_IMAP_PASSWORD。")
    port = int(cfg.get("port", 993 if cfg.get("ssl", True) else 143))
    folder = cfg.get("folder", "INBOX")
    processed = cfg.get("processed_folder")
    try:
        conn = imaplib.IMAP4_SSL(host, port, timeout=60) if cfg.get("ssl", True) else imaplib.IMAP4(host, port, timeout=60)
    except OSError as exc:
        raise ImapError(f"无法连接邮件服务器 {host}:{port}（{exc.strerror or exc}）", code="M002") from None
    outcomes: list[Outcome] = []
    try:
        _login(conn, user, password)
        if processed:
            conn.create(_quote(encode_folder(processed)))  # fails harmlessly when it exists
        typ, _ = conn.select(_quote(encode_folder(folder)))
        if typ != "OK":
            raise ImapError(f"邮箱中没有文件夹“{folder}”", code="M004")
        validity = (conn.response("UIDVALIDITY")[1] or [b"0"])[0]
        validity = validity.decode() if isinstance(validity, bytes) else str(validity)
        typ, data = conn.uid("SEARCH", None, "NOT", "KEYWORD", DONE_FLAG)
        uids = data[0].split() if typ == "OK" and data and data[0] else []
        limits = Limits.from_config(ws.config)
        for uid in uids[: limits.messages_per_run]:
            typ, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[] INTERNALDATE)")
            part = next((part for part in fetched if isinstance(part, tuple)), None)
            raw = part[1] if part is not None else None
            if typ != "OK" or raw is None:
                continue
            source_id = f"imap://{user}@{host}/{folder};UIDVALIDITY={validity}/;UID={uid.decode()}"
            items = list(message_items(raw, source_id, f"{host}/{folder} UID {uid.decode()}", limits,
                                       ours=_internaldate(part[0])))
            outcomes += intake(ws, items=items)
            if processed:
                target = _quote(encode_folder(processed))
                if conn.uid("COPY", uid, target)[0] == "OK":
                    conn.uid("STORE", uid, "+FLAGS", f"({DONE_FLAG} \\Seen \\Deleted)")
            else:
                conn.uid("STORE", uid, "+FLAGS", f"({DONE_FLAG} \\Seen)")
        if processed:
            conn.expunge()
    finally:
        try:
            conn.logout()
        except Exception:  # noqa: BLE001
            pass
    return outcomes


def _internaldate(response: bytes) -> str:
    """The server's own received time of a message (RFC 3501 INTERNALDATE) in 北京时间, "" when absent."""
    stamp = imaplib.Internaldate2tuple(response) if b"INTERNALDATE" in response else None
    if stamp is None:
        return ""
    return beijing(datetime.fromtimestamp(time.mktime(stamp), timezone.utc))
