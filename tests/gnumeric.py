"""Gnumeric (ssconvert --recalc) as the second real spreadsheet engine in tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SSCONVERT = shutil.which("ssconvert")


class RecalcError(AssertionError):
    pass


def recalc(files: list[Path], out_dir: Path, fmt: str = "xlsx", *, timeout: int = 300) -> list[Path]:
    """Open each file in Gnumeric, recalculate every formula, save it as ``fmt`` (xlsx, xls or ods)."""
    if SSCONVERT is None:
        raise RecalcError("Gnumeric (ssconvert) is not installed; the test command installs it")
    exporter = {"xlsx": "Gnumeric_Excel:xlsx2", "xls": "Gnumeric_Excel:excel_biff8", "ods": "Gnumeric_OpenCalc:openoffice"}[fmt]
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(out_dir))  # Gnumeric writes its settings under HOME
    out = []
    for path in files:
        target = out_dir / f"{path.stem}.{fmt}"
        result = subprocess.run([SSCONVERT, "--recalc", f"--export-type={exporter}", str(path), str(target)],
                                capture_output=True, text=True, timeout=timeout, env=env)
        if result.returncode != 0 or not target.exists():
            raise RecalcError(f"ssconvert failed on {path.name}: {result.stderr[-500:]}")
        out.append(target)
    return out
