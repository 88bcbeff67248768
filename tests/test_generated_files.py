"""Committed generated files are in sync with the spec, and an installed wheel works on its own."""

from __future__ import annotations

import subprocess
import sysconfig
import sys
import zipfile
from pathlib import Path


from qtables.devtools.generate import build_templates

ROOT = Path(__file__).resolve().parent.parent
# Parts that legitimately vary between two runs of the same generator.
VOLATILE_PARTS = {"docProps/core.xml"}


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist() if name not in VOLATILE_PARTS}


def test_templates_xlsx_are_in_sync_with_the_spec(tmp_path):
    committed = sorted((ROOT / "templates_xlsx").glob("*.xlsx"))
    fresh = sorted(build_templates(tmp_path))
    assert [p.name for p in committed] == [p.name for p in fresh], "run: python -m qtables.devtools templates"
    for old, new in zip(committed, fresh):
        a, b = _parts(old), _parts(new)
        assert sorted(a) == sorted(b), old.name
        stale = [name for name in a if a[name] != b[name]]
        assert stale == [], f"{old.name}: parts {stale} differ; run: python -m qtables.devtools templates"


def test_an_installed_wheel_finds_its_spec(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)],
                   check=True, capture_output=True)
    [wheel] = list(wheel_dir.glob("qtables-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert "qtables/schemas/spec.json" in names and "qtables/schemas/tables/t5.json" in names
    assert "qtables/schemas/registry/henan.json" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # The dependencies come from the environment running the suite (a venv or not), as plain path entries:
    # its .pth files (the editable install of this checkout) are not processed, so qtables comes from the wheel.
    inner = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(inner) / "outer-dependencies.pth").write_text("\n".join(sorted(outer)) + "\n", encoding="utf-8")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--force-reinstall", str(wheel)], check=True, capture_output=True)
    # Run from outside the checkout, so nothing can come from the source tree.
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = (
        "import qtables.spec.loader as l, sys; d = l.default_spec_dir(); "
        "assert 'site-packages' in str(d), d; print(d)"
    )
    shown = subprocess.run([str(py), "-c", code], cwd=work, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    exe = venv / "bin" / "qtables"
    subprocess.run([str(exe), "init", "ws"], cwd=work, check=True, capture_output=True)
    run = subprocess.run([str(exe), "issue", "--workspace", "ws", "--period", "2025", "--out", "out", "--unit", "410181"],
                         cwd=work, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (work / "out" / "2025_410181_巩义市_附表.xlsx").exists()


def test_findings_reference_page_is_current():
    from qtables.devtools.generate import findings_page

    page = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert page == findings_page(), "run: python -m qtables.devtools findings"
    for code in ("F01", "I01", "S05", "N01", "D01", "C01", "T5-05", "X-01", "V06"):
        assert f"| {code} |" in page


def test_samples_are_reproducible_by_their_command(tmp_path):
    from qtables.devtools.generate import build_samples

    committed = sorted((ROOT / "samples").glob("*/*.eml"))
    fresh = sorted(build_samples(tmp_path))
    assert [p.relative_to(ROOT / "samples") for p in committed] == [p.relative_to(tmp_path) for p in fresh]
    stale = [p.name for p, q in zip(committed, fresh) if p.read_bytes() != q.read_bytes()]
    assert stale == [], "run: python -m qtables.devtools samples"


def test_spec_reference_page_is_current():
    """docs/spec.md: every table's columns with units, every rule, every deviation from the 办法 with its reason."""
    from qtables.devtools.specpage import spec_page
    from qtables.spec import load_spec

    spec = load_spec()
    page = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    assert page == spec_page(spec), "run: python -m qtables.devtools spec"
    for table in spec.tables.values():
        assert f"### {table.name}" in page
    assert all(d["why"] in page for d in spec.deviations) and len(spec.deviations) >= 8
    assert "| 本年度备案工程 / 面积（万㎡） | 数值 | 万㎡ |" in page
