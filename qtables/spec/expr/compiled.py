"""Spec expressions compiled once to Python closures: the checker's fast runtime.

``compile_node(tree)`` turns a parsed expression into one function of the
environment, built from closures: no tree walk, no ``isinstance`` dispatch and
no operator lookup per evaluation, and the functions are shared by every
workbook checked in the process.  The tree-walking ``evaluate`` of pyrun.py
stays the reference: tests evaluate random trees both ways on random values
and require the same value or the same ``EvalError`` (Excel semantics, as in
pyrun: blank is 0 in arithmetic, text compares without case, AND and OR
evaluate both sides).
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Any, Callable

from qtables.spec.expr.pyrun import Env, EvalError, _blank, _num, _sp, _text_key, comparable, excel_round, truth
from qtables.spec.memo import per_object
from qtables.spec.expr.tree import COMPARISONS, Binary, Call, Const, Node, Num, Ref, Str, Unary

Fn = Callable[[Env], Any]

_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@per_object
def compile_node(node: Node) -> Fn:
    """The compiled form of a tree (built once per tree object)."""
    return _build(node)


@per_object
def empty_row_form(node: Node) -> Node:
    """The tree as it stands on a row with nothing typed: ``rowfilled()`` is false and the IFs it
    decides are folded away (``if(rowfilled(), rownum(), blank)`` becomes ``blank``).  Equal to the
    tree on every empty row, so when it uses no row number, every empty row gives the same value."""
    return _fold_empty(node)


def _fold_empty(node: Node) -> Node:
    if isinstance(node, Call):
        if node.name == "rowfilled":
            return Const("false")
        args = tuple(_fold_empty(a) for a in node.args)
        if node.name == "if" and isinstance(args[0], Const) and args[0].name in ("true", "false"):
            return args[1] if args[0].name == "true" else args[2]
        return Call(node.name, args)
    if isinstance(node, Unary):
        return Unary(node.op, _fold_empty(node.operand))
    if isinstance(node, Binary):
        return Binary(node.op, _fold_empty(node.left), _fold_empty(node.right))
    return node


def _n(v: Any) -> float:
    # _num's fast path: most operands are already numbers.
    t = type(v)
    if t is float:
        if v - v == 0:  # finite
            return v
        return _num(v)
    if t is int:
        return float(v)
    return _num(v)


def _build(node: Node) -> Fn:
    if isinstance(node, (Num, Str)):
        value = node.value
        return lambda env: value
    if isinstance(node, Const):
        const = {"blank": None, "true": True, "false": False}[node.name]
        return lambda env: const
    if isinstance(node, Ref):
        ref = node
        if len(ref.parts) == 1:
            key = ref.parts[0]

            def cell(env: Env) -> Any:
                # An environment that holds the current row as ``own`` (the checker's) is read directly.
                own = getattr(env, "own", None)
                return own.get(key) if own is not None else env.value(ref)
            return cell
        return lambda env: env.value(ref)
    if isinstance(node, Unary):
        inner = _build(node.operand)
        if node.op == "-":
            return lambda env: -_n(inner(env))
        return lambda env: not truth(inner(env))
    if isinstance(node, Binary):
        return _binary(node)
    if isinstance(node, Call):
        return _call(node)
    raise TypeError(node)  # pragma: no cover


def _binary(node: Binary) -> Fn:
    left, right, op = _build(node.left), _build(node.right), node.op
    if op == "and":
        def both(env: Env) -> bool:
            a = truth(left(env))
            b = truth(right(env))
            return a and b
        return both
    if op == "or":
        def either(env: Env) -> bool:
            a = truth(left(env))
            b = truth(right(env))
            return a or b
        return either
    if op in COMPARISONS:
        return _comparison(_OPS[op], left, right)
    # Both sides are evaluated before either is converted, as the interpreter does: which error a
    # formula reports must not depend on the runtime.
    if op == "+":
        def add(env: Env) -> float:
            a = left(env)
            b = right(env)
            return _n(a) + _n(b)
        return add
    if op == "-":
        def sub(env: Env) -> float:
            a = left(env)
            b = right(env)
            return _n(a) - _n(b)
        return sub
    if op == "*":
        def mul(env: Env) -> float:
            a = left(env)
            b = right(env)
            return _n(a) * _n(b)
        return mul

    def divide(env: Env) -> float:
        a = left(env)
        b = right(env)
        x, y = _n(a), _n(b)
        if y == 0:
            raise EvalError("除数为零")
        return x / y
    return divide


def _comparison(op: Callable[[Any, Any], bool], left: Fn, right: Fn) -> Fn:
    def compare(env: Env) -> bool:
        a, b = left(env), right(env)
        ta, tb = type(a), type(b)
        if (ta is float or ta is int) and (tb is float or tb is int):
            return op(_n(a), _n(b))  # the common case, without the blank and text rules
        return op(*comparable(a, b))
    return compare


def _range_of(node: Node) -> Fn:
    if not isinstance(node, Ref):
        def not_a_range(env: Env) -> Any:
            raise EvalError("此处需要一个区域（列名）")
        return not_a_range
    ref = node
    return lambda env: env.range(ref)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _call(node: Call) -> Fn:
    name, args = node.name, node.args
    if name == "if":
        cond, yes, no = (_build(a) for a in args)
        return lambda env: yes(env) if truth(cond(env)) else no(env)
    if name == "rowfilled":
        return lambda env: any(not _blank(v) for v in env.row_values())
    if name == "rownum":
        return lambda env: float(env.row_number())
    if name == "oneof":
        return _oneof(node)
    if name in ("sum", "count", "sumproduct", "filledweight", "counteq", "countbetween", "countbetweenif"):
        return _aggregate(node)
    fns = [_build(a) for a in args]
    if name == "abs":
        f = fns[0]
        return lambda env: abs(_n(f(env)))
    if name == "round":
        f, g = fns

        def rounded(env: Env) -> float:
            a = f(env)
            b = g(env)
            return excel_round(_n(a), int(_n(b)))
        return rounded
    if name in ("min", "max"):
        pick = min if name == "min" else max
        return lambda env: pick(_n(v) for v in [f(env) for f in fns])
    if name == "isblank":
        f = fns[0]
        return lambda env: _blank(f(env))
    if name == "isnumber":
        f = fns[0]
        return lambda env: _is_number(f(env))
    if name == "isint":
        f = fns[0]

        def isint(env: Env) -> bool:
            x = _n(f(env))
            return abs(x - round(x)) < 1e-9
        return isint
    if name == "approx":
        f, g, h = fns

        def approx(env: Env) -> bool:
            a, b, c = f(env), g(env), h(env)
            return abs(_n(a) - _n(b)) <= _n(c) + 1e-9
        return approx

    def unknown(env: Env) -> Any:
        for f in fns:
            f(env)
        raise EvalError(f"未知函数 {name}")
    return unknown


def _oneof(node: Call) -> Fn:
    value = _build(node.args[0])
    list_node = node.args[1]

    def oneof(env: Env) -> bool:
        v = value(env)
        if not isinstance(list_node, Str):
            raise EvalError("oneof() 的第二个参数应为选项表名称")
        if _blank(v):
            return False
        return _text_key(v) in _choice_keys(env.choice_values(list_node.value))
    return oneof


@per_object
def _choice_keys(values: Any) -> frozenset[str]:
    """A choice list's values as oneof() compares them, once per list."""
    return frozenset(_text_key(c) for c in values)


def _aggregate(node: Call) -> Fn:
    name, args = node.name, node.args
    first = _range_of(args[0])
    # Detail columns are mostly None (blank): skipping those first is the same test, sooner.
    if name == "sum":
        return lambda env: sum(v for v in first(env) if v is not None and _is_number(v))
    if name == "count":
        return lambda env: float(sum(1 for v in first(env) if v is not None and not _blank(v)))
    if name in ("filledweight", "sumproduct"):
        second = _range_of(args[1])
        weighted = name == "filledweight"

        def pairs(env: Env) -> float:
            a_values, b_values = first(env), second(env)
            if len(a_values) != len(b_values):
                raise EvalError("区域大小不一致")
            if weighted:
                return sum(_sp(b) for a, b in zip(a_values, b_values) if not _blank(a))
            return sum(_sp(a) * _sp(b) for a, b in zip(a_values, b_values))
        return pairs
    if name == "counteq":
        key_fn = _build(args[1])
        memo: list[Any] = [None, None]  # (the range last counted, its counts): a row rule counts one column per row

        def counteq(env: Env) -> float:
            values, key = first(env), key_fn(env)
            if _blank(key):
                return 0.0
            if memo[0] is not values:
                memo[0], memo[1] = values, Counter(_text_key(v) for v in values if v is not None and not _blank(v))
            return float(memo[1].get(_text_key(key), 0))
        return counteq
    lo_fn, hi_fn = _build(args[1]), _build(args[2])
    if name == "countbetweenif":
        keys_of, wanted_fn = _range_of(args[3]), _build(args[4])

        def countbetweenif(env: Env) -> float:
            values = first(env)
            lo, hi = _n(lo_fn(env)), _n(hi_fn(env))  # in the reference interpreter's order, so errors agree
            keys, wanted = keys_of(env), _text_key(wanted_fn(env))
            if len(values) != len(keys):
                raise EvalError("区域大小不一致")
            return float(sum(1 for v, k in zip(values, keys)
                             if _is_number(v) and lo <= v <= hi and k is not None and not _blank(k) and _text_key(k) == wanted))
        return countbetweenif

    def countbetween(env: Env) -> float:
        values = first(env)
        lo, hi = _n(lo_fn(env)), _n(hi_fn(env))
        return float(sum(1 for v in values if _is_number(v) and lo <= v <= hi))
    return countbetween
