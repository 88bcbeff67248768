"""Row rules written out as Python source: the checker's fast path for "which rows fail?".

A row rule (``V05``: ``not rowfilled() or not isblank(x)``, one per column and
table) is evaluated on every filled row of every workbook.  The closures of
compiled.py cost a Python call per node per row; here all the plain row rules
of a table become one generated function (``table_checker``) whose loop reads
each cell of a row once and evaluates every rule inline: comparisons and
arithmetic on two finite numbers as plain float operations, ``isblank`` and
``isnumber`` by the value's type, and everything else through the closures'
Excel-semantics helpers.  It answers one question — per rule, the indexes of
the rows that do not pass (false, or an ``EvalError``) — and the checker builds
each failure's finding with the closures, so the generated code never decides a
message, a found or an expected value.  The compiled code is kept in the spec's
cache folder between runs.

Semantics are the closures' (and so the reference interpreter's): AND/OR
evaluate both sides, arithmetic evaluates both operands before converting
either, IF evaluates only the branch it takes.  ``filled=True`` is the form for
rows known to hold input (the detail tables' filled rows): ``rowfilled()`` is
true there, and what that settles is folded away.  Subtrees with no inline form (aggregates, ``oneof``) call their
compiled closure on the environment, which the loop keeps on the current row.
A property test requires the generated function to fail exactly the rows the
closures fail, on random trees and rows.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import operator
import os
from types import CodeType
from typing import Any, Callable

from qtables.spec.expr.compiled import _is_number, _n, compile_node
from qtables.spec.loader import cache_dir
from qtables.spec.expr.pyrun import EvalError, _blank, comparable, excel_round, truth
from qtables.spec.expr.tree import COMPARISONS, Binary, Call, Const, Node, Num, Ref, Str, Unary

RowChecker = Callable[[Any, list, Any], list]

_CACHE: dict[tuple[int, int, bool], tuple[Node | None, Node, RowChecker]] = {}


def row_checker(when: Node | None, assertion: Node, *, filled: bool = False) -> RowChecker:
    """``fn(env, rows, indexes)`` -> the indexes whose rows do not pass ``(not when) or assertion``.

    ``env`` is the table's environment (its ``row`` and ``own`` are moved to each row), ``rows`` the
    table's row dicts.  Built once per (when, assertion, filled) and cached."""
    key = (id(when), id(assertion), filled)
    hit = _CACHE.get(key)
    if hit is not None:  # the cache keeps its trees alive, so an id in a key still names the same tree
        return hit[2]
    fused = _Generator(filled).function([(when, assertion)])
    fn: RowChecker = lambda env, rows, indexes: fused(env, rows, indexes)[0]  # noqa: E731
    _CACHE[key] = (when, assertion, fn)  # the trees are kept alive, so their ids are never reused
    return fn


TableChecker = Callable[[Any, list, Any], list]
_TABLE_CACHE: dict[tuple[tuple[int, int], ...], tuple[list, TableChecker]] = {}


def table_checker(tests: list[tuple[Node | None, Node]], *, filled: bool = False) -> TableChecker:
    """One loop for many row rules of a table evaluated on the same rows: ``fn(env, rows, indexes)`` -> per
    test, the indexes that do not pass.  Each cell a rule reads is looked up once per row for all of them."""
    key = tuple((id(w), id(a)) for w, a in tests) + ((int(filled), 0),)
    hit = _TABLE_CACHE.get(key)
    if hit is not None:  # the cache keeps its trees alive, so an id in a key still names the same tree
        return hit[1]
    fn = _Generator(filled).function(tests)
    _TABLE_CACHE[key] = (list(tests), fn)  # the trees are kept alive, so their ids are never reused
    return fn


_BOOL_CALLS = frozenset({"isblank", "isnumber", "isint", "approx", "oneof", "rowfilled"})


def _is_bool(node: Node) -> bool:
    """Whether the node's value is always a bool (so IF's truth of it is the value itself)."""
    if isinstance(node, Const):
        return node.name in ("true", "false")
    if isinstance(node, Binary):
        return node.op in ("and", "or") or node.op in COMPARISONS
    if isinstance(node, Unary):
        return node.op == "not"
    if isinstance(node, Call):
        if node.name == "if" and len(node.args) == 3:
            return _is_bool(node.args[1]) and _is_bool(node.args[2])
        return node.name in _BOOL_CALLS
    return False


def _fold_filled(node: Node) -> Node:
    """The tree on a row known to hold input: ``rowfilled()`` is true, and what that settles is folded away
    (``not rowfilled() or not isblank(x)`` becomes ``not isblank(x)``).  Only constants are dropped, and only
    beside a side that is a bool already, so no evaluation (nor its error) is lost."""
    if isinstance(node, Call):
        if node.name == "rowfilled":
            return Const("true")
        return Call(node.name, tuple(_fold_filled(a) for a in node.args))
    if isinstance(node, Unary):
        inner = _fold_filled(node.operand)
        if node.op == "not" and isinstance(inner, Const) and inner.name in ("true", "false"):
            return Const("false" if inner.name == "true" else "true")
        if node.op == "not" and isinstance(inner, Unary) and inner.op == "not" and _is_bool(inner.operand):
            return inner.operand
        return Unary(node.op, inner)
    if isinstance(node, Binary):
        left, right = _fold_filled(node.left), _fold_filled(node.right)
        neutral = {"or": "false", "and": "true"}.get(node.op)
        if neutral:
            if isinstance(left, Const) and left.name == neutral and _is_bool(right):
                return right
            if isinstance(right, Const) and right.name == neutral and _is_bool(left):
                return left
        return Binary(node.op, left, right)
    return node


def _compare_with(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        ta, tb = type(a), type(b)
        if (ta is float or ta is int) and (tb is float or tb is int):
            return op(_n(a), _n(b))
        return op(*comparable(a, b))
    return compare


def _add(a: Any, b: Any) -> float:
    return _n(a) + _n(b)


def _sub(a: Any, b: Any) -> float:
    return _n(a) - _n(b)


def _mul(a: Any, b: Any) -> float:
    return _n(a) * _n(b)


def _div(a: Any, b: Any) -> float:
    x, y = _n(a), _n(b)
    if y == 0:
        raise EvalError("除数为零")
    return x / y


def _isint(v: Any) -> bool:
    x = _n(v)
    return abs(x - round(x)) < 1e-9


def _round(a: Any, b: Any) -> float:
    return excel_round(_n(a), int(_n(b)))


def _approx(a: Any, b: Any, c: Any) -> bool:
    return abs(_n(a) - _n(b)) <= _n(c) + 1e-9


def _min(*values: Any) -> float:
    return min(_n(v) for v in values)


def _max(*values: Any) -> float:
    return max(_n(v) for v in values)


_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_HELPERS: dict[str, Any] = {
    "EvalError": EvalError, "_t": truth, "_n": _n, "_blank": _blank, "_isnum": _is_number, "_isint": _isint,
    "_round": _round, "_approx": _approx, "_min": _min, "_max": _max,
    "_add": _add, "_sub": _sub, "_mul": _mul, "_div": _div,
    **{f"_cmp{i}": _compare_with(fn) for i, fn in enumerate(_OPS.values())},
}
_CMP_NAME = {op: f"_cmp{i}" for i, op in enumerate(_OPS)}
_PY_OP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_HELPERS["_NUMT"] = frozenset({int, float})
_HELPERS["_NOTNUM"] = frozenset({type(None), str, bool})
_ARITH = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div"}
_UNARY_CALLS = {"isblank": "_blank", "isnumber": "_isnum", "isint": "_isint"}
_CALLS = {"round": "_round", "approx": "_approx", "min": "_min", "max": "_max"}


def _code(source: str) -> CodeType:
    """The compiled source: kept (marshalled) in the spec's cache folder between runs, keyed by the source's
    digest and Python's bytecode magic, since compiling the rule loops costs a single check ~25 ms."""
    folder = cache_dir()
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:40]
    target = folder / "rules" / f"{digest}-{importlib.util.MAGIC_NUMBER.hex()}.marshal" if folder is not None else None
    if target is not None and target.is_file():
        try:
            code = marshal.loads(target.read_bytes())
            if isinstance(code, CodeType):
                return code
        except (EOFError, ValueError, TypeError, OSError):
            pass  # a damaged or foreign file is compiled again and rewritten
    code = compile(source, "<qtables row rules>", "exec")
    if target is not None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(code))
            os.replace(tmp, target)
        except OSError:
            pass  # no writable cache: compiled again next time
    return code


class _Generator:
    def __init__(self, filled: bool):
        self.filled = filled
        self.names: dict[str, Any] = dict(_HELPERS)
        self.uses_env = False
        self.temps = 0
        self.cells: dict[str, str] = {}  # a column the rules read -> the local holding this row's cell

    def bind(self, value: Any) -> str:
        name = f"_k{len(self.names)}"
        self.names[name] = value
        return name

    def function(self, tests: list[tuple[Node | None, Node]]) -> TableChecker:
        body = []
        for k, (when, assertion) in enumerate(tests):
            if self.filled:
                when, assertion = (_fold_filled(when) if when is not None else None), _fold_filled(assertion)
            test = self.truth(assertion)
            if when is not None:
                test = f"(not {self.truth(when)}) or {test}"
            body.append(
                "        try:\n"
                f"            if not ({test}):\n"
                f"                bad{k}.append(i)\n"
                "        except EvalError:\n"
                f"            bad{k}.append(i)\n")
        lists = ", ".join(f"bad{k}" for k in range(len(tests)))
        move = "        e.row = i\n        e.own = o\n" if self.uses_env else ""
        # Reading a cell cannot fail nor change anything, so each is read once, before the rules.
        reads = "".join(f"        {local} = o.get({self.bind(key)})\n" for key, local in self.cells.items())
        source = (
            "def check(e, rows, indexes):\n"
            + "".join(f"    bad{k} = []\n" for k in range(len(tests)))
            + "    for i in indexes:\n"
            "        o = rows[i]\n"
            f"{move}{reads}{''.join(body)}"
            f"    return [{lists}]\n"
        )
        namespace = dict(self.names)
        exec(_code(source), namespace)  # noqa: S102 - source written from the spec's own trees (see the module's doc)
        return namespace["check"]

    def temp(self) -> str:
        self.temps += 1
        return f"_v{self.temps}"

    def named(self, code: str) -> tuple[str, str]:
        """(a name for the value of ``code``, the code that sets it): a local or constant is its own name,
        anything else is assigned to a temporary where it is first evaluated."""
        if code.isidentifier():
            return code, code
        v = self.temp()
        return v, f"({v} := {code})"

    def operand(self, code: str) -> tuple[str, str | None, str, str | None]:
        """An operand of inline arithmetic or comparison: (its name, the test that it is a number, it as a
        float, the test that it is finite) — no tests and a float bound once for a finite numeric constant."""
        value = self.names.get(code)
        if type(value) in (int, float) and value - value == 0:
            return code, None, self.bind(float(value)), None
        name, setter = self.named(code)
        return name, f"type({setter}) in _NUMT", f"float({name})", f"{name} - {name} == 0"

    def truth(self, node: Node) -> str:
        """Code for IF's view of the node's value: the value itself where it is always a bool."""
        code = self.expr(node)
        return code if _is_bool(node) else f"_t({code})"

    def expr(self, node: Node) -> str:
        if isinstance(node, (Num, Str)):
            return self.bind(node.value)
        if isinstance(node, Const):
            return {"blank": "None", "true": "True", "false": "False"}[node.name]
        if isinstance(node, Ref):
            if len(node.parts) == 1:
                return self.cells.setdefault(node.parts[0], f"_c{len(self.cells)}")
            self.uses_env = True
            return f"e.value({self.bind(node)})"
        if isinstance(node, Unary):
            inner = self.expr(node.operand)
            if node.op == "-":
                return f"(-_n({inner}))"
            return f"(not {inner})" if _is_bool(node.operand) else f"(not _t({inner}))"
        if isinstance(node, Binary):
            left, right = self.expr(node.left), self.expr(node.right)
            if node.op in ("and", "or"):
                # & and | evaluate both sides, as Excel's AND and OR do.
                left, right = (c if _is_bool(n) else f"_t({c})" for c, n in ((left, node.left), (right, node.right)))
                return f"({left} {'&' if node.op == 'and' else '|'} {right})"
            # Comparison and arithmetic on two finite numbers (the common case) inline, as floats like the
            # closures' _n (a divisor must not be 0); anything else goes to the closures' helpers.  Both sides
            # are evaluated first, left then right; a finite numeric constant needs no test.
            (a, a_type, a_float, a_finite), (b, b_type, b_float, b_finite) = self.operand(left), self.operand(right)
            types = " & ".join(f"({t})" for t in (a_type, b_type) if t)
            checks = [c for c in (a_finite, b_finite) if c] + ([f"{b} != 0"] if node.op == "/" else [])
            cond = " and ".join(([f"({types})"] if types else []) + checks) or "True"
            fast = f"{a_float} {_PY_OP.get(node.op, node.op)} {b_float}"
            slow = f"{_CMP_NAME[node.op]}({a}, {b})" if node.op in COMPARISONS else f"{_ARITH[node.op]}({a}, {b})"
            return f"({fast} if {cond} else {slow})"
        if isinstance(node, Call):
            return self.call(node)
        raise TypeError(node)  # pragma: no cover

    def call(self, node: Call) -> str:
        name, args = node.name, node.args
        if name == "rowfilled" and self.filled:
            return "True"
        if name == "if" and len(args) == 3:
            cond, yes, no = self.truth(args[0]), self.expr(args[1]), self.expr(args[2])
            return f"({yes} if {cond} else {no})"
        if name == "isblank" and len(args) == 1:
            v, v_set = self.named(self.expr(args[0]))  # pyrun._blank inline
            return f"({v_set} is None or (isinstance({v}, str) and not {v}.strip()))"
        if name == "isnumber" and len(args) == 1:
            v, v_set = self.named(self.expr(args[0]))  # pyrun's isnumber, its two common answers decided by the exact type
            return f"(type({v_set}) in _NUMT or (type({v}) not in _NOTNUM and _isnum({v})))"
        if name in _UNARY_CALLS and len(args) == 1:
            return f"{_UNARY_CALLS[name]}({self.expr(args[0])})"
        if name == "abs" and len(args) == 1:
            return f"abs(_n({self.expr(args[0])}))"
        if (name in ("round",) and len(args) == 2) or (name == "approx" and len(args) == 3) or (name in ("min", "max") and args):
            return f"{_CALLS[name]}({', '.join(self.expr(a) for a in args)})"
        # No inline form (aggregates, oneof, rowfilled on any row, rownum, unknown names): the compiled closure,
        # on the environment the loop keeps on the current row.
        self.uses_env = True
        return f"{self.bind(compile_node(node))}(e)"
