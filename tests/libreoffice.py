"""Drive a real LibreOffice (headless) as the other spreadsheet client in tests.

A throwaway profile sets OOXMLRecalcMode/ODFRecalcMode to 0 ("always
recalculate on load"), so formulas are evaluated by LibreOffice itself, not
taken from cached values.  ``soffice`` exits 0 even when a conversion fails,
so every conversion is checked by the output file it should have written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""

FILTERS = {
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "xls": "xls:MS Excel 97",
    "ods": "ods:calc8",
    "pdf": "pdf:calc_pdf_Export",
}


class ConversionError(AssertionError):
    pass


def make_profile(root: Path) -> Path:
    profile = root / "lo-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
    return profile


def convert(files: list[Path], out_dir: Path, fmt: str, profile: Path, *, timeout: int = 600,
            infilter: str | None = None) -> list[Path]:
    """Open every file in LibreOffice (recalculating) and save it as ``fmt`` in ``out_dir``."""
    if SOFFICE is None:
        raise ConversionError("LibreOffice (soffice) is not installed; the test command installs it")
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = [out_dir / (f.stem + "." + fmt) for f in files]
    for path in expected:
        if path.exists():
            path.unlink()
    env = dict(os.environ, SAL_USE_VCLPLUGIN="svp", HOME=str(profile))
    cmd = [
        SOFFICE,
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless", "--norestore", "--nolockcheck", "--nodefault",
        "--convert-to", FILTERS[fmt],
        "--outdir", str(out_dir),
        *([f"--infilter={infilter}"] if infilter else []),
        *[str(f) for f in files],
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    missing = [p for p in expected if not p.exists() or p.stat().st_size == 0]
    if missing:
        raise ConversionError(
            f"LibreOffice did not write {[p.name for p in missing]} (exit {proc.returncode}): {proc.stderr[-2000:]}"
        )
    return expected
