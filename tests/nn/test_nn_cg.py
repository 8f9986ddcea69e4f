"""Truncated conjugate gradient ``riemannopt.nn.solve_damped`` against dense linear algebra."""

import numpy as np
import pytest

from riemannopt.errors import MethodError, ShapeError
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
    with pytest.raises(MethodError, match="damping"):
        solve_damped(mv, b, -1.0)
    with pytest.raises(MethodError, match="positive"):
        solve_damped(mv, b, precond=np.zeros(5))
