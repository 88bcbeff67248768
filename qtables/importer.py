"""``qtables import-master``: load a previous period's master so the 接转 check works from day one.

Accepted formats:

* qtables' own master workbook: the 附表5明细 / 附表7明细 sheet gives every
  county row of every unit (so the row-by-row 接转 rules apply everywhere);
* a workbook in the official 附表5 / 附表7 layout of seed 003 (a header row
  with 上季度接转工程 / 上年度接转工程, then one row per 市、县（市）, the 21
  value columns in the printed order): unit totals, so units without county
  rows (省直管县（市）, 济源) get the row-level check and the others are simply
  not checked row by row.

Imported figures are recorded in the ledger as accepted submissions of the
period, marked ``导入：<file>``; the original file is archived like any other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from qtables import normalize
from qtables.errors import UsageError
from qtables.period import Period
from qtables.read import ReadProblem, read_workbook
from qtables.spec import Spec
from qtables.store import ArrivalKey, Ledger, now_iso
from qtables.workspace import Workspace

_HEADERS = ("上季度接转工程", "上年度接转工程")


def _fold(value: Any) -> str:
    return (normalize.clean_text(value) or "").replace(" ", "").replace("\n", "")


def import_master(ws: Workspace, spec: Spec, path: str | Path, period: Period) -> dict[str, int]:
    path = Path(path)
    try:
        book = read_workbook(path)
    except ReadProblem as problem:
        raise UsageError(f"{path} 无法读取（{problem.code}）", code="U014") from None
    table = spec.table("t7" if period.kind == "year" else "t5")
    value_cols = [c for c in table.columns if c.type != "key"]
    by_name = {u.name: u for u in ws.registry.units}
    detail = f"{table.name}明细"
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    if book.has_sheet(detail):
        grid = book.sheet(detail).rows
        for line in grid[4:]:
            if len(line) < 3 + len(value_cols) or _fold(line[-1] if line else "") != "明细":
                continue
            unit = by_name.get(_fold(line[0]))
            if unit is None:
                continue
            label = _fold(line[2])
            key = next((r.code for r in unit.rows() if _fold(r.label) == label), None)
            if key:
                rows.setdefault(unit.code, {})[key] = _values(value_cols, line[3:3 + len(value_cols)])
    else:
        found = _official(book, value_cols, by_name)
        if not found:
            raise UsageError(f"{path} 既不是 qtables 汇总表，也找不到{table.name}的表头（{'/'.join(_HEADERS)}）", code="U015",
                             hint=f"请提供 qtables 生成的汇总表，或按制度{table.name}格式排列的工作簿。")
        for code, values in found.items():
            unit = next(u for u in ws.registry.units if u.code == code)
            key = unit.code if not unit.children else "_total"
            rows[code] = {key: values}
    if not rows:
        raise UsageError(f"{path} 中没有找到与单位名录对应的行", code="U015")
    data = path.read_bytes()
    ledger = Ledger(ws.path)
    try:
        file_sha = hashlib.sha256(data).hexdigest()
        ledger.store_original(file_sha, data)
        for code, unit_rows in rows.items():
            sha = hashlib.sha256(f"{file_sha}:{code}:{period.code}".encode()).hexdigest()
            cells = [(table.id, key, cid, v) for key, values in unit_rows.items() for cid, v in values.items() if v is not None]
            arrival = {"arrival_key": ArrivalKey(f"import:{path.resolve()}:{code}", file_sha).text(), "sha256": file_sha,
                       "filename": f"导入：{path.name}", "size": len(data), "kind": "workbook", "source": str(path),
                       "message_id": None, "sender": None, "subject": None, "received_at": now_iso(), "unit_code": code,
                       "period": period.code, "note": "由 import-master 导入", "status": "accepted"}
            submission = {"sha256": sha, "unit_code": code, "period": period.code, "tables": table.id, "template_id": None,
                          "status": "accepted", "received_at": arrival["received_at"], "sender": None, "filename": arrival["filename"]}
            submission_id, _ = ledger.record(arrival=arrival, submission=submission, findings=[], cells=cells)
            if submission_id is not None:
                ledger.set_outputs(submission_id, receipt_path="", reply_path="")
    finally:
        ledger.close()
    return {code: len(unit_rows) for code, unit_rows in rows.items()}


def _values(cols, raw: list[Any]) -> dict[str, Any]:
    out = {}
    for col, value in zip(cols, raw):
        v = normalize.cell(value, col)
        out[col.id] = v.value if v.problem is None else None
    return out


def _official(book, value_cols, by_name) -> dict[str, dict[str, Any]]:
    """Rows of the official layout: find the header, then unit names with the 21 values after them."""
    for name in book.sheet_names:
        grid = book.sheet(name).rows
        for r, line in enumerate(grid[:30]):
            cols = [c for c, v in enumerate(line) if _fold(v) in _HEADERS]
            if not cols:
                continue
            first_value = cols[0]
            found = {}
            for data_line in grid[r + 1:]:
                if len(data_line) <= first_value:
                    continue
                label = next((_fold(v) for v in data_line[:first_value] if _fold(v) in by_name), None)
                if label:
                    found[by_name[label].code] = _values(value_cols, list(data_line[first_value:first_value + len(value_cols)]))
            if found:
                return found
    return {}
