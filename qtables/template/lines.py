"""Where the lines around a table go — 填表单位（盖章）/报告期 above it, 统计员/批准人/报送日期 below — and the
column widths they are laid out by.  The writer puts the labels and values there; the checker reads the values
back from the same cells (nothing else decides where they are)."""

from __future__ import annotations

from qtables.spec.model import Column
from qtables.template import paper
from qtables.template.layout import TableLayout

DEFAULT_WIDTH = {"integer": 7, "decimal": 11, "percent": 8, "text": 14, "date": 11, "choice": 12, "key": 10}


def column_width(col: Column) -> float:
    return col.width or DEFAULT_WIDTH.get(col.type, 10)


def line_slots(layout: TableLayout, items: tuple[str, ...], with_period: bool) -> list[tuple[int, int, int, int]]:
    """(label first col, label last col, value first col, value last col) per item of a top/bottom line.

    Columns go to the items by need, left to right: each label as many as its text takes (so 填表单位（公章）
    is never cut at the page's left edge in a narrow first column), each value enough for a short name or
    the report period; what is left widens the values.  When the line cannot hold every item that way, it is
    cut into equal segments, each label as wide as its segment allows (write_line shrinks a label to fit).

    A table printed two pages wide repeats its row-label columns on the second page, so the lines keep out of
    those columns: the items are shared out over the pages in order (附表5: 填表单位 | 报告期, 统计员 批准人 | 报送
    日期), each laid out within its own page, so no label prints twice and none straddles a page edge.
    Only the layout decides: the filling helpers of the tests find the same cells, and the checker reads the values
    by their labels (``line_values``), so a template issued with an earlier layout is read alike.
    """
    widths = [column_width(c) for c in layout.table.columns]
    page, lead = paper.table_plan(layout, widths)
    if not page.breaks:
        return slots_for(widths, items, with_period)
    edges = [lead, *page.breaks, len(widths)]
    labels = list(items) + (["报告期"] if with_period else [])
    pages = len(edges) - 1
    slots, taken = [], 0
    for p in range(pages):
        count = len(labels) // pages + (1 if p < len(labels) % pages else 0)
        share = labels[taken:taken + count]
        taken += count
        if not share:
            continue
        a, b = edges[p], edges[p + 1]
        period = with_period and share[-1] == "报告期" and taken == len(labels)
        own = slots_for(widths[a:b], tuple(share[:-1] if period else share), period)
        slots += [(l0 + a, l1 + a, v0 + a, v1 + a) for l0, l1, v0, v1 in own]
    return slots


def line_values(get, row: int, ncols: int, items: tuple[str, ...],
                slots: list[tuple[int, int, int, int]]) -> dict[str, tuple[object, int]]:
    """The value typed on a line after each label, and the column it is typed in, found by the labels: the first
    filled cell right of “统计员：” up to the next label.  A label not on the row (an edited line) is read at its
    slot's value cell; one moved by an earlier layout, right after it.  ``get(row, col)`` reads the sheet."""
    names = {label.strip() for label in items} | {"报告期"}
    found: dict[str, int] = {}
    for col in range(ncols + 4):
        text = get(row, col)
        if isinstance(text, str):
            label = text.strip().rstrip("：:").strip()
            if label in names and label not in found:
                found[label] = col
    stops = sorted(found.values())
    out: dict[str, tuple[object, int]] = {}
    for label, (l0, _l1, first, _last) in zip(items, slots):
        col = found.get(label)
        if col is None:
            out[label] = (get(row, first), first)
            continue
        end = next((s for s in stops if s > col), ncols + 4)
        filled = [(c, v) for c, v in ((c, get(row, c)) for c in range(col + 1, end))
                  if v is not None and not (isinstance(v, str) and not v.strip())]
        out[label] = (filled[0][1], filled[0][0]) if filled else (None, first if col == l0 else col + 1)
    return out


def slots_for(widths: list[float], items: tuple[str, ...], with_period: bool) -> list[tuple[int, int, int, int]]:
    """``line_slots`` over columns of the given widths (the master's forms, whose columns are the table's and more)."""
    n = len(items) + (1 if with_period else 0)
    if n == 0:
        return []
    labels = list(items) + (["报告期"] if with_period else [])
    needs = []
    for label in labels:
        # A value as wide as it is printed: the period (2025年第3季度), a date (2025-09-30), or a short name.
        needs += [label_need(label), 15 if with_period and label == "报告期" else 11 if "日期" in label else 8]
    spans = _by_need(widths, needs) or _closest(widths, needs)
    if spans is not None:
        return [(spans[2 * i][0], spans[2 * i][1], spans[2 * i + 1][0], spans[2 * i + 1][1]) for i in range(n)]
    seg = max(2, len(widths) // n)
    slots = []
    for i in range(n):
        start = i * seg
        last = len(widths) - 1 if i == n - 1 else start + seg - 1
        span, label_last = 0.0, start
        while label_last < last - 1:
            span += widths[label_last]
            if span >= needs[2 * i]:
                break
            label_last += 1
        slots.append((start, label_last, label_last + 1, max(label_last + 1, last)))
    return slots


def label_need(label: str) -> float:
    """The width a line label and its colon take (a CJK character two units)."""
    return sum(1 if ch.isascii() else 2 for ch in label) + 2


def _by_need(widths: list[float], needs: list[float]) -> list[tuple[int, int]] | None:
    """Consecutive column spans, one per need in order, each at least as wide as its need; the columns left
    over go to the value spans (every second one), from the last back.  None when the columns run out."""
    spans, col = [], 0
    for need in needs:
        first, span = col, 0.0
        while col < len(widths) and span < need:
            span += widths[col]
            col += 1
        if span < need:
            return None
        spans.append((first, col - 1))
    spare = len(widths) - col
    shift = [0] * len(spans)
    value_spans = list(range(1, len(spans), 2))
    for k in range(spare):
        shift[value_spans[-1 - k % len(value_spans)]] += 1
    out, moved = [], 0
    for (first, last), extra in zip(spans, shift):
        out.append((first + moved, last + moved + extra))
        moved += extra
    return out


def _closest(widths: list[float], needs: list[float]) -> list[tuple[int, int]] | None:
    """When the columns cannot give every label and value its need: the consecutive spans (every column used) whose
    most cramped label is as wide as it can be, then whose most cramped value is.  A label given 75 % of its width
    or more is shrunk by write_line to no less than 7.5 pt (of 10): legible, and the page test's 7 pt holds.  None with fewer columns than spans."""
    from functools import lru_cache

    k = len(needs)
    if len(widths) < k:
        return None
    prefix = [0.0]
    for w in widths:
        prefix.append(prefix[-1] + w)

    @lru_cache(maxsize=None)
    def best(i: int, col: int) -> tuple[tuple[float, float], tuple[tuple[int, int], ...]]:
        if i == k:
            return ((1.0, 1.0), ()) if col == len(widths) else ((-1.0, -1.0), ())
        found: tuple[tuple[float, float], tuple[tuple[int, int], ...]] = ((-1.0, -1.0), ())
        for last in range(col, len(widths) - (k - i - 1)):
            ratio = min(1.0, (prefix[last + 1] - prefix[col]) / needs[i])
            (labels, values), rest = best(i + 1, last + 1)
            score = (min(labels, ratio), values) if i % 2 == 0 else (labels, min(values, ratio))
            if score > found[0]:
                found = (score, ((col, last),) + rest)
        return found

    (labels, _values), spans = best(0, 0)
    return list(spans) if labels >= 0.75 else None


def form_text(spec_form: dict, override: dict, table_id: str) -> str:
    """表号：豫建质统5表　制定机关：…　批准文号：…　有效期至：… (empty parts left out)."""
    numbers = dict(spec_form.get("numbers", {}))
    number = str(override.get(table_id) or numbers.get(table_id, ""))
    parts = [("表号", number), ("制定机关", str(override.get("authority") or spec_form.get("authority", ""))),
             ("批准文号", str(override.get("approval") or spec_form.get("approval", ""))),
             ("有效期至", str(override.get("valid_until") or spec_form.get("valid_until", "")))]
    return "　".join(f"{k}：{v}" for k, v in parts if v)
