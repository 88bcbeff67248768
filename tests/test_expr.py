"""The rule language: parsing, the Python runtime's Excel semantics, and compilation to Excel."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtables.errors import ExpressionError
from qtables.spec import expr
from qtables.spec.expr import EvalError, Ref


class Env:
    def __init__(self, values=None, ranges=None, row=None):
        self.values = values or {}
        self.ranges = ranges or {}
        self.row = row or []

    def value(self, ref: Ref):
        return self.values.get(ref.dotted)

    def range(self, ref: Ref):
        return self.ranges[ref.dotted]

    def row_values(self):
        return self.row

    def row_number(self):
        return 3

    def choice_values(self, name):
        return ["合格", "不合格"]


def ev(text, **values):
    return expr.evaluate(expr.parse(text), Env(values))


def test_precedence_and_arithmetic():
    assert ev("1 + 2 * 3") == 7
    assert ev("(1 + 2) * 3") == 9
    assert ev("-2 * -3") == 6
    assert ev("10 / 4") == 2.5
    assert ev("1 < 2 and 2 < 1 or not false") is True


def test_blank_is_zero_in_arithmetic_and_comparisons_like_excel():
    assert ev("a + 1", a=None) == 1
    assert ev("a = 0", a=None) is True
    assert ev("a = ''", a=None) is True
    assert ev("isblank(a)", a="  ") is True
    assert ev("isblank(a)", a=0) is False


def test_text_comparison_ignores_case_and_spaces_and_text_beats_numbers():
    assert ev("a = 'ABC'", a=" abc ") is True
    assert ev("a > 1000000", a="x") is True


def test_errors_where_excel_errors():
    with pytest.raises(EvalError):
        ev("1 / a", a=0)
    with pytest.raises(EvalError):
        ev("a + 1", a="十二")
    assert ev("if(a = 0, blank, 1 / a)", a=0) is None


def test_round_is_half_away_from_zero_like_excel():
    assert ev("round(2.5, 0)") == 3
    assert ev("round(-2.5, 0)") == -3
    assert ev("round(1.005, 2)") == 1.01  # Python's round() gives 1.0


def test_range_functions():
    env = Env(ranges={"t3.reg_no": ["A-1", "a-1 ", None, "B"], "x": [1, None, "t", 2.5], "y": [2, 5, 1, 2]}, values={"k": "A-1"})
    assert expr.evaluate(expr.parse("count(t3.reg_no)"), env) == 3
    assert expr.evaluate(expr.parse("counteq(t3.reg_no, k)"), env) == 2
    assert expr.evaluate(expr.parse("sum(x)"), env) == 3.5
    assert expr.evaluate(expr.parse("sumproduct(x, y)"), env) == 7
    assert expr.evaluate(expr.parse("countbetween(x, 1, 2)"), env) == 1
    dated = Env(ranges={"d": [45900, 45950, 45901, None, 45902], "c": ["准予备案", "准予备案", " 准予备案 ", "准予备案", "不予备案"]})
    assert expr.evaluate(expr.parse("countbetweenif(d, 45900, 45910, c, '准予备案')"), dated) == 2  # not 不予备案, not outside


def test_parse_errors_say_where():
    with pytest.raises(ExpressionError, match="第 5 个字符"):
        expr.parse("a + * b")
    with pytest.raises(ExpressionError, match="未知函数 frobnicate"):
        expr.parse("frobnicate(a)")
    with pytest.raises(ExpressionError, match="需要 3–3 个参数"):
        expr.parse("if(a, b)")
    with pytest.raises(ExpressionError, match="无法识别"):
        expr.parse("a ; b")


def test_compiles_to_excel():
    resolve = lambda ref, as_range: {"a": "$C$7", "b": "$D$7", "t3.reg_no": "'附表3'!$B$6:$B$305"}[ref.dotted]
    assert expr.to_excel(expr.parse("if(b = 0, blank, a / b * 100)"), resolve) == 'IF(($D$7=0),"",(($C$7/$D$7)*100))'
    assert expr.to_excel(expr.parse("a <> b and not isblank(a)"), resolve) == "AND(($C$7<>$D$7),NOT((LEN(TRIM($C$7))=0)))"
    assert expr.to_excel(expr.parse("count(t3.reg_no)"), resolve) == "SUMPRODUCT(--(LEN(TRIM('附表3'!$B$6:$B$305))>0))"
    assert expr.to_excel(expr.parse("a = 'x\"y'"), resolve) == '(TRIM($C$7)="x""y")'
    assert "ROUND" in expr.to_excel(expr.parse("isint(a)"), resolve)


def test_no_eval_anywhere():
    import inspect

    import qtables.spec.expr as module

    source = inspect.getsource(module)
    assert "eval(" not in source.replace("evaluate(", "").replace("_eval", "")


values = st.one_of(st.none(), st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False), st.text(max_size=5), st.booleans())


@given(a=values, b=values)
def test_runtime_only_ever_raises_evalerror(a, b):
    for text in ["a + b", "a / b", "a <= b", "isint(a) and b >= 0", "if(a, b, 1)", "round(a, 2)", "approx(a, b, 0.01)",
                 "oneof(a, 'x')", "not a"]:
        try:
            expr.evaluate(expr.parse(text), Env({"a": a, "b": b}))
        except EvalError:
            pass


# -- the compiled runtime agrees with the reference interpreter ---------------

from qtables.spec.expr import Binary, Call, Const, Num, Str, Unary  # noqa: E402
from qtables.spec.expr.compiled import compile_node, empty_row_form  # noqa: E402

cell_values = st.one_of(st.none(), st.just(""), st.just("  "), st.integers(-50, 50), st.floats(-1e3, 1e3, allow_nan=False),
                        st.sampled_from([float("inf"), 0.0, -0.0, 1.5, "合格", "不合格", " 合格 ", "12", "x"]), st.booleans())
leaves = st.one_of(
    st.builds(Num, st.floats(-100, 100, allow_nan=False)),
    st.builds(Str, st.sampled_from(["", "合格", "x"])),
    st.builds(Const, st.sampled_from(["blank", "true", "false"])),
    st.builds(Ref, st.sampled_from([("a",), ("b",), ("c",)])),
)
ranges = st.builds(Ref, st.sampled_from([("r",), ("s",)]))


def _trees(children):
    binary = st.builds(Binary, st.sampled_from(["+", "-", "*", "/", "=", "!=", "<", "<=", ">", ">=", "and", "or"]), children, children)
    unary = st.builds(Unary, st.sampled_from(["-", "not"]), children)
    calls = st.one_of(
        st.builds(lambda a, b, c: Call("if", (a, b, c)), children, children, children),
        st.builds(lambda name, a: Call(name, (a,)), st.sampled_from(["abs", "isblank", "isnumber", "isint"]), children),
        st.builds(lambda a, b: Call("round", (a, b)), children, children),
        st.builds(lambda name, a, b: Call(name, (a, b)), st.sampled_from(["min", "max"]), children, children),
        st.builds(lambda a, b, c: Call("approx", (a, b, c)), children, children, children),
        st.builds(lambda name, r: Call(name, (r,)), st.sampled_from(["sum", "count"]), ranges),
        st.builds(lambda name, r, q: Call(name, (r, q)), st.sampled_from(["sumproduct", "filledweight"]), ranges, ranges),
        st.builds(lambda r, k: Call("counteq", (r, k)), ranges, children),
        st.builds(lambda r, lo, hi: Call("countbetween", (r, lo, hi)), ranges, children, children),
        st.builds(lambda r, lo, hi, k, v: Call("countbetweenif", (r, lo, hi, k, v)), ranges, children, children, ranges, children),
        st.builds(lambda a: Call("oneof", (a, Str("结论"))), children),
        st.just(Call("rowfilled", ())),
        st.just(Call("rownum", ())),
    )
    return st.one_of(binary, unary, calls)


trees = st.recursive(leaves, _trees, max_leaves=12)


def _outcome(run):
    try:
        value = run()
    except EvalError as exc:
        return ("error", str(exc))
    if isinstance(value, float) and value != value:
        return ("value", "nan", float)  # NaN is not equal to itself; both runtimes giving it is agreement
    return ("value", value, type(value))


@given(tree=trees, a=cell_values, b=cell_values, c=cell_values,
       r=st.lists(cell_values, max_size=4), s=st.lists(cell_values, max_size=4))
def test_compiled_rules_give_what_the_reference_interpreter_gives(tree, a, b, c, r, s):
    env = Env({"a": a, "b": b, "c": c}, {"r": r, "s": s}, row=[a, b, c])
    assert _outcome(lambda: compile_node(tree)(env)) == _outcome(lambda: expr.evaluate(tree, env))


@given(tree=trees, a=cell_values, b=cell_values)
def test_the_empty_row_form_equals_the_tree_on_an_empty_row(tree, a, b):
    env = Env({"a": a, "b": b}, {"r": [a], "s": [b]}, row=[None, "", "  "])
    assert _outcome(lambda: expr.evaluate(empty_row_form(tree), env)) == _outcome(lambda: expr.evaluate(tree, env))


def test_every_spec_expression_agrees_on_a_real_filling(spec, workspace, monkeypatch):
    """Each rule of the spec, on every row of a generated filling (with a few cells broken), in both runtimes."""
    import copy

    from qtables.devtools import samplegen
    from qtables.issue.request import IssueRequest
    from qtables.issue.workbook import _apply_values
    from qtables.period import Period
    from qtables.template.layout import TableLayout
    from qtables.template.names import tables_for
    from qtables.template.derived import blank_data, compute_derived
    from qtables.template.rules import _Env

    unit, period = workspace.registry.unit("410300"), Period.parse("2025Q3")
    sets, tids = tables_for(spec, period)
    layouts = [TableLayout.for_unit(spec.table(t), unit) for t in tids]
    values = copy.deepcopy(samplegen.generate(layouts, unit, period, seed=5).values)
    values["t5"][0]["satisfaction_rate"] = 130
    values["t5"][1]["new_count"] = "十二"
    values["t3"][0]["structure"] = "木屋"
    data = blank_data(spec, period, layouts)
    _apply_values(data, IssueRequest(unit, period, tids, sets, values=values))
    compute_derived(data)
    compared = fails = 0
    for rule in spec.rules_for(sets, tids):
        td = data.tables[rule.table]
        envs = [_Env(data, rule.table, None, "table")] if rule.scope == "table" else \
            [_Env(data, rule.table, i, "row") for i in range(len(td.rows))]
        for env in envs:
            for node in (rule.when, rule.assertion, rule.found, rule.expected):
                if node is not None:
                    got = _outcome(lambda: compile_node(node)(env))
                    assert got == _outcome(lambda: expr.evaluate(node, env)), (rule.code, env.row)
                    compared += 1
                    fails += got[0] == "value" and node is rule.assertion and got[1] is False
    assert compared > 2000 and fails >= 3
    # The checker's fast path (failures only) reports exactly the failures and n/a of the full run.
    from qtables.template.rules import run_rules

    def shown(results):
        return [(r.rule.code, r.rule.table, r.row, r.status, r.found, r.expected, r.error, r.at_total) for r in results]
    rules = spec.rules_for(sets, tids)
    everything = run_rules(rules, data)
    assert shown(run_rules(rules, data, passes=False)) == shown(r for r in everything if r.status != "pass")
    assert sum(r.status == "fail" for r in everything) >= 3
    # Aggregates see a detail table's empty rows as one value repeated (TableData.column): the same verdicts as
    # every row read in order.
    import qtables.template.rules as rules_module

    with monkeypatch.context() as m:
        m.setattr(rules_module.TableData, "column", lambda self, cid: [r.get(cid) for r in self.rows])
        assert shown(run_rules(rules, data)) == shown(everything)


class _RowEnv(Env):
    """A table's environment as the checker's: a row dict as ``own``, moved from row to row."""

    def __init__(self, rows, ranges):
        super().__init__({}, ranges)
        self.rows, self.own, self.row = rows, None, None

    def value(self, ref: Ref):
        return self.own.get(ref.dotted)

    def row_values(self):
        return [self.own.get(k) for k in ("a", "b", "c")]

    def row_number(self):
        return self.row + 1


@given(when=st.one_of(st.none(), trees), assertion=trees,
       rows=st.lists(st.fixed_dictionaries({"a": cell_values, "b": cell_values, "c": cell_values}), min_size=1, max_size=5),
       r=st.lists(cell_values, max_size=4), s=st.lists(cell_values, max_size=4))
def test_generated_row_checkers_fail_exactly_the_rows_the_closures_fail(when, assertion, rows, r, s):
    from qtables.spec.expr.rowgen import row_checker

    env = _RowEnv(rows, {"r": r, "s": s})

    def fails(i):
        env.row, env.own = i, rows[i]
        try:
            return not ((when is not None and not expr.truth(compile_node(when)(env))) or expr.truth(compile_node(assertion)(env)))
        except EvalError:
            return True
    every = list(range(len(rows)))
    assert row_checker(when, assertion)(env, rows, every) == [i for i in every if fails(i)]
    # The form for rows known to hold input: rowfilled() is true there.
    filled = [i for i in every if any(not expr._blank(v) for v in rows[i].values())]
    assert row_checker(when, assertion, filled=True)(env, rows, filled) == [i for i in filled if fails(i)]


def test_generated_rule_loops_are_compiled_once_and_kept_between_runs(tmp_path, monkeypatch):
    """Compiling the loops costs a single check ~25 ms: the code is kept in the cache folder, a damaged file recompiled."""
    from qtables.spec.expr import rowgen

    monkeypatch.setenv("QTABLES_CACHE", str(tmp_path))
    tests = [(None, expr.parse("a + 0 >= 0")), (expr.parse("not isblank(b)"), expr.parse("b <= 100"))]  # "x" + 0: an error
    rows = [{"a": 1.0, "b": 50.0}, {"a": -1.0, "b": 150.0}, {"a": "x", "b": None}]
    first = rowgen._Generator(False).function(tests)
    [kept] = list((tmp_path / "rules").iterdir())
    assert first(None, rows, range(3)) == [[1, 2], [1]]
    kept.write_bytes(b"not marshal")
    again = rowgen._Generator(False).function(tests)
    assert again(None, rows, range(3)) == [[1, 2], [1]]
    assert kept.read_bytes() != b"not marshal"  # rewritten
    monkeypatch.setenv("QTABLES_CACHE", "off")
    assert rowgen._Generator(False).function(tests)(None, rows, range(3)) == [[1, 2], [1]]


def test_two_columns_of_a_detail_table_pair_the_same_rows_whatever_the_empty_rows_hold(spec, workspace):
    """sumproduct and filledweight pair two columns row by row: with the empty rows read last (TableData.column),
    an input column and a derived one still pair each filled row with itself."""
    from qtables.period import Period
    from qtables.template.layout import TableLayout
    from qtables.template.rules import TableData, WorkbookData, _Env

    table = spec.table("t3")
    layout = TableLayout.for_unit(table, workspace.registry.unit("410300"))
    rows = [{"area": None, "cost": None, "seq": i + 1} for i in range(len(layout.rows))]
    rows[3].update(area=1000.0, cost=250.0)
    rows[7].update(area=2000.0, cost=400.0)
    data = WorkbookData(spec, Period.parse("2025Q3"), {"t3": TableData(layout, rows)})
    env = _Env(data, "t3", None, "table", {})
    pairs = lambda text: expr.evaluate(expr.parse(text), env)  # noqa: E731
    assert pairs("sumproduct(area, cost)") == 1000.0 * 250.0 + 2000.0 * 400.0
    assert pairs("sumproduct(area, seq)") == 1000.0 * 4 + 2000.0 * 8  # seq differs on every row, empty ones too
    assert pairs("filledweight(area, seq)") == 4 + 8
