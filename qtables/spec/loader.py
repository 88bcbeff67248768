"""Load the declarative spec, validate it, and fail with the JSON pointer of a fault.

The spec is ``schemas/spec.json`` (version, table sets, choice lists,
cross-table rules) plus one ``schemas/tables/<id>.json`` per table.  Both are
validated by ``schemas/spec.schema.json``; then every expression is parsed and
every name it uses is resolved, so that a typo in a rule stops the load with
the file and pointer of the typo instead of surfacing as a wrong verdict later.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from qtables.errors import SpecError
from qtables.spec.model import (
    Choice,
    Spec,
    Table,
)

SCHEMA_FILE = "spec.schema.json"
INDEX_FILE = "spec.json"
from qtables.spec.build import build_rule, build_table, pointer
from qtables.spec.resolve import check_continuity, lint_scoring, resolve_all


def default_spec_dir() -> Path:
    """The spec shipped with qtables (works from a checkout and from a wheel)."""
    return Path(str(resources.files("qtables.schemas")))


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("文件不存在", file=str(path), code="S003") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"无法读取（{exc.__class__.__name__}）", file=str(path), code="S003") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"不是合法的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}", file=str(path), code="S004"
        ) from None


class _Validator:
    def __init__(self, schema: dict[str, Any]):
        self.schema = schema

    def check(self, data: Any, definition: str, file: str) -> None:
        import jsonschema  # only when validating: a cached spec needs none of it

        schema = {k: v for k, v in self.schema.items() if k != "anyOf"}
        schema["$ref"] = f"#/$defs/{definition}"
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(data), key=lambda e: (len(list(e.absolute_path)), str(e.absolute_path)))
        if errors:
            err = jsonschema.exceptions.best_match(errors) or errors[0]
            raise SpecError(_schema_message(err), file=file, pointer=pointer(err.absolute_path), code="S005")


def _schema_message(err: Any) -> str:
    """A jsonschema ValidationError in Chinese."""
    v = err.validator
    if v == "required":
        missing = [p for p in err.validator_value if isinstance(err.instance, dict) and p not in err.instance]
        return f"缺少必填项 {', '.join(missing)}"
    if v == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {}))) if isinstance(err.instance, dict) else []
        return f"含有不认识的项 {', '.join(extra)}"
    if v == "enum":
        return f"取值 {json.dumps(err.instance, ensure_ascii=False)} 不在允许的范围 {err.validator_value} 内"
    if v == "type":
        return f"类型应为 {err.validator_value}，实际为 {json.dumps(err.instance, ensure_ascii=False)[:60]}"
    if v == "pattern":
        return f"取值 {json.dumps(err.instance, ensure_ascii=False)} 不符合格式 {err.validator_value}"
    return f"不符合规格结构（{v}）：{err.message[:200]}"


def load_spec(spec_dir: str | Path | None = None) -> Spec:
    """Load and validate the whole spec. Raises SpecError naming file and JSON pointer."""
    root = Path(spec_dir) if spec_dir is not None else default_spec_dir()
    if spec_dir is None:
        return _load_default()
    return _load(root)


@lru_cache(maxsize=1)
def _load_default() -> Spec:
    return _load(default_spec_dir())


def cache_dir() -> Path | None:
    """Where a validated spec is kept between runs: $QTABLES_CACHE, else the user's cache folder
    (%LOCALAPPDATA%\\qtables on Windows, $XDG_CACHE_HOME/qtables or ~/.cache/qtables elsewhere).
    ``QTABLES_CACHE=off`` turns the cache off."""
    env = os.environ.get("QTABLES_CACHE")
    if env:
        return None if env.lower() in ("off", "0", "no") else Path(env)
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "qtables" / "cache"
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        return (Path(base) if base else Path.home() / ".cache") / "qtables"
    except (RuntimeError, KeyError):  # no home directory to be found: run without the cache
        return None


def _load(root: Path) -> Spec:
    """The spec under ``root``: from the cache when its files are byte-identical to a validated load."""
    key = _cache_key(root)
    folder = cache_dir()
    target = folder / f"spec-{key}.pickle" if folder is not None and key else None
    if target is not None and target.is_file():
        try:
            cached = pickle.loads(target.read_bytes())
            if isinstance(cached, Spec):
                return cached
        except Exception:  # noqa: BLE001 - a damaged or foreign cache file is ignored and rewritten
            pass
    spec = _validate_and_build(root)
    if target is not None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, target)
        except OSError:
            pass  # no writable cache: the next run validates again
    return spec


def _cache_key(root: Path) -> str | None:
    """A digest of every spec file, the schema and the qtables and Python versions (None: cannot read them)."""
    from qtables import __version__

    digest = hashlib.sha256(f"{__version__}|{sys.version}|{_CACHE_FORMAT}".encode())
    # The code that builds the Spec is part of the key too: a changed class never meets an old pickle.
    code = [Path(__file__).with_name(name) for name in ("model.py", "build.py", "resolve.py", "loader.py")]
    try:
        for path in code + sorted([root / SCHEMA_FILE, root / INDEX_FILE, *(root / "tables").glob("*.json")]):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()[:32]


_CACHE_FORMAT = 1  # bump when the Spec classes change shape


def _validate_and_build(root: Path) -> Spec:
    schema = _read_json(root / SCHEMA_FILE)
    validator = _Validator(schema)
    index_path = root / INDEX_FILE
    index = _read_json(index_path)
    validator.check(index, "index", str(index_path))
    digest = hashlib.sha256()
    digest.update(index_path.read_bytes())

    choices = {
        cid: Choice(cid, c["label"], tuple(c["values"])) for cid, c in index["choices"].items()
    }
    tables: dict[str, Table] = {}
    raw_tables: dict[str, tuple[str, dict[str, Any]]] = {}
    for i, tid in enumerate(index["tables"]):
        path = root / "tables" / f"{tid}.json"
        data = _read_json(path)
        validator.check(data, "table", str(path))
        digest.update(path.read_bytes())
        if data["id"] != tid:
            raise SpecError(f"表编号 {data['id']} 与文件名 {tid} 不一致", file=str(path), pointer="/id", code="S006")
        raw_tables[tid] = (str(path), data)
        tables[tid] = build_table(data, str(path), choices)

    for name, ids in index["sets"].items():
        for j, tid in enumerate(ids):
            if tid not in tables:
                raise SpecError(
                    f"表组 {name} 引用了不存在的表 {tid}", file=str(index_path), pointer=f"/sets/{name}/{j}", code="S006"
                )

    workbook_rules = [
        build_rule(r, str(index_path), f"/rules/{i}", r["table"]) for i, r in enumerate(index["rules"])
    ]
    spec = Spec(
        version=index["version"],
        title=index["title"],
        tables=tables,
        sets={k: tuple(v) for k, v in index["sets"].items()},
        choices=choices,
        workbook_rules=workbook_rules,
        warnings=[],
        raw_digest=digest.hexdigest(),
        continuity=index.get("continuity"),
        deadlines=index.get("deadlines", {}),
        materials=list(index.get("materials", [])),
        quality_index=index.get("quality_index"),
        deviations=list(index.get("deviations", [])),
        form=index.get("form", {}),
    )
    resolve_all(spec, raw_tables, str(index_path))
    check_continuity(spec, str(index_path))
    spec.warnings.extend(lint_scoring(spec))
    return spec


