"""The unit registry: who reports, and which rows their 附表5/7 carry.

The registry is editable data (``schemas/registry/henan.json``, copied into a
workspace by ``qtables init``).  Its root is the collecting level: the province
by default; a city's workspace has the city as root and its counties as units,
so the same code runs one level down.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from qtables.errors import SpecError, UsageError, WorkspaceError
from qtables.spec.build import pointer
from qtables.spec.memo import per_object
from qtables.spec.loader import cache_dir, default_spec_dir

KIND_TEXT = {"province": "省", "city": "省辖市", "direct_county": "省直管县（市）", "county": "县（市、区）", "zone": "功能区"}


@dataclass(frozen=True)
class RowKey:
    """One row of a unit's 附表5/7: a county, or the unit's own 本级 row."""

    code: str
    label: str


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    own_row: str | None = None
    children: tuple["Unit", ...] = field(default=(), repr=False)
    former_names: tuple[str, ...] = ()

    @property
    def kind_text(self) -> str:
        return KIND_TEXT[self.kind]

    def rows(self) -> list[RowKey]:
        """The rows this unit fills in 附表5/7: its 本级 row and its children, or itself."""
        if not self.children:
            return [RowKey(self.code, self.name)]
        rows = [RowKey(self.code, self.own_row)] if self.own_row else []
        return rows + [RowKey(c.code, c.name) for c in self.children]


@dataclass(frozen=True)
class Registry:
    root: Unit
    units: tuple[Unit, ...]
    source: str  # the file it was read from
    vintage: str = ""  # which state of the administrative divisions it describes
    origin: str = ""  # where its codes come from

    def with_zones(self, zones: list[dict]) -> "Registry":
        """The registry with functional zones (航空港区、高新区、经开区 …) added as rows of their city.

        A zone is not an administrative division, so it is not in the bundled registry; a workspace adds
        it (config ``[[zones]]``: city, code, name) and it reports as a row of its city's 附表5/7 — and
        as a reporting unit in that city's own workspace — instead of falling into 市本级."""
        if not zones:
            return self
        known = {u.code for u in self.units} | {c.code for u in self.units for c in u.children} | {self.root.code}
        added: dict[str, list[Unit]] = {}
        for i, zone in enumerate(zones):
            where = f"[[zones]] 第 {i + 1} 项"
            city, code, name = str(zone.get("city", "")), str(zone.get("code", "")), str(zone.get("name", "")).strip()
            if not name or not (code.isdigit() and len(code) in (6, 8)):
                raise WorkspaceError(f"{where}：功能区须有名称和6位或8位数字代码（code）", code="W005")
            if city not in {u.code for u in self.units if u.children}:
                raise WorkspaceError(f"{where}：所在市 city = “{city}” 不是名录中有下级的省辖市", code="W005")
            if code in known:
                raise WorkspaceError(f"{where}：代码 {code} 与名录中已有的单位重复", code="W005")
            known.add(code)
            added.setdefault(city, []).append(Unit(code, name, "zone"))
        units = tuple(dataclasses.replace(u, children=u.children + tuple(added.get(u.code, ()))) for u in self.units)
        return dataclasses.replace(self, units=units)

    def area_names(self) -> dict[str, str]:
        """Every code the registry knows — a unit's, or a row's of it (市本级, a 县（区）) — and how to name it."""
        return _area_names(self)

    def unit(self, code: str) -> Unit:
        for u in self.units:
            if u.code == code:
                return u
        known = "、".join(f"{u.code}（{u.name}）" for u in self.units[:5])
        raise UsageError(
            f"单位代码 {code} 不在单位名录中",
            code="U003",
            hint=f"请使用名录中的6位行政区划代码，例如 {known} 等；完整名录见 {self.source}",
        )

    def for_city(self, code: str) -> "Registry":
        """The registry one level down: a city's workspace collecting from its counties."""
        city = self.unit(code)
        if not city.children:
            raise UsageError(f"{city.name} 没有下级单位，不能作为市级工作区", code="U004")
        units = tuple(Unit(c.code, c.name, "zone" if c.kind == "zone" else "county") for c in city.children)
        return Registry(root=city, units=units, source=self.source, vintage=self.vintage, origin=self.origin)


def _unit(data: dict) -> Unit:
    return Unit(
        code=data["code"],
        name=data["name"],
        kind=data["kind"],
        own_row=data.get("own_row"),
        children=tuple(_unit(c) for c in data.get("children", [])),
        former_names=tuple(data.get("former_names", ())),
    )


def _valid_marker(file: Path, schema_text: bytes) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        digest = hashlib.sha256(schema_text + b"\0" + file.read_bytes()).hexdigest()[:32]
    except OSError:
        return None
    return folder / f"registry-{digest}.valid"


def _validated_before(file: Path, schema_text: bytes) -> bool:
    """Whether this exact registry file passed the schema before (the check costs a jsonschema import)."""
    marker = _valid_marker(file, schema_text)
    return marker is not None and marker.is_file()


def _remember_valid(file: Path, schema_text: bytes) -> None:
    marker = _valid_marker(file, schema_text)
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_bytes(b"")
        except OSError:
            pass


def load_registry(path: str | Path | None = None) -> Registry:
    """Load and validate a registry file (default: the bundled Henan registry)."""
    reg_dir = default_spec_dir() / "registry"
    file = Path(path) if path is not None else reg_dir / "henan.json"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError("单位名录文件不存在", file=str(file), code="S003") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"单位名录无法读取：{exc}", file=str(file), code="S004") from None
    schema_text = (reg_dir / "registry.schema.json").read_bytes()
    if not _validated_before(file, schema_text):
        import jsonschema  # only for a registry not validated before

        errors = list(jsonschema.Draft202012Validator(json.loads(schema_text)).iter_errors(data))
        if errors:
            err = jsonschema.exceptions.best_match(errors)
            raise SpecError(f"单位名录不符合格式：{err.message[:200]}", file=str(file), pointer=pointer(err.absolute_path), code="S005")
        _remember_valid(file, schema_text)
    units = tuple(_unit(u) for u in data["units"])
    seen: dict[str, str] = {}
    for i, u in enumerate(units):
        for code in [u.code] + [c.code for c in u.children]:
            if code in seen:
                raise SpecError(f"行政区划代码 {code} 重复", file=str(file), pointer=f"/units/{i}", code="S007")
            seen[code] = u.name
    return Registry(root=_unit(data["root"]), units=units, source=str(file), vintage=data.get("vintage", ""),
                    origin=data.get("source", ""))


@per_object
def _area_names(registry: Registry) -> dict[str, str]:
    out: dict[str, str] = {}
    for u in registry.units:
        for row in u.rows():
            out.setdefault(row.code, u.name if row.code == u.code or row.label == u.name else f"{u.name}{row.label}")
        out[u.code] = u.name
    return out

