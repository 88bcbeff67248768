"""Every table of a ledger as comparable rows, ids aside: a row that names a submission by id names it by its
SHA-256 instead, and times that legitimately differ between runs (recorded_at, decided_at, imported_at) are left
out.  Two ledgers that took in the same items the same way compare equal, whichever backend and whatever order."""

from __future__ import annotations

import hashlib
import re

from qtables.ledger.store import Ledger

LEFT_OUT = {"id", "recorded_at", "decided_at", "imported_at", "created_at", "sent_at", "message_id", "outputs_claim"}
BY_SUBMISSION = {"submission_id", "superseded_by", "source_id"}
# An outbox mail is named after its submission's id ("outbox/000056_411729_2025Q3_v1.eml").
ID_PREFIX = re.compile(r"^(outbox/)\d{6}_")


def dump(ledger: Ledger) -> dict[str, list[tuple]]:
    db = ledger.db
    sha = {r[0]: r[1] for r in db.execute("SELECT id, sha256 FROM submissions").fetchall()}
    out = {}
    for table in ("arrivals", "submissions", "findings", "cells", "check_inputs", "verdicts", "project_keys", "imports", "reminders",
                  "settings"):
        cur = db.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        rows = []
        for row in cur.fetchall():
            rows.append(tuple((n, sha.get(v, v) if n in BY_SUBMISSION else ID_PREFIX.sub(r"\1", v) if n == "reply_path" and v else v)
                              for n, v in zip(names, row) if n not in LEFT_OUT))
        out[table] = sorted(rows, key=repr)
    out["originals"] = sorted(
        (s, hashlib.sha256(ledger._archive.read(s)).hexdigest() == s)
        for s in {r[0] for r in db.execute("SELECT sha256 FROM arrivals").fetchall()})
    return out


def differences(a: dict, b: dict) -> list[str]:
    out = []
    for table in a:
        if a[table] != b[table]:
            only_a = [r for r in a[table] if r not in b[table]][:2]
            only_b = [r for r in b[table] if r not in a[table]][:2]
            out.append(f"{table}: {len(a[table])} vs {len(b[table])} rows; only first {only_a}; only second {only_b}")
    return out
