"""The report's charts as PNG images (matplotlib, optional: ``pip install "qtables[report]"``).

Chinese labels need a CJK font: one is looked for among the fonts matplotlib knows (Noto Sans/Serif CJK, WenQuanYi,
Source Han, SimHei, Microsoft YaHei, SimSun …).  Without matplotlib or such a font the report is still written, its
tables complete, and each chart's place says why it is missing (R02) — never a chart of empty squares."""

from __future__ import annotations

import io
from typing import Any

CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Noto Sans CJK JP", "Noto Serif CJK JP", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Source Han Sans SC", "Source Han Sans CN", "SimHei", "Microsoft YaHei", "SimSun",
             "Droid Sans Fallback", "AR PL UMing CN")


def cjk_font() -> tuple[str | None, str]:
    """(font family, "") or (None, why not)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import font_manager
    except ImportError:
        return None, "未安装 matplotlib（pip install \"qtables[report]\"）"
    known = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in known:
            return name, ""
    any_cjk = sorted(n for n in known if "CJK" in n or "Hei" in n or "Song" in n)
    if any_cjk:
        return any_cjk[0], ""
    return None, "系统中没有中文字体（Debian：apt install fonts-noto-cjk；Windows 自带黑体/宋体）"


def units_chart(names: list[str], series: dict[str, list[float]], font: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = font
    plt.rcParams["axes.unicode_minus"] = False
    fig, ax = plt.subplots(figsize=(7.2, 3.6), dpi=150)
    width = 0.8 / max(1, len(series))
    for i, (label, values) in enumerate(series.items()):
        ax.bar([x + i * width for x in range(len(names))], values, width=width, label=label)
    ax.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(names))])
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("项数")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def charts(facts: Any) -> tuple[dict[str, bytes | None], str]:
    """The report's charts by name, and why they are missing ("" when drawn)."""
    font, why = cjk_font()
    if font is None:
        return {"units": None}, why
    rows = sorted(facts.now.rows.items(), key=lambda kv: -(kv[1].get("ucon_count") or 0))
    names = [facts.now.units[c].name for c, _r in rows]
    return {"units": units_chart(names, {"在建": [r.get("ucon_count") or 0 for _c, r in rows],
                                         "竣工": [r.get("done_count") or 0 for _c, r in rows]}, font)}, ""
