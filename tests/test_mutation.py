"""Mutation test: the checks reject at least 95 % of small mutations of every solution's answer.

Each solution function is mutated one change at a time - an arithmetic operator, a comparison, a
numeric constant, a sign, a reduction (sum/mean, max/min, argmin/argmax, the dimension), exp/log,
a dropped ``.detach()`` - and checked in this process. The build-and-train and
predict-then-measure exercises (whose checks train models) have targeted wrong answers in
tests/test_depths.py instead. Mutants that compute the same function are
declared in ``EQUIVALENT`` with the reason; the others must be rejected.
"""

import ast
import copy
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from genlearn.checks import registry, run_check
from genlearn.checks.notebook import code_cells, load_definitions, notebook_exercises

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py"))
KILL_RATE = 0.95

BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult}
COMPARES = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq}
METHODS = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "argmin": "argmax", "argmax": "argmin",
           "exp": "log", "log": "exp", "sqrt": "exp", "std": "var", "var": "std", "softplus": "relu"}

# (exercise, a snippet of the mutant's source): why that mutant computes the same function on the inputs the
# exercise specifies
EQUIVALENT = {
    ("interpolate", ".clamp(-1, 2)"): "a cosine is never above 1: the clamp only guards against rounding",
    ("interpolate", ".clamp(-2, 1)"): "a cosine is never below -1: the clamp only guards against rounding",
    ("loglog_slope", "(v + v.mean())"): "u is centred, so adding a constant to v leaves sum(u * v) unchanged",
    ("loglog_slope", "(v - v.sum())"): "u is centred, so adding a constant to v leaves sum(u * v) unchanged",
    ("bernoulli_nll", ".sum(+1)"): "for the specified (batch, pixels) inputs dim 1 is the last dimension",
    ("negative_elbo", ".sum(+1)"): "for the specified (batch, latent) inputs dim 1 is the last dimension",
    ("paired_verdict", "high <= 0"): "an interval end exactly at 0 never happens for the real-valued scores specified",
    ("paired_verdict", "low >= 0"): "an interval end exactly at 0 never happens for the real-valued scores specified",
    ("discretized_logistic_nll", ".sum(+1)"): "for the specified (batch, pixels) inputs dim 1 is the last dimension",
    ("nearest_code", ".mean(-1)"): "the mean is the sum over a constant number of dimensions: same argmin",
}


def _mutations(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(description, mutated copy) for every single change to the function body."""
    nodes = list(ast.walk(tree))
    for index, node in enumerate(nodes):
        def variant(change, description, index=index):
            return _variant(tree, index, change, description)

        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            yield from variant(lambda n: setattr(n, "op", BINOPS[type(n.op)]()),
                               f"{type(node.op).__name__}->{BINOPS[type(node.op)].__name__}")
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in COMPARES:
            yield from variant(lambda n: n.ops.__setitem__(0, COMPARES[type(n.ops[0])]()),
                               f"{type(node.ops[0]).__name__}->{COMPARES[type(node.ops[0])].__name__}")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield from variant(lambda n: setattr(n, "op", ast.UAdd()), "drop minus")
        elif (isinstance(node, ast.Constant) and type(node.value) in (int, float)
              and not isinstance(node.value, bool)):
            yield from variant(lambda n: setattr(n, "value", n.value + 1), f"{node.value}->{node.value + 1}")
        elif isinstance(node, ast.Attribute) and node.attr in METHODS:
            yield from variant(lambda n: setattr(n, "attr", METHODS[n.attr]), f".{node.attr}->.{METHODS[node.attr]}")
        elif isinstance(node, ast.keyword) and node.arg in ("dim", "min", "max"):
            other = {"min": "max", "max": "min"}.get(node.arg)
            if other:
                yield from variant(lambda n, other=other: setattr(n, "arg", other), f"{node.arg}=->{other}=")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "detach":
            yield from _drop_detach(tree, index)


def _variant(tree: ast.AST, index: int, change, description: str) -> Iterator[tuple[str, ast.AST]]:
    clone = copy.deepcopy(tree)
    change(list(ast.walk(clone))[index])
    yield description, clone


def _drop_detach(tree: ast.AST, index: int) -> Iterator[tuple[str, ast.AST]]:
    clone = copy.deepcopy(tree)
    target = list(ast.walk(clone))[index]

    class Drop(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            return node.func.value if node is target else node

    yield "drop .detach()", Drop().visit(clone)


@contextmanager
def _time_limit(seconds: int):
    def stop(*_):
        raise TimeoutError("mutant ran too long")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def mutation_report(solution: Path) -> tuple[int, int, list[str]]:
    """(mutants, killed, survivors) of every exercise function of ``solution``."""
    namespace, problems = load_definitions(code_cells(solution), solution.name)
    assert not problems, problems
    functions = {node.name: node for node in ast.parse(solution.read_text()).body if isinstance(node, ast.FunctionDef)}
    total = killed = 0
    survivors = []
    exercises = registry()
    for exercise_id, name in notebook_exercises(solution):
        if exercises[exercise_id].depth != "function":  # build-and-train and predict exercises: tests/test_depths.py
            continue
        for description, mutant in _mutations(functions[name]):
            source = ast.unparse(mutant)
            if any(ex == exercise_id and snippet in source for ex, snippet in EQUIVALENT):
                continue
            scope = dict(namespace)
            try:
                exec(compile(ast.fix_missing_locations(ast.Module(body=[mutant], type_ignores=[])), "<mutant>", "exec"),
                     scope)
            except Exception:  # noqa: BLE001 - a mutant that does not compile is rejected
                total, killed = total + 1, killed + 1
                continue
            with _time_limit(10):
                result = run_check(exercise_id, scope[name])
            total += 1
            if result.passed:
                survivors.append(f"{exercise_id}: {description}: {ast.unparse(mutant).splitlines()[2:][:6]}")
            else:
                killed += 1
    return total, killed, survivors


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_checks_reject_mutated_answers(solution):
    total, killed, survivors = mutation_report(solution)
    assert total >= 10, f"only {total} mutants of {solution.name}"
    assert killed / total >= KILL_RATE, (f"{solution.name}: {killed}/{total} mutants rejected; survivors:\n"
                                         + "\n".join(survivors))


def test_mutator_makes_the_expected_kinds_of_mutants():
    tree = ast.parse("def f(x, y):\n    return (x - y.detach()).pow(2).sum(dim=1).mean() / 2\n").body[0]
    kinds = {d for d, _ in _mutations(tree)}
    assert {"Sub->Add", "Div->Mult", "2->3", ".sum->.mean", ".mean->.sum", "drop .detach()"} <= kinds
