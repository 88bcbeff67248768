"""Required materials beside the 附表: which are due for a period, and which of a unit's files is which.

The 办法 asks for a written report with the tables: 第五条 “按季度统计分析本地工程质量总体状况，并于每季度末
向上级主管部门上报工程质量分析报告”, 第十条 lists its content (附表1–6 and the 《工程质量运行态势分析报告》),
第十一条 the annual one “在每年12月20日前”.  The spec's ``materials`` name each material, the sets it is due
with, and how a received file is recognised: a text document (Word, WPS, OpenDocument) counts whatever its
name; a PDF counts when its name says what it is (a stamped scan of the 附表 is not the report).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from qtables.read.workbook import sniff
from qtables.period import Period
from qtables.spec.model import Spec

# What sniff() calls a file, for the kinds a material may list ("wps"/"odt" are recognised by their name).
_BY_EXTENSION = {".docx": "docx", ".doc": "doc", ".wps": "wps", ".odt": "odt", ".pdf": "pdf", ".rtf": "rtf"}


def due(spec: Spec, period: Period) -> list[dict[str, Any]]:
    """The materials due with the period's 附表."""
    return [m for m in spec.materials if period.kind in m.get("sets", [])]


def file_kind(name: str, data: bytes | None) -> str:
    """A received file's kind from its content, or from its name where the content does not say (WPS, ODT)."""
    kind = sniff(data) if data else "unknown"
    if kind in ("docx", "doc", "pdf"):
        return kind
    return _BY_EXTENSION.get(Path(name).suffix.lower(), kind)


def is_material(material: dict[str, Any], name: str, kind: str) -> bool:
    if kind in material.get("documents", []):
        return True
    return kind in material.get("named", []) and any(h in name for h in material.get("name_hints", []))


def received(spec: Spec, period: Period, files: Iterable[tuple[str, Path | bytes | None]]) -> dict[str, list[str]]:
    """Material name -> the files that are it (an empty list: not received)."""
    kinds = []
    for name, source in files:
        data = source.read_bytes() if isinstance(source, Path) and source.exists() else source if isinstance(source, bytes) else None
        kinds.append((name, file_kind(name, data)))
    return {m["name"]: [n for n, k in kinds if is_material(m, n, k)] for m in due(spec, period)}


def missing_text(spec: Spec, period: Period, got: dict[str, list[str]]) -> list[str]:
    """A line per material not received, with the article that requires it."""
    return [f"《{m['name']}》（{m['source']}：{m['quote']}）" for m in due(spec, period) if not got.get(m["name"])]
