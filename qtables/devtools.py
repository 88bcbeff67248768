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


def findings_page() -> str:
    """docs/findings.md: every finding code, from the catalogue and the spec."""
    from qtables.findings import CATALOGUE, SEVERITY_TEXT
    from qtables.spec import load_spec

    spec = load_spec()
    lines = [
        "# 审核问题代码一览（自动生成，请勿手改）",
        "",
        "由 `python -m qtables.devtools findings` 根据 `qtables/findings.py` 与规格 `schemas/` 生成。",
        "类别：无法审核（退出码 2）、强制性（退回，退出码 1）、核实性（写明说明后可接受）、提示。",
        "",
        "## 文件、标识、结构、数值",
        "",
        "| 代码 | 类别 | 名称 | 说明 | 处理办法 |",
        "|---|---|---|---|---|",
    ]
    for t in CATALOGUE.values():
        lines.append(f"| {t.code} | {SEVERITY_TEXT[t.severity]} | {t.title} | {t.template} | {t.fix} |")
    lines += ["", f"## 审核规则（规格版本 {spec.version}）", "", "| 代码 | 类别 | 表 | 审核内容 | 表达式 |", "|---|---|---|---|---|"]
    seen = set()
    for table in spec.tables.values():
        for rule in table.rules + [r for r in spec.workbook_rules if r.table == table.id]:
            key = (rule.code, table.id, rule.message)
            if key in seen:
                continue
            seen.add(key)
            text = rule.assertion_text.replace("|", "\\|")
            when = f"（当 `{rule.when_text}`）" if rule.when_text else ""
            lines.append(f"| {rule.code} | {SEVERITY_TEXT[rule.severity]} | {table.name} | {rule.message} | `{text}`{when} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    if argv[:1] == ["templates"]:
        target = Path(argv[1]) if len(argv) > 1 else root / "templates_xlsx"
        for old in target.glob("*.xlsx"):
            old.unlink()
        paths = build_templates(target)
        print(f"wrote {len(paths)} templates to {target}")
        return 0
    if argv[:1] == ["findings"]:
        target = root / "docs" / "findings.md"
        target.parent.mkdir(exist_ok=True)
        target.write_text(findings_page(), encoding="utf-8")
        print(f"wrote {target}")
        return 0
    print("usage: python -m qtables.devtools templates [DIR] | findings", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
