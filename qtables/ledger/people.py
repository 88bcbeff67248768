"""Who may use the office page (``qtables serve``) and what they did: users with a role and a bcrypt hash, and the
audit trail (migration 9; mixed into Ledger)."""

from __future__ import annotations

from typing import Any

from qtables.ledger.schema import now_iso

ROLES = ("viewer", "clerk")


class PeopleLedger:
    def add_user(self, name: str, role: str, password_hash: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM users WHERE name = ?", (name,))
            db.execute("INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                       (name, role, password_hash, now_iso()))

    def remove_user(self, name: str) -> bool:
        with self.transaction() as db:
            found = db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is not None
            db.execute("DELETE FROM users WHERE name = ?", (name,))
            return found

    def user(self, name: str) -> Any:
        return self.db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()

    def users(self) -> list[Any]:
        return self.db.execute("SELECT name, role, created_at FROM users ORDER BY name").fetchall()

    def audit(self, user_name: str, action: str, detail: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO audit (at, user_name, action, detail) VALUES (?, ?, ?, ?)", (now_iso(), user_name, action, detail[:2000]))

    def audit_trail(self, limit: int = 200) -> list[Any]:
        return self.db.execute(f"SELECT * FROM audit ORDER BY id DESC LIMIT {int(limit)}").fetchall()
