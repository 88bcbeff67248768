"""The expression tree, the tokenizer and the recursive-descent parser (no ``eval``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

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
    "filledweight": (2, 2, (0, 1)),  # sum of the second range where the first is not blank
    "counteq": (2, 2, (0,)),
    "countbetween": (3, 3, (0,)),
    # rows whose first range lies between lo and hi and whose fourth range equals the text (e.g. 备案日期 in the
    # period and 备案结论 = 准予备案)
    "countbetweenif": (5, 5, (0, 3)),
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


