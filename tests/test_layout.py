"""The package layout reads as the flow, and each room imports only what comes before it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "qtables"
BASE = {"errors", "fsutil", "period", "figures", "timing", "states"}

# room -> rooms it may import (besides itself and the base modules).  Order follows the flow.
ALLOWED = {
    "base": set(),
    "spec": set(),
    "read": {"spec"},
    "template": {"spec"},
    "ledger": {"spec"},
    "issue": {"spec", "template", "ledger"},
    "check": {"spec", "read", "template"},
    "receipt": {"spec", "read", "template", "check"},
    "intake": {"spec", "read", "template", "ledger", "check", "receipt", "issue"},  # issue: a template attached to an answer
    "status": {"spec", "read", "template", "ledger", "check"},
    "remind": {"spec", "read", "template", "ledger", "check", "receipt", "issue", "intake", "status"},
    "merge": {"spec", "read", "template", "ledger", "check", "intake", "status"},  # intake: import-master re-checks later filings
    "report": {"spec", "read", "template", "ledger", "check", "status", "merge"},
    "analysis": {"spec", "read", "template", "ledger", "check", "status", "merge", "report"},
    "devtools": {"spec", "read", "template", "ledger", "check", "receipt", "issue", "report"},
    "web": {"spec", "read", "template", "ledger", "check", "receipt", "issue", "intake", "status", "remind", "merge", "report",
            "analysis"},
    "cli": {"spec", "read", "template", "ledger", "check", "receipt", "issue", "intake", "status", "remind", "merge", "report", "analysis", "devtools", "web"},
    "api": {"spec", "read", "template", "ledger", "check", "receipt", "issue", "intake", "status", "merge", "analysis"},
}


def room_of(module: str) -> str:
    parts = module.split(".")
    if parts == ["qtables"]:
        return "api"
    name = parts[1]
    return "base" if name in BASE else name


def modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def qtables_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "qtables":
                found.update(f"qtables.{a.name}" for a in node.names if not a.name.startswith("__"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    # the lazy public API names its targets as strings
    if path == PKG / "__init__.py":
        found.update(re.findall(r'"(qtables\.[a-z_.]+)"', path.read_text(encoding="utf-8")))
    return found


def test_every_room_imports_only_earlier_stages():
    wrong = []
    for module, path in modules():
        if module.startswith("qtables.schemas"):
            continue
        room = room_of(module)
        for imp in qtables_imports(path):
            if not imp.startswith("qtables.") or imp.startswith("qtables.schemas"):
                continue
            target = room_of(imp)
            if target in (room, "base"):
                continue
            if target not in ALLOWED[room]:
                wrong.append(f"{module} imports {imp}")
    assert wrong == []


def test_only_cli_imports_click():
    users = sorted(m for m, p in modules() if any(i == "click" or i.startswith("click.") for i in qtables_imports(p)))
    assert users and all(m.startswith("qtables.cli") for m in users), users


def test_check_never_imports_the_writer_and_spec_imports_nothing_of_qtables():
    for module, path in modules():
        imps = {i for i in qtables_imports(path) if i.startswith("qtables.")}
        if module.startswith("qtables.check"):
            assert not any(i.startswith("qtables.issue") for i in imps), module
        if module.startswith("qtables.spec"):
            assert all(i.startswith("qtables.spec") or i == "qtables.errors" for i in imps), (module, imps)


def test_no_module_is_over_400_lines():
    long = {m: n for m, p in modules() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_every_package_says_what_it_owns():
    for init in PKG.rglob("__init__.py"):
        if "schemas" in init.parts:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, init


def test_readme_layout_lists_exactly_the_files_of_the_package():
    """Each line of the README's layout block names one file (under the folder above it)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```\nqtables/\n", 1)[1].split("```", 1)[0]
    listed, folder = set(), ""
    for line in block.splitlines():
        if not line.strip():
            continue
        name = line.split()[0]
        if not line.startswith("    "):
            folder = name if name.endswith("/") else ""
            if not name.endswith("/"):
                listed.add(name)
        else:
            listed.add(folder + name)
    actual = {p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py")}
    assert sorted(listed) == sorted(actual)


def test_single_commands_do_not_load_pandas_or_openpyxl():
    """Checking and intake stay fast: pandas (analysis only) and openpyxl (receipts only) load lazily."""
    import subprocess
    import sys

    code = ("import sys, qtables, qtables.cli, qtables.check.checker, qtables.intake.run, qtables.status\n"
            "print(sorted(m for m in ('pandas', 'openpyxl', 'numpy') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]", shown.stdout
