"""The Python runtime of the rule language, with Excel's semantics."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol, Sequence

from qtables.spec.expr.tree import COMPARISONS, Binary, Call, Const, Node, Num, Ref, Str, Unary

# --------------------------------------------------------------------------
# Python runtime


class EvalError(Exception):
    """A value could not be computed (the Excel runtime would show #DIV/0! or #VALUE!)."""


class Env(Protocol):
    def value(self, ref: Ref) -> Any: ...

    def range(self, ref: Ref) -> Sequence[Any]: ...

    def row_values(self) -> Sequence[Any]: ...

    def row_number(self) -> int: ...

    def choice_values(self, name: str) -> Sequence[str]: ...


def excel_round(x: float, digits: int) -> float:
    """ROUND as Excel does it: half away from zero, on the decimal value shown."""
    q = Decimal(1).scaleb(-int(digits))
    try:
        return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return float(x)  # more digits than the value has (found by the property test): nothing to round


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _num(v: Any) -> float:
    if _blank(v):
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            raise EvalError("非有限数值")
        return float(v)
    raise EvalError(f"“{v}” 不是数值")


def truth(v: Any) -> bool:
    """A value as a condition, as Excel's IF sees it (text is an error)."""
    if isinstance(v, bool):
        return v
    if _blank(v):
        return False
    if isinstance(v, (int, float)):
        return v != 0
    raise EvalError(f"“{v}” 不是逻辑值")


def comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Two values made comparable as Excel compares them: blank takes the type of the other side; text
    compares without case; any text is greater than any number."""
    if _blank(a) and _blank(b):
        a, b = 0.0, 0.0
    elif _blank(a):
        a = "" if isinstance(b, str) else 0.0
    elif _blank(b):
        b = "" if isinstance(a, str) else 0.0
    a_text, b_text = isinstance(a, str), isinstance(b, str)
    if a_text and b_text:
        return a.strip().casefold(), b.strip().casefold()
    if a_text != b_text:
        return (1, 0) if a_text else (0, 1)
    return _num(a), _num(b)


def _compare(op: str, a: Any, b: Any) -> bool:
    a, b = comparable(a, b)
    return {
        "=": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[op]


def _text_key(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip().casefold()


def evaluate(node: Node, env: Env) -> Any:
    """Evaluate in Python with Excel's semantics. Raises EvalError where Excel gives an error."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Str):
        return node.value
    if isinstance(node, Const):
        return {"blank": None, "true": True, "false": False}[node.name]
    if isinstance(node, Ref):
        return env.value(node)
    if isinstance(node, Unary):
        if node.op == "-":
            return -_num(evaluate(node.operand, env))
        return not truth(evaluate(node.operand, env))
    if isinstance(node, Binary):
        if node.op == "and":
            # Excel's AND evaluates both sides; so do we, for the same errors.
            left, right = truth(evaluate(node.left, env)), truth(evaluate(node.right, env))
            return left and right
        if node.op == "or":
            left, right = truth(evaluate(node.left, env)), truth(evaluate(node.right, env))
            return left or right
        a, b = evaluate(node.left, env), evaluate(node.right, env)
        if node.op in COMPARISONS:
            return _compare(node.op, a, b)
        x, y = _num(a), _num(b)
        if node.op == "+":
            return x + y
        if node.op == "-":
            return x - y
        if node.op == "*":
            return x * y
        if y == 0:
            raise EvalError("除数为零")
        return x / y
    if isinstance(node, Call):
        return _call(node, env)
    raise TypeError(node)  # pragma: no cover


def _call(node: Call, env: Env) -> Any:
    name, args = node.name, node.args
    if name == "if":
        return evaluate(args[1], env) if truth(evaluate(args[0], env)) else evaluate(args[2], env)
    if name == "rowfilled":
        return any(not _blank(v) for v in env.row_values())
    if name == "rownum":
        return float(env.row_number())
    if name == "oneof":
        value, list_name = evaluate(args[0], env), args[1]
        if not isinstance(list_name, Str):
            raise EvalError("oneof() 的第二个参数应为选项表名称")
        if _blank(value):
            return False
        wanted = _text_key(value)
        return any(_text_key(v) == wanted for v in env.choice_values(list_name.value))
    if name in ("sum", "count", "sumproduct", "filledweight", "counteq", "countbetween", "countbetweenif"):
        first = _range(args[0], env)
        if name == "sum":
            return sum(v for v in first if isinstance(v, (int, float)) and not isinstance(v, bool))
        if name == "count":
            return float(sum(1 for v in first if not _blank(v)))
        if name == "filledweight":
            second = _range(args[1], env)
            if len(first) != len(second):
                raise EvalError("区域大小不一致")
            return sum(_sp(b) for a, b in zip(first, second) if not _blank(a))
        if name == "sumproduct":
            second = _range(args[1], env)
            if len(first) != len(second):
                raise EvalError("区域大小不一致")
            return sum(_sp(a) * _sp(b) for a, b in zip(first, second))
        if name == "counteq":
            key = evaluate(args[1], env)
            if _blank(key):
                return 0.0
            wanted = _text_key(key)
            return float(sum(1 for v in first if not _blank(v) and _text_key(v) == wanted))
        lo, hi = _num(evaluate(args[1], env)), _num(evaluate(args[2], env))
        if name == "countbetweenif":
            keys, wanted = _range(args[3], env), _text_key(evaluate(args[4], env))
            if len(keys) != len(first):
                raise EvalError("区域大小不一致")
            return float(sum(1 for v, k in zip(first, keys) if isinstance(v, (int, float)) and not isinstance(v, bool)
                             and lo <= v <= hi and not _blank(k) and _text_key(k) == wanted))
        return float(
            sum(1 for v in first if isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi)
        )
    values = [evaluate(a, env) for a in args]
    if name == "abs":
        return abs(_num(values[0]))
    if name == "round":
        return excel_round(_num(values[0]), int(_num(values[1])))
    if name == "min":
        return min(_num(v) for v in values)
    if name == "max":
        return max(_num(v) for v in values)
    if name == "isblank":
        return _blank(values[0])
    if name == "isnumber":
        return isinstance(values[0], (int, float)) and not isinstance(values[0], bool)
    if name == "isint":
        x = _num(values[0])
        return abs(x - round(x)) < 1e-9
    if name == "approx":
        return abs(_num(values[0]) - _num(values[1])) <= _num(values[2]) + 1e-9
    raise EvalError(f"未知函数 {name}")  # pragma: no cover


def _sp(v: Any) -> float:
    # SUMPRODUCT treats text and blanks as zero rather than failing.
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return 0.0


def _range(node: Node, env: Env) -> Sequence[Any]:
    if not isinstance(node, Ref):
        raise EvalError("此处需要一个区域（列名）")
    return env.range(node)


