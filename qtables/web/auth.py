"""Who may do what on the office page.

* Users live in the ledger (``qtables user add 姓名 --role viewer|clerk``): a bcrypt hash, never the password.
  Viewers read; clerks also take in files, merge, draft the report, export, issue templates and send reminders.
* With no users the page serves 127.0.0.1 only, to the one person at that machine (as a clerk); to serve the office
  network the workspace must name users (``serve`` refuses otherwise, U050).
* A session is a signed cookie (Starlette's SessionMiddleware, its key derived from the workspace's signing key),
  HttpOnly and SameSite=Strict; every form carries the session's CSRF token, checked on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from qtables.ledger.people import ROLES

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _secret(password: str) -> bytes:
    """What bcrypt is given: it reads at most 72 bytes, so a longer (UTF-8) password is pre-hashed and every
    character counts."""
    data = password.encode("utf-8")
    return hashlib.sha256(data).hexdigest().encode() if len(data) > 72 else data


def hash_password(password: str) -> str:
    import bcrypt

    return bcrypt.hashpw(_secret(password), bcrypt.gensalt(rounds=12)).decode()


def check_password(password: str, stored: str) -> bool:
    import bcrypt

    try:
        return bcrypt.checkpw(_secret(password), stored.encode())
    except ValueError:
        return False


def session_key(signing_key: bytes) -> str:
    return hmac.new(signing_key, b"qtables web session", hashlib.sha256).hexdigest()


def csrf_token(session: dict[str, Any]) -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(session: dict[str, Any], given: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and given and hmac.compare_digest(str(expected), str(given)))


def can(role: str | None, action: str) -> bool:
    """``read`` for everyone signed in; anything else for clerks."""
    if role not in ROLES:
        return False
    return action == "read" or role == "clerk"
