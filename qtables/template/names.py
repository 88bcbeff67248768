"""What every issued workbook contains: sheet names, the 自查 sheet's columns, the tables of a period.

The writer lays these out and the checker, receipts and merge read them back, so they live here
rather than in the writer.
"""

from __future__ import annotations

from qtables.period import Period
from qtables.spec.model import Spec

GUIDE_SHEET = "填表说明"
LISTS_SHEET = "_lists"
CHECK_SHEET = "_checks"  # hidden helper: one formula cell per rule and row
SELF_CHECK_SHEET = "自查"
SELF_CHECK_HEADER_ROW = 4
SELF_CHECK_COLUMNS = ("序号", "规则代码", "类别", "表", "审核内容", "结果", "问题数", "首个问题单元格", "说明（核实性问题未通过时必填）")
RESULT_COL = 5
NOTE_COL = 8


def tables_for(spec: Spec, period: Period, *, scoring: bool = False) -> tuple[list[str], list[str]]:
    """The sets and tables due for a period (a quarter: 附表1–6; a year: 附表6–7).

    ``scoring``: the two 考核评分表 alone — filled by the 省厅考核组 for each assessed unit (附件2 三、附件3 五),
    not by the unit in its annual workbook."""
    sets = ["scoring"] if scoring else [period.kind]
    return sets, [t.id for t in spec.tables_in(sets)]
