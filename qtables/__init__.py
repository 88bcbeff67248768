"""qtables: issue, take in, check and merge the 附表 of Henan's construction-quality report.

The package reads as the flow of a reporting round::

    spec/      the declarative spec (tables, rules, the unit registry)
    template/  what an issued workbook is (layout, identity, sheet names, rule runtime)
    issue/     writing the locked templates
    check/     reading and checking a returned workbook, receipts
    ledger/    the workspace, the SQLite ledger and the archive
    intake/    unpacking mail and files, recording each item, replies
    status     who has reported, deadlines, 催报
    merge/     the master workbook, import of a previous master, upward reports
    cli/       the command line (the only user of click)
    devtools/  sample generation and generated files (dev-only; the demo uses it)

The names below are the library's public face (what the command line calls).  They are loaded
lazily, so ``import qtables`` costs nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "load_spec": "qtables.spec",
    "Period": "qtables.period",
    "init_workspace": "qtables.ledger.workspace",
    "open_ledger_workspace": ("qtables.ledger.workspace", "open_workspace"),
    "issue_templates": "qtables.issue.run",
    "check_file": "qtables.check.checker",
    "CheckContext": "qtables.check.context",
    "write_receipt": "qtables.receipt.workbook",
    "run_intake": ("qtables.intake.run", "intake"),
    "intake_imap": "qtables.intake.imap",
    "send_outbox": "qtables.intake.mail",
    "period_status": "qtables.status",
    "build_master": ("qtables.merge.master", "merge"),
    "import_master": "qtables.merge.importer",
    "fill_upward": "qtables.merge.upward",
    "open_workspace": "qtables.analysis",  # pandas DataFrames over a workspace's ledger
    "export": "qtables.analysis",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    target = _API.get(name)
    if target is None:
        raise AttributeError(f"module 'qtables' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value
