"""The states of a submission as a clerk reads them (status, the master, re-check notes)."""

from __future__ import annotations

STATUS_TEXT = {
    "missing": "未报", "unreadable": "已收（无法审核）", "accepted": "通过", "accepted_with_warnings": "通过（待说明）", "rejected": "退回",
    "quarantined": "隔离待核", "duplicate": "重复",
}
