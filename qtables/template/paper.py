"""How a table goes onto paper (the issued template's and the master's): the paper, the print scale and where the
page breaks across fall.

Shrinking a wide table until it fits one page wide is what made the 附表5 print at 5–6 pt.  Instead, a sheet is
printed at a scale no smaller than ``MIN_SCALE`` (the 10 pt body type never below 7 pt): when its columns do not fit
one page wide at that scale, they are split over two (or more) pages wide at the boundaries the caller allows (the
header's column groups), with the row labels repeated on every page; a sheet too long for one page continues on the
next with its header rows repeated.  ``[print] paper = "A3"`` in qtables.toml prints on A3 (one page wide where it fits).

Widths are Excel's characters of the default font (Calibri 11), measured as the wider of Excel and LibreOffice draw them.
"""

from __future__ import annotations

from dataclasses import dataclass

from qtables.errors import WorkspaceError
from qtables.template.layout import TableLayout, lines_needed

MIN_SCALE = 70
MARGIN_LR = 0.4  # inches, left and right
MARGIN_TB = 0.5
FOOTER_LINE = 20  # points the page footer may take from the body (LibreOffice prints it inside the margins)
# xlsxwriter's paper index and the landscape page (width, height) in points.
PAPERS = {"A4": (9, 841.9, 595.3), "A3": (8, 1190.6, 841.9)}


def paper_of(config: dict) -> str:
    """The paper the province prints masters on: ``[print] paper`` in qtables.toml, A4 when not said."""
    paper = str(config.get("print", {}).get("paper", "A4")).strip().upper()
    if paper not in PAPERS:
        raise WorkspaceError(f"工作区配置 [print] paper 应为 A4 或 A3，现为“{paper}”", code="W003")
    return paper


def col_points(chars: float) -> float:
    """Printed width of a column ``chars`` wide.  Excel stores ``chars + 5/7`` and draws 7 px a character of
    Calibri 11; LibreOffice measures the same stored width with the font's real digit (Carlito: 7.4 px), so
    the wider of the two is planned for."""
    return (chars + 5 / 7) * 7.45 * 0.75


@dataclass(frozen=True)
class PagePlan:
    scale: int
    breaks: tuple[int, ...]  # columns a new page starts at (after the repeated label columns)
    pages_wide: int


def plan(widths: list[float], *, paper: str, lead: int, boundaries: set[int] | None = None,
         height: float | None = None) -> PagePlan:
    """The scale and vertical breaks that print ``widths`` (characters) on landscape ``paper``.

    ``lead`` label columns repeat on every page across; a break may fall only before a column in ``boundaries``
    (every column after the labels when None).  ``height`` (points, the whole sheet) lets a sheet that fits one
    page tall at a readable scale print on one page."""
    _index, page_w, page_h = PAPERS[paper]
    printable = page_w - 2 * MARGIN_LR * 72
    pts = [col_points(w) for w in widths]
    lead_w = sum(pts[:lead])
    allowed = sorted(c for c in (boundaries if boundaries is not None else range(lead + 1, len(widths))) if lead < c < len(widths))
    best: PagePlan | None = None
    for k in range(1, 5):
        parts = _split(pts, lead, allowed, k)
        if parts is None:
            break
        widest = max(lead_w + sum(pts[a:b]) for a, b in parts)
        scale = min(100, int(100 * printable / widest))
        best = PagePlan(max(scale, MIN_SCALE), tuple(a for a, _b in parts[1:]), k)
        if scale >= MIN_SCALE:
            break
    assert best is not None
    scale = best.scale
    if height is not None and scale > MIN_SCALE:
        # Shrunk to one page tall when that keeps the type readable; a sheet that will not fit one page tall even
        # at the smallest scale runs on to a second page at its width's scale, the larger type.
        printable_h = page_h - 2 * MARGIN_TB * 72 - FOOTER_LINE
        tall = int(100 * printable_h / height)
        if tall >= MIN_SCALE:
            scale = min(scale, tall)
    return PagePlan(scale, best.breaks, best.pages_wide)


def _split(pts: list[float], lead: int, allowed: list[int], k: int) -> list[tuple[int, int]] | None:
    """``k`` contiguous parts of the columns after ``lead``, cut only at ``allowed``, the widest as narrow as can be."""
    if k == 1:
        return [(lead, len(pts))]
    if len(allowed) < k - 1:
        return None
    from itertools import combinations

    best, best_w = None, float("inf")
    for cuts in combinations(allowed, k - 1):
        edges = [lead, *cuts, len(pts)]
        parts = list(zip(edges, edges[1:]))
        widest = max(sum(pts[a:b]) for a, b in parts)
        if widest < best_w:
            best, best_w = parts, widest
    return best


def apply(ws, page: PagePlan, *, paper: str, lead: int, header_rows: tuple[int, int], footer: str) -> None:
    """Put ``page`` on an xlsxwriter sheet: landscape ``paper``, the scale, the breaks, the repeated rows and labels."""
    ws.set_landscape()
    ws.set_paper(PAPERS[paper][0])
    ws.set_print_scale(page.scale)
    if page.breaks:
        ws.set_v_pagebreaks(list(page.breaks))
        if lead:
            ws.repeat_columns(0, lead - 1)
    ws.repeat_rows(*header_rows)
    ws.set_margins(left=MARGIN_LR, right=MARGIN_LR, top=MARGIN_TB, bottom=MARGIN_TB)
    ws.center_horizontally()
    ws.set_start_page(1)
    ws.set_footer(footer)


def group_starts(headers: list[str | tuple[str, ...]]) -> set[int]:
    """Columns where a header group starts: where a page across may break without cutting a group in two."""
    levels = [h if isinstance(h, tuple) else (h,) for h in headers]
    return {c for c in range(1, len(levels)) if levels[c][0] != levels[c - 1][0] or len(levels[c]) == 1}


def keep_together(groups: list[list[float]], *, top: float, header: float, tail: float, scale: int, paper: str) -> list[int]:
    """Row breaks that start a group of rows on a new page when it would be cut and fits on a page of its own.

    ``groups``: each group's row heights (points) in order, numbered from 0 by row; ``top``: what page 1 prints above
    the first row (title, lines, header); ``header``: the header rows every later page repeats; ``tail``: what follows
    the last group (the 合计 row and notes), kept with it when it fits.  Returns the indexes (counted across all
    groups' rows) before which a page break goes.  The pages are simulated at ``scale`` as the printer lays them
    out: rows that do not fit run on to the next page one by one."""
    _index, _w, page_h = PAPERS[paper]
    capacity = (page_h - 2 * MARGIN_TB * 72 - FOOTER_LINE) * 100 / scale
    breaks, used, row = [], top, 0
    for i, heights in enumerate(groups):
        size = sum(heights) + (tail if i == len(groups) - 1 else 0)
        if used + size > capacity and header + size <= capacity and row > 0:
            breaks.append(row)
            used = header
        for h in heights:
            if used + h > capacity:
                used = header
            used += h
            row += 1
    return breaks


def table_plan(layout: TableLayout, widths: list[float]) -> tuple[PagePlan, int]:
    """How an issued table prints, and how many label columns (its keys) repeat on every page across: the writer and
    the lines above and below the table (``lines.line_slots``) plan by it, so nothing sits in a repeated column.
    A short table (附表5/6/7) is kept on one page tall where the scale allows; a list of records runs on."""
    table = layout.table
    lead = 0
    while lead < len(table.columns) and table.columns[lead].type == "key" and table.kind in ("keyed", "categories"):
        lead += 1
    height = None
    if table.kind in ("keyed", "categories"):
        notes = table.printed_notes or ""
        height = (15 + 30 + 18 + 34 * layout.depth + 18 * (len(layout.rows) + 1)
                  + (14 * lines_needed(notes, sum(widths)) + 4 if notes else 0) + 40)
    page = plan(widths, paper="A4", lead=lead, boundaries=group_starts([tuple(c.header) for c in table.columns]),
                height=height)
    return page, lead
