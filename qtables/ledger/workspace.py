"""The workspace: one folder holding the config, the ledger, the archive and the outputs.

``qtables init DIR`` creates it.  Every command that needs one takes
``--workspace DIR``, else ``$QTABLES_WORKSPACE``, else the current folder.
The config (``qtables.toml``) is plain TOML a clerk can edit: the unit registry
file, deadlines, the template signing key, the sheet-protection password, the
sender allow-list and the size limits.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtables.errors import WorkspaceError
from qtables.spec.registry import Registry, load_registry
from qtables.spec.loader import default_spec_dir

CONFIG_FILE = "qtables.toml"
DEFAULT_CORRECTION_DAYS = 10  # calendar days
REGISTRY_FILE = "units.json"

_CONFIG_TEMPLATE = """\
# qtables 工作区配置。可用任何文本编辑器修改；保存为 UTF-8。

[workspace]
# 本工作区的汇总单位：省厅为 410000；市级工作区填本市代码（如 410100），向下收取各县（区）报表。
root_unit = "{root_unit}"
# 单位名录（可增删单位、修改名称）。
registry = "{registry}"

[template]
# 模板签名密钥：用于识别伪造或串用的模板。请勿外传；更换后，旧模板将无法通过签名校验。
signing_key = "{signing_key}"
# 工作表保护密码（防止误改表头和公式，填报人无需知道）。
protection_password = "{password}"

[deadlines]
# 季报：每季度末上报（第五条），即季度最后一天之后再宽限的天数。
quarter_grace_days = 0
# 年报：每年12月20日前上报（第十一条）。
year_month = 12
year_day = 20
year_grace_days = 0
# 更正期限：被退回的报表在其收到之日起多少天内改正重报，仍算按时（日历日；《办法》未规定，默认 10 天）。
correction_days = 10

[form]
# 印在每张表右上角的表号、制定机关、批准文号、有效期至（默认值见规格 spec.json 的 form；空着的不印）。
# approval = "豫统制〔2025〕1号"
# valid_until = "2027年12月"
# t5 = "豫建质统5表"

# 功能区（航空港区、高新区、经开区等不是行政区划，不在名录中）：作为所在市附表5/7的一行报送。
# 代码用其统计用区划代码（6位）或自编8位。每个功能区一段，例如：
# [[zones]]
# city = "410100"
# code = "410173"
# name = "郑州航空港经济综合实验区"

[receipt]
# 审核回执上印的审核人和联系方式（可空）。
reviewer = ""
contact = ""

[print]
# 汇总表的打印纸张：A4（默认；宽表分两页打印，每页重复单位名称列，字号不小于7磅）或 A3（一页宽）。
paper = "A4"

[database]
# 台账存放处。空着：本工作区内的 ledger.sqlite（一台电脑使用）。几个岗位共用一本台账时填 PostgreSQL 地址（不含密码），如
# url = "postgresql://qtables@192.168.1.10:5432/qtables"
# 密码不要写在这里：放在环境变量 PGPASSWORD 或 pgpass 文件中（Windows：%APPDATA%\\postgresql\\pgpass.conf）。
{database}
[reminders]
# 催报（qtables remind）：截止日期前几天发第一次提醒；逾期后每隔几天催报一次，直至报齐；逾期多少天后不再自动催报。
before = [5, 1]
every = 3
stop_after_days = 60

[senders]
# 各单位允许的发件邮箱，例如：
# "410100" = ["zzjszl@example.gov.cn"]

[limits]
attachment_bytes = 26214400
decompressed_bytes = 209715200
compression_ratio = 200
zip_members = 2000
sheet_rows = 20000
nesting_depth = 5
messages_per_run = 5000
"""


@dataclass
class Workspace:
    path: Path
    config: dict[str, Any]
    registry: Registry = field(repr=False)

    @property
    def signing_key(self) -> bytes:
        return bytes.fromhex(self.config["template"]["signing_key"])

    @property
    def protection_password(self) -> str:
        return str(self.config["template"].get("protection_password", ""))

    @property
    def database_url(self) -> str | None:
        """The PostgreSQL ledger's address, ``[database] url``, None for SQLite.  On a desk that keeps the whole
        address (password included) in ``QTABLES_DATABASE_URL``, that stands for it; a SQLite workspace stays one."""
        url = database_url(self.config, self.path / CONFIG_FILE)
        return (os.environ.get("QTABLES_DATABASE_URL") or url) if url else None

    def open_ledger(self):
        from qtables.ledger.store import Ledger

        return Ledger(self.path, url=self.database_url, signing_key=self.config["template"]["signing_key"])

    def has_ledger(self) -> bool:
        """Whether there is a ledger to read (a PostgreSQL one always is; a SQLite one once intake has run)."""
        return bool(self.database_url) or (self.path / "ledger.sqlite").exists()

    @property
    def correction_days(self) -> int:
        """更正期限: days after a 退回 filing was received within which its corrected version still counts as 按时
        (``[deadlines] correction_days``; the 办法 names none, docs/spec.md)."""
        return int(self.config.get("deadlines", {}).get("correction_days", DEFAULT_CORRECTION_DAYS))


def database_url(config: dict[str, Any], where: Path) -> str | None:
    url = str(config.get("database", {}).get("url", "") or "").strip()
    if not url:
        return None
    check_database_url(url, where)
    return url


def check_database_url(url: str, where: Path | str) -> None:
    """A PostgreSQL address without a password (the file is read by every desk and copied around)."""
    import re

    if not re.match(r"^postgres(ql)?://", url):
        raise WorkspaceError(f"{where} 的 [database] url 不是 PostgreSQL 地址：{url}", code="W005",
                             hint="应形如 postgresql://用户名@主机:5432/库名；用本机 SQLite 台账则留空。")
    if re.search(r"://[^/@]*:[^/@]*@", url) or re.search(r"[?&]password=", url):
        raise WorkspaceError(f"{where} 的 [database] url 含有密码", code="W005",
                             hint="请删去地址中的密码，改放在 PGPASSWORD 环境变量或 pgpass 文件中（或整个地址放在 QTABLES_DATABASE_URL 中）。")


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    if path:
        return Path(path)
    env = os.environ.get("QTABLES_WORKSPACE")
    return Path(env) if env else Path.cwd()


def init_workspace(path: str | os.PathLike[str], *, root_unit: str = "410000", signing_key: str | None = None,
                   database: str | None = None) -> Workspace:
    """Create a workspace (idempotent on an existing one: nothing is overwritten).  ``database``: a PostgreSQL
    address for the ledger, tried before anything is written (a server that cannot be reached leaves nothing)."""
    root = Path(path)
    cfg = root / CONFIG_FILE
    if cfg.exists():
        return open_workspace(root)
    # Validate before anything is written: an unknown unit leaves no half-made workspace behind.
    registry = load_registry()
    if root_unit != registry.root.code:
        registry.for_city(root_unit)
    if database:
        check_database_url(database, "--database")
        from qtables.ledger.store import Ledger

        # Reached before anything is written; a ledger other desks already use gives its signing key to this one.
        ledger = Ledger(root, url=os.environ.get("QTABLES_DATABASE_URL") or database)
        try:
            signing_key = ledger.recorded_key() or signing_key
        finally:
            ledger.close()
    try:
        root.mkdir(parents=True, exist_ok=True)
        for sub in ("archive", "receipts", "outbox", "masters"):
            (root / sub).mkdir(exist_ok=True)
        shutil.copyfile(default_spec_dir() / "registry" / "henan.json", root / REGISTRY_FILE)
        cfg.write_text(
            _CONFIG_TEMPLATE.format(
                root_unit=root_unit,
                registry=REGISTRY_FILE,
                signing_key=signing_key or secrets.token_hex(32),
                password=secrets.token_urlsafe(9),
                database=f'url = "{database}"\n' if database else "",
            ),
            encoding="utf-8",
        )
    except OSError as exc:
        raise WorkspaceError(f"无法创建工作区 {root}：{exc.strerror or exc}", code="W002") from None
    return open_workspace(root)


def open_workspace(path: str | os.PathLike[str] | None) -> Workspace:
    root = resolve_path(path)
    cfg = root / CONFIG_FILE
    if not cfg.is_file():
        raise WorkspaceError(
            f"{root} 不是 qtables 工作区（找不到 {CONFIG_FILE}）",
            code="W001",
            hint=f"请先运行 qtables init {root}，或用 --workspace 指定工作区。",
        )
    try:
        config = tomllib.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WorkspaceError(f"工作区配置 {cfg} 无法读取：{exc}", code="W003") from None
    try:
        key = config["template"]["signing_key"]
        bytes.fromhex(key)
        if len(key) < 32:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise WorkspaceError(
            f"工作区配置 {cfg} 的 [template] signing_key 缺失或不是至少32位的十六进制串", code="W003"
        ) from None
    registry = load_registry(root / config.get("workspace", {}).get("registry", REGISTRY_FILE))
    zones = config.get("zones", [])
    if not isinstance(zones, list) or not all(isinstance(z, dict) for z in zones):
        raise WorkspaceError(f"工作区配置 {cfg} 的 zones 应写成 [[zones]] 表（city、code、name）", code="W003")
    registry = registry.with_zones(zones)
    root_unit = str(config.get("workspace", {}).get("root_unit", registry.root.code))
    if root_unit != registry.root.code:
        registry = registry.for_city(root_unit)
    return Workspace(path=root, config=config, registry=registry)
