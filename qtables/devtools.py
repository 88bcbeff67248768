"""Maintenance commands for generated files that are committed to the repository.

``python -m qtables.devtools templates`` rewrites ``templates_xlsx/``: the blank
2025Q3 templates of all 28 units, signed with the published sample key below.
A test regenerates them and compares part by part, so they never drift from
the spec.  The sample key signs only these examples; a real workspace makes its
own key at ``qtables init``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from qtables.issue.run import issue_templates
from qtables.period import Period
from qtables.workspace import init_workspace

SAMPLE_KEY = "73616d706c652d6b65792d6f6e6c792d666f722d717461626c65732d64656d6f"  # "sample-key-only-for-qtables-demo"
SAMPLE_PERIOD = "2025Q3"
SAMPLE_PASSWORD = "qtables-sample"


def sample_workspace(path: Path):
    ws = init_workspace(path, signing_key=SAMPLE_KEY)
    ws.config["template"]["protection_password"] = SAMPLE_PASSWORD
    return ws


def build_templates(out_dir: Path) -> list[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = sample_workspace(Path(tmp) / "ws")
        issued = issue_templates(ws, period=Period.parse(SAMPLE_PERIOD), out_dir=out_dir)
    return [i.path for i in issued]


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    if argv[:1] == ["templates"]:
        target = Path(argv[1]) if len(argv) > 1 else root / "templates_xlsx"
        for old in target.glob("*.xlsx"):
            old.unlink()
        paths = build_templates(target)
        print(f"wrote {len(paths)} templates to {target}")
        return 0
    print("usage: python -m qtables.devtools templates [DIR]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
