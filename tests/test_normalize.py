"""Every way a number, date or choice arrives in a cell, and what it becomes."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtables.read import normalize
from qtables.period import excel_serial
from qtables.spec.model import Column

COUNT = Column("n", ("项数",), "integer", unit="项", blank="zero")
AREA = Column("a", ("面积",), "decimal", unit="万㎡", blank="zero")
AREA_M2 = Column("m", ("面积",), "decimal", unit="㎡", blank="missing")
COST = Column("c", ("造价",), "decimal", unit="万元", blank="zero")
RATE = Column("r", ("满意率",), "percent", unit="%", blank="missing")


@pytest.mark.parametrize(
    "raw, column, value, problem, note",
    [
        (12, COUNT, 12, None, None),
        (12.0, COUNT, 12, None, None),
        (0.1 + 0.2, AREA, 0.3, None, None),  # floating-point residue
        (None, COUNT, 0, None, None),  # blank means zero here
        (None, RATE, None, None, None),  # … and missing here
        ("", AREA, 0, None, None),
        (" \u00a0\u3000", AREA, 0, None, None),  # only spaces
        ("12", COUNT, 12, None, "N03"),
        (" 12 ", COUNT, 12, None, "N03"),
        ("１２", COUNT, 12, None, "N03"),  # full-width digits
        ("1,234", COUNT, 1234, None, "N03"),
        ("１，２３４．５", AREA, 1234.5, None, "N03"),  # full-width punctuation
        ("1\u00a0234", COUNT, 1234, None, "N03"),  # non-breaking space as a thousands separator
        ("12项", COUNT, 12, None, "N03"),
        ("12个", COUNT, 12, None, "N03"),
        ("1.2万", COST, 1.2, None, "N03"),  # 1.2万 in a 万元 column is 1.2 万元
        ("12000元", COST, 1.2, None, "N03"),
        ("3亿元", COST, 30000, None, "N03"),
        ("1.5万㎡", AREA, 1.5, None, "N03"),
        ("15000平方米", AREA, 1.5, None, "N03"),
        ("15000m2", AREA, 1.5, None, "N03"),
        ("1.5万平方米", AREA_M2, 15000, None, "N03"),
        ("85%", RATE, 85, None, "N03"),
        ("85.5％", RATE, 85.5, None, "N03"),
        ("-3", COUNT, -3, None, "N03"),
        ("\u22123", COUNT, -3, None, "N03"),  # Unicode minus sign
        ("—", COUNT, 0, None, None),
        ("/", AREA, 0, None, None),
        ("无", COUNT, 0, None, None),
        ("无", RATE, None, None, None),
        ("十二", COUNT, None, "N01", None),
        ("12人", COUNT, None, "N01", None),  # a unit of another kind
        ("85%", COUNT, None, "N01", None),  # a percent where a count is due
        ("1.2.3", AREA, None, "N01", None),
        ("12 34", COUNT, 1234, None, "N03"),
        (True, COUNT, None, "N01", None),
        (float("inf"), AREA, None, "N01", None),
        (date(2025, 3, 5), COUNT, None, "N01", None),  # "3-5" turned into a date by Excel
    ],
)
def test_numbers(raw, column, value, problem, note):
    got = normalize.number(raw, column)
    assert (got.value if problem is None else None, got.problem, got.note) == (value, problem, note)
    if problem:
        assert got.original not in (None, "")  # the finding quotes what was typed


SEP30 = excel_serial(date(2025, 9, 30))


@pytest.mark.parametrize(
    "raw, value, problem",
    [
        (date(2025, 9, 30), SEP30, None),
        (datetime(2025, 9, 30, 0, 0), SEP30, None),
        (SEP30, SEP30, None),
        (SEP30 + 0.5, SEP30, None),
        ("2025-09-30", SEP30, None),
        ("2025/9/30", SEP30, None),
        ("2025.9.30", SEP30, None),
        ("2025年9月30日", SEP30, None),
        ("２０２５－０９－３０", SEP30, None),
        ("20250930", SEP30, None),
        ("2025-09-30 00:00:00", SEP30, None),
        (None, None, None),
        ("—", None, None),
        ("2025-02-30", None, "N02"),
        ("九月三十日", None, "N02"),
        (5, None, "N02"),
        ("1899-01-01", None, "N02"),
    ],
)
def test_dates(raw, value, problem):
    got = normalize.date_serial(raw)
    assert (got.value, got.problem) == (value, problem)


def test_choices_fold_spaces_and_width_but_keep_unknown_text():
    values = ("合格", "不合格", "框架-剪力墙结构")
    assert normalize.choice(" 合格 ", values, strict=True).value == "合格"
    assert normalize.choice("框架－剪力墙结构", values, strict=True).value == "框架-剪力墙结构"
    odd = normalize.choice("基本合格", values, strict=True)
    assert odd.value == "基本合格" and odd.problem is None  # rule V06 reports it, with its cell


def test_text_is_trimmed_of_every_kind_of_space():
    assert normalize.clean_text("\u3000郑州\u00a0一建 \n") == "郑州 一建"
    assert normalize.clean_text(12.0) == "12"
    assert normalize.clean_text("  ") is None


@given(st.integers(-10**12, 10**12))
def test_any_integer_typed_as_text_with_separators_reads_back(n):
    text = f"{n:,}"
    assert normalize.number(text, COUNT).value == n


@given(st.text(max_size=12))
def test_arbitrary_text_never_raises(text):
    for column in (COUNT, AREA, RATE):
        got = normalize.number(text, column)
        assert got.problem in (None, "N01")
    assert normalize.date_serial(text).problem in (None, "N02")
