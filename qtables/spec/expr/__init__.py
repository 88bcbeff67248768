"""The rule and formula language of the spec: one source, two runtimes.

A rule such as ``filed_count <= completed_count`` or a derived cell such as
``if(completed_count = 0, blank, filed_count / completed_count * 100)`` is
parsed once into a small tree.  The tree is then either *evaluated* in Python
(the checker) or *compiled* to an Excel formula (the template's live 自查
sheet, its conditional formatting and its derived cells).  Both runtimes
follow Excel's semantics where they could differ: a blank cell is 0 in
arithmetic, text comparison ignores case, ROUND rounds half away from zero, and
an error (division by zero, text in arithmetic) makes a rule fail.

Nothing here evaluates text: the grammar is a small recursive-descent parser.
``rowgen`` compiles Python source for the checker's row rules, written from
the tree's shape alone: every column name and constant is bound as a value,
never spliced into the source.

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


from qtables.errors import ExpressionError
from qtables.spec.expr.excel import Resolver, list_name, to_excel
from qtables.spec.expr.pyrun import Env, EvalError, _blank, evaluate, excel_round, truth
from qtables.spec.expr.tree import (
    COMPARISONS,
    Binary,
    Call,
    Const,
    Node,
    Num,
    Ref,
    Str,
    Unary,
    parse,
    refs,
    uses_function,
)

__all__ = [
    "COMPARISONS", "Binary", "Call", "Const", "Env", "EvalError", "ExpressionError", "Node", "Num", "Ref",
    "Resolver", "Str", "Unary", "evaluate", "excel_round", "list_name", "parse", "refs", "to_excel", "truth",
    "uses_function", "_blank",
]
