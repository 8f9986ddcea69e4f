"""Searches of a Hessian-free iteration (riemannopt.nn.search) and the CG iterates they choose
from (solve_damped(save=True)), against brute force and plain CG recomputed here."""

import math

import numpy as np
import pytest

from riemannopt.nn import solve_damped
from riemannopt.nn.cg import save_schedule
from riemannopt.nn.search import armijo, backtrack


def test_save_schedule_is_martens():
    """i = ⌈5·1.3ʲ⌉ up to the cap, computed here by hand for j = 0..9."""
    assert save_schedule(60) == [5, 7, 9, 11, 15, 19, 25, 32, 41, 54]
    assert save_schedule(4) == [] and save_schedule(5) == [5]


def test_saved_iterates_are_the_cg_iterates():
    """Each saved x_i equals the iterate of a CG run capped at i steps (a separate run), and the
    last saved entry is the returned x itself."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    A = (Q * np.geomspace(1, 1e4, 40)) @ Q.T
    b = rng.standard_normal(40)
    res = solve_damped(lambda x: A @ x, b, 0.1, max_iter=30, eps=0, save=True)
    steps = [i for i, _ in res.saved]
    assert steps == [5, 7, 9, 11, 15, 19, 25, 30]
    assert res.saved[-1][1] is res.x
    for i, x in res.saved:
        capped = solve_damped(lambda x: A @ x, b, 0.1, max_iter=i, eps=0)
        np.testing.assert_array_equal(x, capped.x)
    assert solve_damped(lambda x: A @ x, b, 0.1, max_iter=30, eps=0).saved == []


def test_backtracking_picks_the_best_saved_iterate():
    """CG iterates of a quadratic model, judged by a different objective (the model plus a
    quartic term, as the true loss differs from the minibatch model): along the saved iterates
    it falls then rises, and backtracking returns the brute-force argmin."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    A = (Q * np.geomspace(1, 1e3, 30)) @ Q.T
    b = rng.standard_normal(30)
    # 30 iterations: CG on this 30-dimensional quadratic has then converged; iterates saved past
    # that differ only by round-off, whose sign depends on the BLAS build.
    res = solve_damped(lambda x: A @ x, b, max_iter=30, eps=0, save=True)
    xs = [x for _, x in res.saved]

    def f(x):
        return 0.5 * x @ A @ x - b @ x + 0.5 * np.sum(x**4)

    values = [f(x) for x in xs]
    best = int(np.argmin(values))
    assert 0 < best < len(xs) - 1  # the case the search exists for: falls, then rises
    assert np.all(np.diff(values[: best + 1]) < 0) and np.all(np.diff(values[best:]) > 0)
    found = backtrack(xs, lambda x: (f(x), x))
    assert found.index == best and found.payload is xs[best] and found.value == values[best]
    # It stops one candidate before the best: the last len(xs) − best evaluations plus one.
    assert found.evaluations == len(xs) - best + 1


@pytest.mark.parametrize(
    "values, index",
    [([5.0, 4.0, 3.0], 2), ([1.0, 2.0, 3.0], 0), ([3.0, 1.0, 1.0], 1), ([2.0, float("nan")], 0), ([7.0], 0)],
)
def test_backtracking_scan(values, index):
    """From the last candidate, step back while the earlier one is at least as good; NaN counts
    as worse than anything."""
    assert backtrack(list(range(len(values))), lambda i: (values[i], i)).index == index


def test_armijo_on_a_one_dimensional_function():
    """φ(r) = f(x₀ + r·p), f(x) = (x − 1)², x₀ = 0, p = 4 (an overshooting step): the accepted rate
    is the first of 1, 0.8, 0.64, ... with f(4r) ≤ f(0) + 10⁻²·r·f'(0)·p, found here by a loop."""
    f = lambda x: (x - 1.0) ** 2  # noqa: E731
    slope = -2.0 * 4.0
    calls = []

    def evaluate(r):
        calls.append(r)
        return f(4.0 * r), r

    res = armijo(evaluate, f(0.0), slope)
    r = 1.0
    while not f(4.0 * r) <= f(0.0) + 1e-2 * r * slope:
        r *= 0.8
    assert res.rate == pytest.approx(r, rel=1e-15) and res.payload == res.rate
    assert res.index == len(calls) == round(math.log(r) / math.log(0.8)) + 1
    assert res.value == f(4.0 * r)


def test_armijo_reuses_a_known_first_value_and_gives_up():
    calls = []
    res = armijo(lambda r: calls.append(r) or (0.5, "later"), 1.0, -1.0, first=(0.2, "first"))
    assert res.rate == 1.0 and res.payload == "first" and calls == []
    # An ascent direction: every rate raises φ, so after max_tries the step is rejected.
    res = armijo(lambda r: (1.0 + r, None), 1.0, 0.5, max_tries=5)
    assert res.rate == 0.0 and res.value == 1.0 and res.payload is None and res.evaluations == 5
