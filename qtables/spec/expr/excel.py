"""The Excel runtime: compiling an expression tree to formula text."""

from __future__ import annotations

from typing import Callable

from qtables.errors import ExpressionError
from qtables.spec.expr.tree import COMPARISONS, Binary, Call, Const, Node, Num, Ref, Str, Unary

# --------------------------------------------------------------------------
# Excel runtime

Resolver = Callable[[Ref, bool], str]
"""Maps a reference (and whether a range is wanted) to Excel reference text."""


def _xl_num(x: float) -> str:
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x))


def _xl_str(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def list_name(choice_id: str) -> str:
    """The workbook-level defined name holding a choice list."""
    return f"qt_list_{choice_id}"


def to_excel(
    node: Node,
    resolve: Resolver,
    *,
    row_range: str | None = None,
    row_number: str | None = None,
    row_filled: str | None = None,
) -> str:
    """Compile to Excel formula text (without the leading '=').

    ``row_range`` is the input cells of the current row (for ``rowfilled()``),
    ``row_number`` the formula text giving the 1-based data row (``rownum()``);
    ``row_filled``, when given, a cell holding 1 when the row has any input and
    0 when not, which ``rowfilled()`` reads instead of counting the row itself.
    """

    def c(n: Node) -> str:
        if isinstance(n, Num):
            return _xl_num(n.value)
        if isinstance(n, Str):
            return _xl_str(n.value)
        if isinstance(n, Const):
            return {"blank": '""', "true": "TRUE", "false": "FALSE"}[n.name]
        if isinstance(n, Ref):
            return resolve(n, False)
        if isinstance(n, Unary):
            if n.op == "-":
                return f"-({c(n.operand)})"
            return f"NOT({c(n.operand)})"
        if isinstance(n, Binary):
            if n.op in ("and", "or"):
                return f"{n.op.upper()}({c(n.left)},{c(n.right)})"
            op = "<>" if n.op == "!=" else n.op
            if n.op in COMPARISONS:
                return f"({_cmp_operand(n.left, n.right)}{op}{_cmp_operand(n.right, n.left)})"
            return f"({c(n.left)}{op}{c(n.right)})"
        if isinstance(n, Call):
            return call(n)
        raise TypeError(n)  # pragma: no cover

    def _cmp_operand(n: Node, other: Node) -> str:
        # A blank cell compared with text is "" in Excel, with a number 0: the
        # same as the Python runtime.  Text on both sides ignores surrounding
        # spaces in Python; TRIM does the same here.
        if isinstance(other, Str) and isinstance(n, Ref):
            return f"TRIM({c(n)})"
        return c(n)

    def rng(n: Node) -> str:
        if not isinstance(n, Ref):
            raise ExpressionError("此处需要一个区域（列名）")
        return resolve(n, True)

    def call(n: Call) -> str:
        a = n.args
        if n.name == "sum":
            return f"SUM({rng(a[0])})"
        if n.name == "count":
            return f"SUMPRODUCT(--(LEN(TRIM({rng(a[0])}))>0))"
        if n.name == "sumproduct":
            return f"SUMPRODUCT({rng(a[0])},{rng(a[1])})"
        if n.name == "filledweight":
            return f'SUMIF({rng(a[0])},"<>",{rng(a[1])})'
        if n.name == "counteq":
            r, key = rng(a[0]), c(a[1])
            return f"IF(LEN(TRIM({key}))=0,0,SUMPRODUCT(--(TRIM({r})=TRIM({key}))))"
        if n.name == "countbetween":
            r = rng(a[0])
            return f"SUMPRODUCT(ISNUMBER({r})*({r}>={c(a[1])})*({r}<={c(a[2])}))"
        if n.name == "countbetweenif":
            r, k = rng(a[0]), rng(a[3])
            return f"SUMPRODUCT(ISNUMBER({r})*({r}>={c(a[1])})*({r}<={c(a[2])})*(TRIM({k})=TRIM({c(a[4])})))"
        if n.name == "abs":
            return f"ABS({c(a[0])})"
        if n.name == "round":
            return f"ROUND({c(a[0])},{c(a[1])})"
        if n.name in ("min", "max"):
            return f"{n.name.upper()}({','.join(c(x) for x in a)})"
        if n.name == "if":
            return f"IF({c(a[0])},{c(a[1])},{c(a[2])})"
        if n.name == "isblank":
            return f"(LEN(TRIM({c(a[0])}))=0)"
        if n.name == "isnumber":
            return f"ISNUMBER({c(a[0])})"
        if n.name == "isint":
            x = c(a[0])
            return f"(ABS({x}-ROUND({x},0))<0.000000001)"
        if n.name == "approx":
            return f"(ABS({c(a[0])}-{c(a[1])})<={c(a[2])}+0.000000001)"
        if n.name == "rowfilled":
            if row_filled is not None:
                return f"({row_filled}=1)"
            if row_range is None:
                raise ExpressionError("rowfilled() 只能用于逐行规则")
            return f"(SUMPRODUCT(--(LEN(TRIM({row_range}))>0))>0)"
        if n.name == "rownum":
            if row_number is None:
                raise ExpressionError("rownum() 只能用于逐行规则")
            return row_number
        if n.name == "oneof":
            if not isinstance(a[1], Str):
                raise ExpressionError("oneof() 的第二个参数应为选项表名称")
            return f"ISNUMBER(MATCH(TRIM({c(a[0])}),{list_name(a[1].value)},0))"
        raise ExpressionError(f"未知函数 {n.name}")  # pragma: no cover

    return c(node)
