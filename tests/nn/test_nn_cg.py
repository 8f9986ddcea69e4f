"""Truncated conjugate gradient ``riemannopt.nn.solve_damped`` against dense linear algebra."""

import numpy as np
import pytest

from riemannopt.errors import InputError, NonFiniteError, ShapeError
from riemannopt.nn import MLP, solve_damped


def spd(n, cond, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * np.geomspace(1, cond, n)) @ Q.T, rng.standard_normal(n)


def test_solves_spd_system_to_tolerance():
    """‖b − A x‖ ≤ 1e-10 ‖b‖ and x equal to numpy.linalg.solve (1e-8)."""
    A, b = spd(30, 1e3)
    res = solve_damped(lambda x: A @ x, b, tol=1e-10, eps=0, max_iter=500)
    assert res.converged and res.reason == "residual"
    assert np.linalg.norm(b - A @ res.x) <= 1e-10 * np.linalg.norm(b)
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=0, atol=1e-8 * np.linalg.norm(res.x))
    # q(x) = ½xᵀAx − bᵀx is non-increasing along CG iterates and recorded correctly.
    assert len(res.q) == res.iterations + 1 and res.q[0] == 0
    assert np.all(np.diff(res.q) <= 1e-12)
    assert res.q[-1] == pytest.approx(0.5 * res.x @ A @ res.x - b @ res.x, rel=1e-10)


def test_respects_iteration_cap():
    A, b = spd(50, 1e6)
    calls = []
    res = solve_damped(lambda x: calls.append(1) or A @ x, b, max_iter=7, tol=1e-14)
    assert res.iterations == 7 and len(calls) == 7
    assert not res.converged and res.reason == "max_iter"


def test_martens_progress_rule_stops_early():
    """On an ill-conditioned system the relative-progress rule fires before the residual is small,
    and at its firing step the rule's inequality holds for the recorded q."""
    rng = np.random.default_rng(1)
    lam = np.geomspace(1e-6, 1, 200)
    A, b = np.diag(lam), lam * rng.standard_normal(200)  # q's minimum set by the large eigenvalues
    res = solve_damped(lambda x: A @ x, b, max_iter=200, eps=5e-4)
    assert res.reason == "progress" and res.converged
    i = res.iterations
    k = max(10, int(np.ceil(0.1 * i)))
    assert i > k and res.q[i] < 0 and (res.q[i] - res.q[i - k]) / res.q[i] < k * 5e-4
    assert res.iterations < 50 and np.linalg.norm(b - A @ res.x) > 1e-3 * np.linalg.norm(b)


def test_damping_with_diagonal_and_preconditioner():
    """(A + λ D) x = b with D a given diagonal; a diagonal preconditioner on a badly scaled
    system gives the same solution (1e-8) in fewer iterations."""
    rng = np.random.default_rng(2)
    A0, b = spd(40, 10.0, seed=2)
    scale = np.geomspace(1, 1e3, 40)
    A = A0 * scale[:, None] * scale[None, :]
    D = rng.uniform(0.5, 2.0, 40)
    lam = 0.3
    want = np.linalg.solve(A + lam * np.diag(D), b)
    plain = solve_damped(lambda x: A @ x, b, lam, diag=D, tol=1e-12, eps=0, max_iter=1000)
    pre = solve_damped(lambda x: A @ x, b, lam, diag=D, precond=np.diag(A) + lam * D, tol=1e-12, eps=0)
    for res in (plain, pre):
        np.testing.assert_allclose(res.x, want, rtol=0, atol=1e-8 * np.linalg.norm(want))
    assert pre.iterations < plain.iterations


def test_warm_start_and_zero_rhs():
    A, b = spd(10, 10.0)
    exact = np.linalg.solve(A, b)
    res = solve_damped(lambda x: A @ x, b, x0=exact, tol=1e-8)
    assert res.iterations == 0 and res.reason == "residual"
    res = solve_damped(lambda x: A @ x, np.zeros(10))
    assert res.iterations == 0 and res.converged and not np.any(res.x)


def test_negative_curvature_stops():
    A = np.diag([1.0, -1.0])
    res = solve_damped(lambda x: A @ x, np.array([0.0, 1.0]))
    assert res.reason == "negative_curvature" and not res.converged and res.iterations == 0


def test_damped_fisher_system_of_a_network():
    """CG on fisher_vp of a stored linearization solves (F + λI) x = −∇L like a dense solve with
    F built column by column from fisher_vp (1e-8)."""
    net = MLP([3, 4, 3], ["tanh", "softmax"], "softmax_ce")
    rng = np.random.default_rng(0)
    theta = net.init(0, scheme="gaussian")
    X, labels = rng.standard_normal((20, 3)), rng.integers(0, 3, 20)
    state = net.linearize(theta, X)
    b = -state.gradient(labels)
    F = np.column_stack([state.fisher_vp(e) for e in np.eye(net.n_params)])
    res = solve_damped(state.fisher_vp, b, 1e-2, tol=1e-12, eps=0, max_iter=200)
    want = np.linalg.solve(F + 1e-2 * np.eye(net.n_params), b)
    np.testing.assert_allclose(res.x, want, rtol=0, atol=1e-8 * np.linalg.norm(want))


def test_bad_inputs():
    A, b = spd(5, 2.0)
    mv = lambda x: A @ x  # noqa: E731
    with pytest.raises(ShapeError, match="b must be a vector"):
        solve_damped(mv, A)
    with pytest.raises(ShapeError, match="x0 must have shape"):
        solve_damped(mv, b, x0=np.zeros(4))
    with pytest.raises(ShapeError, match="matvec"):
        solve_damped(lambda x: x[:3], b)
    with pytest.raises(InputError, match="damping"):
        solve_damped(mv, b, -1.0)
    with pytest.raises(InputError, match="positive"):
        solve_damped(mv, b, precond=np.zeros(5))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(damping=float("nan")), "damping must be a finite number >= 0, got nan"),
        (dict(damping=float("inf")), "damping must be a finite number >= 0"),
        (dict(damping="1"), "damping must be a finite number"),
        (dict(eps=-1e-3), "eps must be a finite number >= 0"),
        (dict(tol=float("nan")), "tol must be a finite number >= 0"),
        (dict(max_iter=2.5), "max_iter must be an integer >= 0"),
        (dict(x0=[0, 0, float("nan"), 0, 0]), r"x0 must be finite, but x0\[2\] = nan"),
        (dict(diag=[1, 1, 1, -1, 1]), r"diag must be non-negative, but diag\[3\]"),
        (dict(precond=[1, 1, 1, 1, float("inf")]), r"precond must be finite, but precond\[4\] = inf"),
    ],
)
def test_bad_values_raise_input_error_naming_the_argument(kwargs, match):
    A, b = spd(5, 2.0)
    with pytest.raises(InputError, match=match):
        solve_damped(lambda x: A @ x, b, **kwargs)


def test_nan_right_hand_side_is_rejected_not_solved():
    """A NaN in b used to return x = 0 with reason 'negative_curvature'."""
    A, b = spd(5, 2.0)
    b[1] = np.nan
    with pytest.raises(InputError, match=r"b must be finite, but b\[1\] = nan"):
        solve_damped(lambda x: A @ x, b)
    with pytest.raises(InputError, match="b must be numeric"):
        solve_damped(lambda x: A @ x, ["a", "b"])


def test_non_finite_curvature_product_mid_run_keeps_the_last_iterate():
    """The product turns NaN at the third call, in CG step 3: the error names that step and carries the
    iterate computed before it (two steps of plain CG, recomputed here by hand)."""
    A, b = spd(5, 2.0)
    calls = []

    def mv(x):
        calls.append(1)
        return A @ x if len(calls) < 3 else np.full(5, np.nan)

    with pytest.raises(NonFiniteError, match="CG step 3") as info:
        solve_damped(mv, b, max_iter=10, eps=0)
    x = np.zeros(5)
    r = b.copy()
    p = r.copy()
    for _ in range(2):
        ap = A @ p
        alpha = (r @ r) / (p @ ap)
        x = x + alpha * p
        r_new = r - alpha * ap
        p = r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    np.testing.assert_allclose(info.value.point, x, rtol=1e-12)
