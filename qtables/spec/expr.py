"""The rule and formula language of the spec: one source, two runtimes.

A rule such as ``filed_count <= completed_count`` or a derived cell such as
``if(completed_count = 0, blank, filed_count / completed_count * 100)`` is
parsed once into a small tree.  The tree is then either *evaluated* in Python
(the checker) or *compiled* to an Excel formula (the template's live 自查
sheet, its conditional formatting and its derived cells).  Both runtimes
follow Excel's semantics where they could differ: a blank cell is 0 in
arithmetic, text comparison ignores case, ROUND rounds half away from zero, and
an error (division by zero, text in arithmetic) makes a rule fail.

Nothing here uses ``eval``: the grammar is a small recursive-descent parser.

Grammar::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := add (("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") add)?
    add     := mul (("+" | "-") mul)*
    mul     := unary (("*" | "/") unary)*
    unary   := "-" unary | primary
    primary := NUMBER | STRING | "blank" | "true" | "false"
             | NAME "(" [expr ("," expr)*] ")" | REF | "(" expr ")"
    REF     := NAME ("." NAME)*
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable, Protocol, Sequence

from qtables.errors import ExpressionError

# --------------------------------------------------------------------------
# Tree


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Const:
    """``blank``, ``true`` or ``false``."""

    name: str


@dataclass(frozen=True)
class Ref:
    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple["Node", ...]


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: "Node"


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / = != < <= > >= and or
    left: "Node"
    right: "Node"


Node = Num | Str | Const | Ref | Call | Unary | Binary

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")

# name -> (min args, max args, indexes of arguments that are ranges)
FUNCTIONS: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "sum": (1, 1, (0,)),
    "count": (1, 1, (0,)),
    "sumproduct": (2, 2, (0, 1)),
    "counteq": (2, 2, (0,)),
    "countbetween": (3, 3, (0,)),
    "abs": (1, 1, ()),
    "round": (2, 2, ()),
    "min": (2, 8, ()),
    "max": (2, 8, ()),
    "if": (3, 3, ()),
    "isblank": (1, 1, ()),
    "isnumber": (1, 1, ()),
    "isint": (1, 1, ()),
    "approx": (3, 3, ()),
    "rowfilled": (0, 0, ()),
    "rownum": (0, 0, ()),
    "oneof": (2, 2, ()),
}

# --------------------------------------------------------------------------
# Parser

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|[-+*/(),=<>])
    """,
    re.VERBOSE,
)

_KEYWORDS = {"and", "or", "not", "blank", "true", "false"}


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExpressionError(f"表达式 “{text}” 第 {pos + 1} 个字符 “{text[pos]}” 无法识别")
        kind = match.lastgroup or ""
        value = match.group()
        if kind != "ws":
            if kind == "op" and value == "<>":
                value = "!="
            if kind == "name" and value in _KEYWORDS:
                kind = "kw"
            tokens.append((kind, value, pos))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, value: str | None = None) -> bool:
        k, v, _ = self.peek()
        if k == kind and (value is None or v == value):
            self.i += 1
            return True
        return False

    def fail(self, what: str) -> ExpressionError:
        _, value, pos = self.peek()
        found = f"“{value}”" if value else "结尾"
        return ExpressionError(f"表达式 “{self.text}” 第 {pos + 1} 个字符处应为{what}，实际为{found}")

    def parse(self) -> Node:
        node = self.or_()
        if self.peek()[0] != "end":
            raise self.fail("运算符或结尾")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("kw", "or"):
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("kw", "and"):
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.accept("kw", "not"):
            return Unary("not", self.not_())
        return self.cmp()

    def cmp(self) -> Node:
        node = self.add()
        kind, value, _ = self.peek()
        if kind == "op" and value in COMPARISONS:
            self.take()
            node = Binary(value, node, self.add())
        return node

    def add(self) -> Node:
        node = self.mul()
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            op = self.take()[1]
            node = Binary(op, node, self.mul())
        return node

    def mul(self) -> Node:
        node = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("op", "-"):
            return Unary("-", self.unary())
        return self.primary()

    def primary(self) -> Node:
        kind, value, _ = self.peek()
        if kind == "num":
            self.take()
            return Num(float(value))
        if kind == "str":
            self.take()
            return Str(value[1:-1])
        if kind == "kw" and value in ("blank", "true", "false"):
            self.take()
            return Const(value)
        if kind == "op" and value == "(":
            self.take()
            node = self.or_()
            if not self.accept("op", ")"):
                raise self.fail("“)”")
            return node
        if kind == "name":
            self.take()
            if self.accept("op", "("):
                return self.call(value)
            return Ref(tuple(value.split(".")))
        raise self.fail("数值、名称或“(”")

    def call(self, name: str) -> Node:
        if name not in FUNCTIONS:
            raise ExpressionError(f"表达式 “{self.text}” 使用了未知函数 {name}()")
        args: list[Node] = []
        if not self.accept("op", ")"):
            args.append(self.or_())
            while self.accept("op", ","):
                args.append(self.or_())
            if not self.accept("op", ")"):
                raise self.fail("“,” 或 “)”")
        lo, hi, _ = FUNCTIONS[name]
        if not lo <= len(args) <= hi:
            raise ExpressionError(
                f"表达式 “{self.text}” 中函数 {name}() 需要 {lo}–{hi} 个参数，实际 {len(args)} 个"
            )
        return Call(name, tuple(args))


def parse(text: str) -> Node:
    """Parse an expression; raises ExpressionError with the position of the fault."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("表达式为空")
    return _Parser(text).parse()


def refs(node: Node) -> Iterable[tuple[Ref, bool]]:
    """Every reference in the tree, with whether it stands where a range is expected."""

    def walk(n: Node, as_range: bool):
        if isinstance(n, Ref):
            yield n, as_range
        elif isinstance(n, Call):
            range_args = FUNCTIONS[n.name][2]
            for i, arg in enumerate(n.args):
                yield from walk(arg, i in range_args)
        elif isinstance(n, Unary):
            yield from walk(n.operand, False)
        elif isinstance(n, Binary):
            yield from walk(n.left, False)
            yield from walk(n.right, False)

    yield from walk(node, False)


def uses_function(node: Node, name: str) -> bool:
    if isinstance(node, Call):
        return node.name == name or any(uses_function(a, name) for a in node.args)
    if isinstance(node, Unary):
        return uses_function(node.operand, name)
    if isinstance(node, Binary):
        return uses_function(node.left, name) or uses_function(node.right, name)
    return False


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
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


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


def _compare(op: str, a: Any, b: Any) -> bool:
    # Excel: blank takes the type of the other side; text compares without case;
    # any text is greater than any number.
    if _blank(a) and _blank(b):
        a, b = 0.0, 0.0
    elif _blank(a):
        a = "" if isinstance(b, str) else 0.0
    elif _blank(b):
        b = "" if isinstance(a, str) else 0.0
    a_text, b_text = isinstance(a, str), isinstance(b, str)
    if a_text and b_text:
        a, b = a.strip().casefold(), b.strip().casefold()
    elif a_text != b_text:
        a, b = (1, 0) if a_text else (0, 1)
    else:
        a, b = _num(a), _num(b)
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
    if name in ("sum", "count", "sumproduct", "counteq", "countbetween"):
        first = _range(args[0], env)
        if name == "sum":
            return sum(v for v in first if isinstance(v, (int, float)) and not isinstance(v, bool))
        if name == "count":
            return float(sum(1 for v in first if not _blank(v)))
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
) -> str:
    """Compile to Excel formula text (without the leading '=').

    ``row_range`` is the input cells of the current row (for ``rowfilled()``),
    ``row_number`` the formula text giving the 1-based data row (``rownum()``).
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
        if n.name == "counteq":
            r, key = rng(a[0]), c(a[1])
            return f"IF(LEN(TRIM({key}))=0,0,SUMPRODUCT(--(TRIM({r})=TRIM({key}))))"
        if n.name == "countbetween":
            r = rng(a[0])
            return f"SUMPRODUCT(ISNUMBER({r})*({r}>={c(a[1])})*({r}<={c(a[2])}))"
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
