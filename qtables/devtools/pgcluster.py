"""A throwaway PostgreSQL server for the tests and benchmarks/bench_intake.py: Debian's ``postgresql`` package
(installed by the README's test command), a cluster made by initdb in a temporary folder, listening on a Unix
socket there only (no TCP port), stopped at the end.  Run as root (CI), the server runs as the ``postgres`` user
the package makes.  Not for production: a province's server is its IT's (README: 几个岗位共用一本台账).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid
from pathlib import Path

# A role that must give its password (K02's test); every other local connection is trusted.
PASSWORD_ROLE, PASSWORD = "qtables_pw", "正确的密码-42"


def bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Server:
    def __init__(self, root: Path | None = None):
        """``root``: a folder the ``postgres`` user can reach when run as root (default: a new one under the
        system's temporary folder; short, as a Unix socket's path must be)."""
        if root is None:
            import tempfile

            root = Path(tempfile.mkdtemp(prefix="qtpg-"))
        self.bin = bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: run the README test command, which installs it")
        self.root = root
        self.data = root / "data"
        self.socket = root
        self.as_postgres = os.geteuid() == 0 if hasattr(os, "geteuid") else False

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> "Server":
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
            os.chmod(self.root, 0o755)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8")
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"local all {PASSWORD_ROLE} scram-sha-256\nlocal all all trust\n", encoding="utf-8")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                  "-o", f"-k {self.socket} -c listen_addresses='' -c max_connections=60", "start")
        self.admin(f"CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        return self

    def stop(self, *, remove: bool = True) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@/{dbname}?host={self.socket}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(sql)

    def new_database(self) -> str:
        """A fresh, empty database; its address."""
        name = "qt_" + uuid.uuid4().hex[:12]
        self.admin(f"CREATE DATABASE {name}")
        return self.url(name)
