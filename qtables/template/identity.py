"""A template's identity and its HMAC signature.

Every issued workbook says what it is — tables, unit, period, spec version and
a template id — in two places that both openpyxl and LibreOffice keep on
re-save: custom document properties and a hidden sheet.  All values are stored
as text, because LibreOffice turns integer properties into doubles.  The
signature is an HMAC over those fields with a key from the workspace config, so
a template forged, or copied from another unit or period, is detectable.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

IDENTITY_SHEET = "_qtables"
PROPERTY_PREFIX = "qtables."
FIELDS = ("template_id", "unit_code", "unit_name", "period", "tables", "spec_version", "rows")


def format_rows(rows: dict[str, int]) -> str:
    """Detail-table capacities that differ from the spec's, e.g. "t3=650,t4=400" ("" when none do)."""
    return ",".join(f"{k}={v}" for k, v in sorted(rows.items()))


def parse_rows(text: str) -> dict[str, int]:
    out = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key.strip() and value.strip().isdigit():
            out[key.strip()] = int(value)
    return out


@dataclass(frozen=True)
class Identity:
    template_id: str
    unit_code: str
    unit_name: str
    period: str
    tables: tuple[str, ...]
    spec_version: str
    signature: str = ""
    rows: str = ""  # non-default detail-table capacities (format_rows); part of the signature when present

    @classmethod
    def create(cls, *, unit_code: str, unit_name: str, period: str, tables: list[str], spec_version: str, key: bytes,
               rows: str = "") -> "Identity":
        seed = f"{unit_code}|{period}|{','.join(tables)}|{spec_version}" + (f"|{rows}" if rows else "")
        tid = hashlib.sha256(seed.encode()).hexdigest()[:16]
        ident = cls(tid, unit_code, unit_name, period, tuple(tables), spec_version, rows=rows)
        return ident.signed(key)

    @property
    def capacities(self) -> dict[str, int]:
        return parse_rows(self.rows)

    def payload(self) -> bytes:
        fields = [self.template_id, self.unit_code, self.unit_name, self.period, ",".join(self.tables), self.spec_version]
        if self.rows:
            fields.append(self.rows)
        return "\n".join(fields).encode("utf-8")

    def signed(self, key: bytes) -> "Identity":
        sig = hmac.new(key, self.payload(), hashlib.sha256).hexdigest()
        return Identity(self.template_id, self.unit_code, self.unit_name, self.period, self.tables, self.spec_version, sig,
                        self.rows)

    def verify(self, key: bytes) -> bool:
        expected = hmac.new(key, self.payload(), hashlib.sha256).hexdigest().encode("ascii")
        # As bytes: compare_digest refuses str with non-ASCII characters (a signature cell edited into Chinese
        # raised TypeError — found by fuzzing), and a forged signature is just a wrong one.
        given = str(self.signature or "").encode("utf-8", "surrogatepass")
        return hmac.compare_digest(expected, given)

    def as_pairs(self) -> list[tuple[str, str]]:
        return [
            ("template_id", self.template_id),
            ("unit_code", self.unit_code),
            ("unit_name", self.unit_name),
            ("period", self.period),
            ("tables", ",".join(self.tables)),
            ("spec_version", self.spec_version),
            ("signature", self.signature),
        ] + ([("rows", self.rows)] if self.rows else [])

    @classmethod
    def from_pairs(cls, pairs: dict[str, str]) -> "Identity":
        def text(key: str) -> str:
            value = pairs.get(key, "")
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return "" if value is None else str(value).strip()

        return cls(
            template_id=text("template_id"),
            unit_code=text("unit_code"),
            unit_name=text("unit_name"),
            period=text("period"),
            tables=tuple(t for t in text("tables").split(",") if t),
            spec_version=text("spec_version"),
            signature=text("signature"),
            rows=text("rows"),
        )
