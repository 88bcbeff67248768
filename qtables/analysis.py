"""The analysts' face of qtables: the ledger as pandas DataFrames.

    import qtables
    ws = qtables.open_workspace("工作区")
    df = ws.frame("t5", "2025Q3")                 # one row per unit: its 合计 (ratios from the sums)
    df = ws.frame("t5", "2025Q3", level="county") # every county row
    df = ws.frame("t3", "2025Q3", level="detail") # every project row of 附表3
    trend = ws.series("t5", "ucon_count", ["2025Q2", "2025Q3"])
    rates = ws.rates("2025Q3", by="city")         # 质量备案率 / 用户满意率 recomputed at any grouping

Figures are those of each unit's current accepted submission (``current=False``: every version), through
the same functions the master workbook uses (``qtables.merge.figures``), so the two cannot disagree.
Columns are the spec's column ids; ``df.attrs["columns"]`` gives each one's printed header and unit.
Only this module imports pandas, and only when it is used: checking and intake never load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from qtables.errors import UsageError
from qtables.figures import TOTAL_KEY
from qtables.ledger.queries import decode
from qtables.ledger.store import Ledger
from qtables.ledger.workspace import Workspace
from qtables.ledger.workspace import open_workspace as _open
from qtables.merge.figures import derive_row, total_row, unit_row
from qtables.period import Period
from qtables.spec import Spec, load_spec
from qtables.spec.model import Column, Table
from qtables.spec.registry import Unit

LEVELS = ("unit", "county", "detail")
GROUPINGS = ("unit", "city", "kind", "province")


def _dtype(col: Column) -> str:
    if col.type == "integer":
        return "Int64"
    if col.type in ("decimal", "percent"):
        return "float64"
    if col.type == "date":
        return "datetime64[ns]"
    return "string"


def _typed(df: pd.DataFrame, table: Table, columns: list[Column]) -> pd.DataFrame:
    for col in columns:
        if col.id not in df:
            df[col.id] = None
        if col.type == "date":
            df[col.id] = pd.to_datetime(df[col.id].map(_date), errors="coerce")
        elif col.type == "integer":
            df[col.id] = pd.to_numeric(df[col.id], errors="coerce").round().astype("Int64")
        elif col.type in ("decimal", "percent"):
            df[col.id] = pd.to_numeric(df[col.id], errors="coerce").astype("float64")
        else:
            df[col.id] = df[col.id].astype("string")
    return df


def _date(value: Any) -> Any:
    """Dates are kept in the ledger as Excel serials; 1899-12-30 is day 0."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(value)) if value == value else pd.NaT
    return value


@dataclass
class AnalysisWorkspace:
    workspace: Workspace
    spec: Spec

    # -- helpers ---------------------------------------------------------
    def _ledger(self) -> Ledger:
        return self.workspace.open_ledger()

    def _period(self, period: str | Period) -> Period:
        return period if isinstance(period, Period) else Period.parse(period)

    def _table(self, table: str) -> Table:
        if table not in self.spec.tables:
            known = "、".join(f"{t.id}（{t.name}）" for t in self.spec.tables.values())
            raise UsageError(f"没有表 {table}", code="U030", hint=f"可用的表：{known}")
        return self.spec.table(table)

    def _submissions(self, ledger: Ledger, period: Period, table: Table, current: bool) -> list[Any]:
        # Current: each unit's current accepted version.  Otherwise every version received, whatever its verdict.
        sql = ("SELECT * FROM submissions WHERE period = ?"
               + (" AND is_current = 1 AND status IN ('accepted', 'accepted_with_warnings')" if current else "")
               + " ORDER BY unit_code, version")
        rows = [r for r in ledger.db.execute(sql, (period.code,)) if table.id in r["tables"].split(",")]
        if not rows:
            raise UsageError(f"{period.label}没有通过审核的{table.name}数据", code="U031",
                             hint="请先用 qtables intake 收取报表，或用 qtables import-master 导入。")
        return rows

    def _cells(self, ledger: Ledger, submission_id: int, table_id: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for c in ledger.db.execute("SELECT row_key, column_id, value FROM cells WHERE submission_id = ? AND table_id = ?",
                                   (submission_id, table_id)):
            out.setdefault(c["row_key"], {})[c["column_id"]] = decode(c["value"])
        return out

    def _unit(self, code: str) -> Unit:
        return self.workspace.registry.unit(code)

    # -- frames ------------------------------------------------------------
    def frame(self, table: str, period: str | Period, *, level: str = "unit", current: bool = True) -> pd.DataFrame:
        """Accepted figures of a period: one row per unit (``level="unit"``), county row (``"county"``) or
        project/record row of 附表1–4 (``"detail"``).  Indexed by unit code and name (and row).  ``current=False``
        gives every version received (with ``version`` in the index and each version's ``status``)."""
        if level not in LEVELS:
            raise UsageError(f"level 应为 {'、'.join(LEVELS)} 之一，而不是 {level}", code="U032")
        t, p = self._table(table), self._period(period)
        if level == "detail" and t.kind != "records":
            raise UsageError(f"{t.name}不是明细表，level=\"detail\" 只用于附表1–4", code="U032")
        ledger = self._ledger()
        try:
            records = []
            for sub in self._submissions(ledger, p, t, current):
                unit = self._unit(sub["unit_code"])
                rows = self._cells(ledger, sub["id"], t.id)
                base = {"unit_code": unit.code, "unit_name": unit.name, "version": sub["version"], "status": sub["status"]}
                if level == "unit":
                    row = unit_row(t, {t.id: rows}) if t.kind == "keyed" else total_row(t, list(rows.values()))
                    if row is not None:
                        records.append(base | row)
                elif level == "county":
                    labels = {rk.code: rk.label for rk in unit.rows()}
                    for key, values in rows.items():
                        if key != TOTAL_KEY:
                            records.append(base | {"row_key": key, "row_label": labels.get(key, key)} | derive_row(t, dict(values)))
                else:
                    for key, values in sorted(rows.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
                        if key != TOTAL_KEY:
                            records.append(base | {"row_key": key} | values)
        finally:
            ledger.close()
        columns = [c for c in t.columns if c.type != "key" or c.role != "seq"]
        columns = [c for c in columns if c.role != "label"] if level != "detail" else [c for c in columns if c.role != "seq"]
        df = pd.DataFrame.from_records(records)
        index = ["unit_code", "unit_name"] + (["row_key", "row_label"] if level == "county" else ["row_key"] if level == "detail" else [])
        if not current:
            index.append("version")
        df = _typed(df, t, [c for c in columns if c.id not in index])
        keep = index + [c.id for c in columns if c.id not in index] + ([] if current else ["status"])
        df = df[[c for c in keep if c in df.columns]].set_index(index)
        df.attrs.update(table=t.id, period=p.code, level=level,
                        columns={c.id: {"header": c.label, "unit": c.unit or ""} for c in columns if c.id in df.columns})
        return df

    def series(self, table: str, column: str, periods: Iterable[str | Period]) -> pd.DataFrame:
        """One column across periods: units × periods (the unit's 合计 figure)."""
        t = self._table(table)
        if not t.has_column(column):
            raise UsageError(f"{t.name}没有列 {column}", code="U033")
        out = {}
        for period in periods:
            p = self._period(period)
            out[p.code] = self.frame(table, p)[column]
        df = pd.DataFrame(out)
        df.attrs["columns"] = {column: {"header": t.column(column).label, "unit": t.column(column).unit or ""}}
        return df

    def rates(self, period: str | Period, *, by: str = "unit") -> pd.DataFrame:
        """质量备案率 and 用户满意率 recomputed from numerators and denominators at a grouping:
        ``unit``, ``city`` (each 省辖市 with its counties; 省直管县 on their own), ``kind`` or ``province``."""
        if by not in GROUPINGS:
            raise UsageError(f"by 应为 {'、'.join(GROUPINGS)} 之一", code="U032")
        p = self._period(period)
        table = self.spec.table("t7" if p.kind == "year" else "t5")
        df = self.frame(table.id, p).reset_index()
        kinds = {u.code: u.kind_text for u in self.workspace.registry.units}
        if by in ("unit", "city"):  # a province's reporting units are its cities and 省直管县 already
            df["group"] = df["unit_name"]
        elif by == "kind":
            df["group"] = df["unit_code"].map(kinds)
        else:
            df["group"] = self.workspace.registry.root.name
        rows = []
        for group, part in df.groupby("group", sort=False):
            raw = [{c: (None if pd.isna(v) else v) for c, v in r.items()} for r in part.to_dict("records")]
            total = total_row(table, raw)
            rows.append({"group": group, "done_count": total.get("done_count"), "filed_count": total.get("filed_count"),
                         "done_area": total.get("done_area"), "filed_area": total.get("filed_area"),
                         "filing_rate_count": total.get("filing_rate_count"), "filing_rate_area": total.get("filing_rate_area"),
                         "satisfaction_rate": total.get("satisfaction_rate")})
        out = pd.DataFrame(rows).set_index("group")
        return out.astype({c: "float64" for c in out.columns})

    # -- what status / 审核结果 / 数据来源 show ------------------------------------
    def findings(self, period: str | Period) -> pd.DataFrame:
        p = self._period(period)
        ledger = self._ledger()
        try:
            rows = ledger.db.execute(
                "SELECT s.unit_code, s.version, f.code, f.severity, f.tbl AS table_name, f.sheet, f.cell, f.message, f.note,"
                " f.explained FROM findings f JOIN submissions s ON s.id = f.submission_id"
                " WHERE s.period = ? AND s.is_current = 1 ORDER BY s.unit_code, f.seq", (p.code,)).fetchall()
        finally:
            ledger.close()
        df = pd.DataFrame([dict(r) for r in rows], columns=["unit_code", "version", "code", "severity", "table_name", "sheet",
                                                              "cell", "message", "note", "explained"])
        df["explained"] = df["explained"].astype(bool)
        return df

    def status(self, period: str | Period) -> pd.DataFrame:
        from qtables.status import period_status

        summary = period_status(self.workspace, self.spec, self._period(period))
        df = pd.DataFrame(summary["units"]).set_index("code")
        df.attrs.update({k: v for k, v in summary.items() if k not in ("units", "chase")})
        return df

    def quality_index(self, period: str | Period) -> pd.DataFrame:
        """质量指数 (第七条) per unit: index, rank, change vs the previous period and each component's 0–100 score —
        the figures of the master and the report (``merge.quality.period_scores``)."""
        from qtables.merge.quality import period_scores
        from qtables.status import timing

        p = self._period(period)
        ledger = self._ledger()
        try:
            with ledger.reading():
                ranked = period_scores(self.spec, self.workspace.config, ledger, self.workspace.registry, p,
                                       lambda q: timing(self.workspace, self.spec, q, ledger))
        finally:
            ledger.close()
        rows = [{"unit_code": s.code, "unit_name": s.name, "index": s.index, "rank": s.rank, "change": s.change,
                 **{f"score_{k}": v for k, v in s.parts.items()}, "missing": "、".join(s.missing)} for s in ranked]
        return pd.DataFrame(rows).set_index(["unit_code", "unit_name"])

    def sources(self, period: str | Period) -> pd.DataFrame:
        p = self._period(period)
        ledger = self._ledger()
        try:
            rows = ledger.db.execute(
                "SELECT a.unit_code, a.filename, a.sha256, a.sender, a.received_at, a.status, s.version, s.is_current"
                " FROM arrivals a LEFT JOIN submissions s ON s.id = a.submission_id WHERE a.period = ? ORDER BY a.id",
                (p.code,)).fetchall()
        finally:
            ledger.close()
        return pd.DataFrame([dict(r) for r in rows], columns=["unit_code", "filename", "sha256", "sender", "received_at", "status",
                                                              "version", "is_current"])


def open_workspace(path: str | Path | None = None, spec: Spec | None = None) -> AnalysisWorkspace:
    """A workspace for analysis (pandas DataFrames over its ledger)."""
    return AnalysisWorkspace(_open(path), spec or load_spec())


FORMATS = ("csv", "xlsx", "parquet")


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """The long form of a frame: one row per (index…, column) with the printed header and unit."""
    info = df.attrs.get("columns", {})
    long = df.reset_index().melt(id_vars=list(df.index.names), var_name="column", value_name="value")
    long["header"] = long["column"].map(lambda c: info.get(c, {}).get("header", c))
    long["unit"] = long["column"].map(lambda c: info.get(c, {}).get("unit", ""))
    return long


def export(ws: AnalysisWorkspace, period: str | Period, fmt: str, out_dir: str | Path, *, tables: list[str] | None = None) -> list[Path]:
    """Write each table's accepted figures of a period, wide and tidy: csv (UTF-8 with BOM, so Excel reads the
    Chinese), xlsx (one sheet per form) or parquet (needs pyarrow: ``pip install qtables[parquet]``)."""
    if fmt not in FORMATS:
        raise UsageError(f"格式应为 {'、'.join(FORMATS)} 之一", code="U032")
    if fmt == "parquet":
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise UsageError("导出 parquet 需要 pyarrow", code="U034", hint="pip install 'qtables[parquet]'")
    p = ws._period(period)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = tables or [t.id for t in ws.spec.tables.values() if t.kind in ("keyed", "categories", "records") and p.kind in t.periods]
    frames: dict[str, pd.DataFrame] = {}
    for tid in wanted:
        t = ws._table(tid)
        level = "detail" if t.kind == "records" else "county" if t.kind == "keyed" else "unit"
        try:
            frames[tid] = ws.frame(tid, p, level=level)
        except UsageError:
            if tables:
                raise
    if not frames:
        raise UsageError(f"{p.label}没有可导出的数据", code="U031")
    written: list[Path] = []
    if fmt == "xlsx":
        path = out / f"{p.code}_导出.xlsx"
        with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
            for tid, df in frames.items():
                name = ws.spec.table(tid).name
                df.reset_index().to_excel(writer, sheet_name=name, index=False)
                tidy(df).to_excel(writer, sheet_name=f"{name}（长表）", index=False)
        return [path]
    for tid, df in frames.items():
        name = ws.spec.table(tid).name
        for form, data in (("宽表", df.reset_index()), ("长表", tidy(df))):
            path = out / f"{p.code}_{name}_{form}.{fmt}"
            if fmt == "csv":
                data.to_csv(path, index=False, encoding="utf-8-sig")
            else:
                data.to_parquet(path, index=False)
            written.append(path)
    return written
