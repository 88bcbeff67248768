"""What an arrival is unpacked into (Item), the limits that bound unpacking, and content sniffing of containers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path


from qtables.read.workbook import sniff
from qtables.timing import beijing


WORKBOOK_KINDS = {"xlsx", "xlsm", "xls", "ods", "xlsb"}  # xlsb: refused with its own code (F07)


@dataclass
class Limits:
    attachment_bytes: int = 25 * 1024 * 1024
    decompressed_bytes: int = 200 * 1024 * 1024
    compression_ratio: int = 200
    zip_members: int = 2000
    nesting_depth: int = 5
    messages_per_run: int = 5000

    @classmethod
    def from_config(cls, config: dict) -> "Limits":
        known = {k: int(v) for k, v in config.get("limits", {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Item:
    source_id: str  # stable identity of where the bytes came from (for idempotent reruns)
    name: str  # the attachment or file name, for people only
    data: bytes
    source: str  # a human description: the file, the mailbox, the message
    group: str  # items from one message or file share a group
    sender: str | None = None
    subject: str | None = None
    message_id: str | None = None
    received_at: str = ""
    problem: str | None = None  # a limit or format problem found while unpacking (finding code)
    detail: str = ""
    received_basis: str = "file"  # how received_at was established (qtables.timing.BASIS_TEXT)


@dataclass
class UnpackContext:
    limits: Limits
    messages: int = 0
    notes: list[str] = field(default_factory=list)


def mtime_iso(path: Path) -> str:
    return beijing(datetime.fromtimestamp(path.stat().st_mtime, timezone.utc))


def container_kind(data: bytes) -> str:
    """mbox, eml, msg, zip (a plain archive) or file."""
    if data.startswith(b"From ") and b"\n" in data[:200]:
        return "mbox"
    kind = sniff(data)
    if kind == "msg":
        return "msg"
    if kind in ("zip", "broken-zip"):
        return "zip"  # a damaged archive is still an archive: unpacking reports it (L07)
    if kind in ("text", "unknown"):
        head = data[:4096].lower()
        markers = sum(m in head for m in (b"\nfrom:", b"\nsubject:", b"\nmime-version:", b"\nreceived:", b"\ncontent-type:", b"\nmessage-id:"))
        if markers >= 2 or head.startswith((b"from:", b"received:", b"return-path:", b"mime-version:", b"message-id:", b"subject:", b"date:", b"to:")) and markers >= 1:
            return "eml"
    return "file"
