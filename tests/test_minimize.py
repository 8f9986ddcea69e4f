"""``ro.minimize``: natural gradient with a line search, natural and Riemannian conjugate gradient
(issue 25 item 2).

The registry (:data:`riemannopt.MINIMIZERS`) declares each method's properties and the tests
below read them: every method and β rule converges to the minimiser of Gamma, the half-plane and
a logistic regression (minimisers computed independently: Gamma's from its likelihood equation
with scipy's digamma, the half-plane's in closed form, the regression's by Newton's method in
numpy); the invariant ones give the same iterates in a nonlinear reparameterization (mapped back)
and the others do not; the conjugate ones have conjugate directions on a quadratic loss with a
constant metric (Pascanu & Bengio 2014 eq. 23 for NCG-L) and terminate in ``n`` iterations.  The
update rules are checked against numpy transcriptions built on the public ``exp_map``,
``parallel_transport`` and ``direction``.
"""

import numpy as np
import pytest
import sympy as sp
from scipy import optimize, special

import riemannopt as ro
from riemannopt.errors import DomainError, MethodError, NotPositiveDefiniteError, ShapeError
from riemannopt.integrators import binding
from riemannopt.minimizers import kernels

# every method with every β rule it accepts (the default first)
VARIANTS = [(name, beta) for name, m in ro.MINIMIZERS.items() for beta in (m.betas or (None,))]
IDS = [name + (f"-{beta}" if beta else "") for name, beta in VARIANTS]


def _gamma_minimiser(data):
    """The Gamma MLE: ``log α − ψ(α) = log mean(x) − mean(log x)``, ``β = α / mean(x)``."""
    rhs = np.log(data.mean()) - np.log(data).mean()
    a = optimize.brentq(lambda a: np.log(a) - special.digamma(a) - rhs, 1e-3, 1e4, xtol=1e-15, rtol=1e-15)
    return np.array([a, a / data.mean()])


def _logistic_minimiser(X, y):
    w = np.zeros(X.shape[1])
    for _ in range(40):
        s = 1 / (1 + np.exp(-X @ w))
        w -= np.linalg.solve((X * (s * (1 - s))[:, None]).T @ X, X.T @ (s - y))
    return w


@pytest.fixture(scope="module")
def problems(gamma_compiled):
    """name -> (compiled problem, start point, independent minimiser)."""
    X, y = ro.models.logistic_data()
    return {
        "gamma": (gamma_compiled, (1.0, 1.0), _gamma_minimiser(ro.models.gamma_data())),
        "half-plane": (ro.models.poincare_half_plane().compile(), (-1.0, 0.3), np.array([0.5, 2.0])),
        "logistic": (ro.models.logistic_regression(X, y).compile(), (0.3, 0.6), _logistic_minimiser(X, y)),
    }


@pytest.mark.parametrize("problem", ["gamma", "half-plane", "logistic"])
@pytest.mark.parametrize(("method", "beta"), VARIANTS, ids=IDS)
def test_converges_to_the_minimiser(problems, problem, method, beta):
    """Stopped by ‖ξ‖ ≤ 1e-10, the last iterate is within 1e-10 (relative) of the minimiser; the
    result's fields agree with the problem's own functions at it."""
    C, x0, xstar = problems[problem]
    res = ro.minimize(C, method, x0, beta=beta, tol=1e-10)
    assert res.success and res.status == 0, res.message
    assert res.grad_norm <= 1e-10
    np.testing.assert_allclose(res.x, xstar, rtol=1e-10, atol=1e-10)
    # the fields, against the compiled problem
    assert res.fun == pytest.approx(C.loss(res.x), rel=1e-15, abs=1e-15)
    np.testing.assert_allclose(res.jac, C.grad(res.x), rtol=1e-15, atol=1e-17)
    assert res.grad_norm == pytest.approx(np.sqrt(res.jac @ np.linalg.solve(C.metric(res.x), res.jac)), rel=1e-6)
    assert res.grad_norm == res.grad_norms[-1] and np.all(res.grad_norms[:-1] > 1e-10)
    np.testing.assert_array_equal(res.trajectory.x[0], x0)
    assert len(res.trajectory) == res.nit + 1 == len(res.grad_norms)
    assert len(res.steps) == len(res.betas) == len(res.directions) == res.nit
    entry = ro.MINIMIZERS[method]
    assert (res.nsolves > 0) == (entry.curve == "geodesic")
    assert (res.nhev > 0) == entry.uses_hessian
    assert res.method == method and res.beta == (beta or (entry.betas[0] if entry.betas else None))


def _reparameterized_runs(base, reparam, x0, method, beta):
    Q = base.reparameterize(*reparam)
    r0 = ro.minimize(base, method, x0, beta=beta)
    r1 = ro.minimize(Q, method, Q.from_base(np.asarray(x0)), beta=beta)
    return r0, r1, Q.to_base(r1.trajectory.x)


@pytest.mark.parametrize(
    ("problem", "reparam"),
    [("gamma", "squares"), ("gamma", "inv_beta"), ("half-plane", "log_y")],
)
@pytest.mark.parametrize(("method", "beta"), VARIANTS, ids=IDS)
def test_invariance_as_declared(problems, gamma_problem, problem, reparam, method, beta):
    """An invariant method's iterates, run in nonlinear coordinates (Gamma's (α², β²) and
    (α, 1/β), the half-plane's (x, log y)) and mapped back, are the base run's to 1e-9 and it
    stops at the same iteration (measured: gaps below 1e-11; the line search's decisions depend
    only on φ and φ', the same in every coordinate system).  A non-invariant one is already
    1e-3 away at the first iterate (measured: 5e-3 to 0.9)."""
    if problem == "gamma":
        base, reps = gamma_problem, ro.models.GAMMA_REPARAMS
    else:
        base, reps = problems["half-plane"][0].problem, ro.models.HALF_PLANE_REPARAMS
    x0 = problems[problem][1]
    r0, r1, back = _reparameterized_runs(base, reps[reparam], x0, method, beta)
    ref = r0.trajectory.x
    k = min(len(ref), len(back))
    gap = np.abs(back[:k] - ref[:k]).max(axis=1) / np.abs(ref[:k]).max(axis=1)
    if ro.MINIMIZERS[method].invariant:
        assert r1.nit == r0.nit
        assert gap.max() <= 1e-9, gap
    else:
        assert gap[1] >= 1e-3, gap


def _quadratic(n=4):
    """``L = ½xᵀAx − bᵀx`` with the constant metric ``G`` (neither the identity nor ∝ A)."""
    xs = sp.symbols(f"x0:{n}", real=True)
    A = sp.Matrix([[4, 1, 0, 0], [1, 3, 1, 0], [0, 1, 5, 2], [0, 0, 2, 6]])
    G = sp.Matrix([[2, 0, 1, 0], [0, 1, 0, 0], [1, 0, 3, 1], [0, 0, 1, 1]])
    b = sp.Matrix([1, -2, 3, 1])
    x = sp.Matrix(xs)
    P = ro.Problem(ro.Metric(list(xs), G), (x.T * A * x / 2)[0] - (b.T * x)[0])
    An = np.array(A, dtype=float)
    return P.compile(), An, np.linalg.solve(An, np.array(b, dtype=float).ravel())


@pytest.fixture(scope="module")
def quadratic():
    return _quadratic()


@pytest.mark.parametrize(("method", "beta"), VARIANTS, ids=IDS)
def test_quadratic_conjugacy_and_n_step_termination(quadratic, method, beta):
    """On a quadratic loss with a constant metric, a conjugate method's directions are
    A-conjugate, ``d_iᵀ A d_j ≈ 0`` (eq. 23 for NCG-L's consecutive ones; every pair for the
    preconditioned-CG ones; measured 1e-13), and it reaches ‖ξ‖ ≤ 1e-10 within n = 4 iterations
    (from ‖ξ‖ = 2.6); ``ng-ls``, steepest descent in the metric, needs far more (94)."""
    C, A, xstar = quadratic
    n = len(xstar)
    res = ro.minimize(C, method, np.zeros(n), beta=beta, tol=1e-10)
    assert res.success
    np.testing.assert_allclose(res.x, xstar, atol=1e-10)
    D = res.directions
    # |cos| of the angle between d_i and d_j in the A inner product
    norm = np.sqrt(np.einsum("ki,ij,kj->k", D, A, D))
    cos = np.abs(D @ A @ D.T) / np.outer(norm, norm)
    if ro.MINIMIZERS[method].conjugate:
        assert res.nit <= n
        assert np.tril(cos, -1).max() <= 1e-8, cos
    else:
        assert res.nit > 5 * n
        assert np.diag(cos, -1).max() > 0.1  # consecutive directions far from conjugate


def test_ncg_l_direction_is_eq_22(problems):
    """NCG-L on the regression: ``d_k = −g⁻¹∇L(x_k) + β_k d_{k−1}`` (eq. 22, with ``direction``
    for the natural gradient) and ``x_{k+1} = x_k + α_k d_k``."""
    C, x0, _ = problems["logistic"]
    res = ro.minimize(C, "ncg-l", x0, tol=1e-12)
    X, D = res.trajectory.x, res.directions
    assert res.nit >= 2 and res.betas[0] == 0
    for k in range(res.nit):
        prev = D[k - 1] if k else np.zeros(C.n)
        np.testing.assert_allclose(D[k], C.direction(X[k]) + res.betas[k] * prev, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(X[k + 1], X[k] + res.steps[k] * D[k], rtol=1e-12, atol=1e-14)


def test_rcg_update_against_a_transcription(gamma_problem):
    """rcg (PR+) in the (α, 1/β) coordinates of Gamma, against a numpy transcription of Absil et
    al.'s update with the public ``exp_map`` and ``parallel_transport``: ``x_{k+1} =
    Exp_{x_k}(α_k d_k)``, ``β = max(0, ⟨ξ₊, ξ₊ − Pξ⟩ / ⟨ξ, ξ⟩)`` in the metric at ``x_{k+1}`` and
    ``d_{k+1} = −ξ₊ + β P d_k`` (restarts every n = 2 iterations), to the solver's tolerance."""
    Q = gamma_problem.reparameterize(*ro.models.GAMMA_REPARAMS["inv_beta"]).compile()
    res = ro.minimize(Q, "rcg", [5.0, 2.0], tol=1e-10)
    X, D = res.trajectory.x, res.directions
    assert res.nit >= 4
    for k in range(res.nit - 1):
        np.testing.assert_allclose(ro.exp_map(Q, X[k], res.steps[k] * D[k]), X[k + 1], rtol=1e-9)
        xi, xi1 = -Q.direction(X[k]), -Q.direction(X[k + 1])
        G1 = Q.metric(X[k + 1])
        Pd = ro.parallel_transport(Q, X[k], res.steps[k] * D[k], D[k])
        Pxi = ro.parallel_transport(Q, X[k], res.steps[k] * D[k], xi)
        beta = max(0.0, xi1 @ G1 @ (xi1 - Pxi) / (xi @ Q.metric(X[k]) @ xi)) if (k + 1) % 2 else 0.0
        assert res.betas[k + 1] == pytest.approx(beta, rel=1e-6, abs=1e-12)
        np.testing.assert_allclose(D[k + 1], -xi1 + beta * Pd, rtol=1e-8, atol=1e-12 * np.abs(D[k + 1]).max())


def test_ncg_f_polak_ribiere_ignores_the_change_of_metric(problems):
    """ncg-f's β is Polak–Ribière with natural gradients, the metric's change ignored:
    ``β = ∇L₊ᵀ(ξ₊ − ξ) / ∇Lᵀξ`` (clipped at 0), and its iterates lie on straight lines."""
    C, x0, _ = problems["half-plane"]
    res = ro.minimize(C, "ncg-f", x0, beta="pr", tol=1e-10)
    X, D = res.trajectory.x, res.directions
    assert res.nit >= 3
    for k in range(res.nit - 1):
        np.testing.assert_allclose(X[k + 1], X[k] + res.steps[k] * D[k], rtol=1e-15, atol=1e-15)
        g, g1 = C.grad(X[k]), C.grad(X[k + 1])
        xi, xi1 = -C.direction(X[k]), -C.direction(X[k + 1])
        beta = g1 @ (xi1 - xi) / (g @ xi) if (k + 1) % 2 else 0.0
        if beta != 0.0 and not g1 @ (-xi1 + beta * D[k]) < 0:
            beta = 0.0  # a restart: not a descent direction
        assert res.betas[k + 1] == pytest.approx(beta, rel=1e-6, abs=1e-14)


def test_maxiter_keeps_the_run(problems):
    """A run cut short by maxiter returns (no exception) its iterates and says why."""
    C, x0, _ = problems["half-plane"]
    res = ro.minimize(C, "ng-ls", x0, maxiter=5)
    assert not res.success and res.status == 1 and res.nit == 5
    assert "maxiter = 5" in res.message
    assert res.trajectory.x.shape == (6, 2) and np.all(np.isfinite(res.trajectory.x))
    assert np.all(np.diff(res.trajectory.loss) < 0)


def test_unbounded_loss_stops():
    """A loss without a minimum (L = −log y on y > 0, g = I/y²) cannot hang a run: it ends after
    maxiter iterations, every iterate valid and lower."""
    x, y = sp.symbols("x y", real=True)
    P = ro.Problem(ro.Metric([x, y], sp.diag(1 / y**2, 1 / y**2)), -sp.log(y) + x**2 / 2, domain=[y > 0])
    for method in ro.MINIMIZERS:
        res = ro.minimize(P, method, [0.5, 1.0], maxiter=8)
        assert not res.success and res.status in (1, 2), (method, res.message)
        assert np.all(np.diff(res.trajectory.loss) < 0)


def test_metric_not_positive_definite_carries_the_run():
    """An accepted iterate where the metric is not positive definite raises, naming the method,
    the iteration and the point, with the run so far: g = 1 − x²/4 at the minimiser x = 3 of
    (x − 3)²/2, reached by ncg-f's straight line search from 0 in one step."""
    x = sp.Symbol("x", real=True)
    P = ro.Problem(ro.Metric([x], [[1 - x**2 / 4]]), (x - 3) ** 2 / 2)
    with pytest.raises(NotPositiveDefiniteError, match=r"'ncg-f' failed at iteration 1: x_1 = \[3\.") as info:
        ro.minimize(P, "ncg-f", [0.0])
    exc = info.value
    assert exc.step == 1 and exc.point[0] == pytest.approx(3.0)
    np.testing.assert_array_equal(exc.trajectory.x, [[0.0]])
    assert exc.result.nit == 0 and not exc.result.success


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "bfgs"}, MethodError, "unknown minimizer 'bfgs'; choose one of ng-ls, ncg-f, ncg-l, rcg"),
        ({"method": "ng-ls", "beta": "fr"}, MethodError, "'ng-ls' takes no beta rule"),
        ({"method": "rcg", "beta": "hs"}, MethodError, "unknown beta rule 'hs'; choose one of pr\\+, pr, fr"),
        ({"tol": 0}, MethodError, "tol must be a finite number > 0, got 0"),
        ({"tol": float("nan")}, MethodError, "tol must be"),
        ({"maxiter": 0}, MethodError, "maxiter must be an integer >= 1"),
        ({"maxiter": 2.5}, MethodError, "maxiter must be an integer"),
        ({"line_search_tol": 1.0}, MethodError, "line_search_tol must be a finite number > 0 and < 1"),
        ({"line_search_maxiter": 0}, MethodError, "line_search_maxiter must be an integer >= 1"),
        ({"rtol": -1}, MethodError, "rtol must be"),
        ({"x0": [1.0, -1.0]}, DomainError, "x0"),
        ({"x0": [1.0, 1.0, 1.0]}, ShapeError, "x0"),
        ({"x0": [1.0, float("inf")]}, ro.errors.InputError, "x0"),
    ],
)
def test_bad_inputs(gamma_compiled, kwargs, error, match):
    args = {"method": "rcg", "x0": [1.0, 1.0]} | kwargs
    with pytest.raises(error, match=match):
        ro.minimize(gamma_compiled, args.pop("method"), args.pop("x0"), **args)


def test_registry_and_docstring():
    """Every method is described in minimize's docstring; every β rule named is known."""
    for name, m in ro.MINIMIZERS.items():
        assert f"``{name}``: {m.description}" in ro.minimize.__doc__
        assert m.curve in ("geodesic", "line", "plane")
        assert set(m.betas) <= set(ro.minimizers.BETAS)
        assert m.invariant == (m.curve == "geodesic")  # geometric searches are the invariant ones


def test_cached_loop_layout_is_bindings():
    """The cached loop was compiled for the address layout binding.py computes (else minimize
    compiles it afresh in every process, correct but slow): update kernels.LAYOUT."""
    assert kernels.LAYOUT == binding.LAYOUT


def test_loss_not_finite_at_the_start():
    """A start point where the loss is not finite (L = x² + 1/x at 0) fails at iteration 0 with
    an empty trajectory."""
    x = sp.Symbol("x", real=True)
    P = ro.Problem(ro.Metric([x], [[1]]), x**2 + 1 / x)
    with pytest.raises(ro.errors.NonFiniteError, match="'rcg' failed at iteration 0: x_0 = \\[0\\.\\]") as info:
        ro.minimize(P, "rcg", [0.0])
    assert len(info.value.trajectory) == 0 and info.value.result.nit == 0


def test_modified_newton_step_of_the_plane_search():
    """NCG-L's 2×2 step ``−V|Λ|⁻¹Vᵀg`` (eigenvalues made positive), against numpy's eigh, for
    definite, indefinite, diagonal and repeated-eigenvalue matrices."""
    rng = np.random.default_rng(3)
    cases = [np.diag([2.0, 0.5]), np.diag([0.5, 2.0]), np.eye(2), np.array([[1.0, 3.0], [3.0, -2.0]])]
    cases += [(lambda a: a + a.T)(rng.standard_normal((2, 2))) for _ in range(20)]
    for H in cases:
        g = rng.standard_normal(2)
        step = np.zeros(2)
        assert kernels._sym_solve(H, g, 2, step)
        lam, V = np.linalg.eigh(H)
        np.testing.assert_allclose(step, -V @ ((V.T @ g) / np.abs(lam)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", list(ro.MINIMIZERS))
def test_a_tol_below_rounding_ends_the_run(problems, method):
    """tol = 1e-30 cannot be met (the gradient's rounding is near 1e-16 on the regression): the
    run ends within a few iterations of reaching that floor, unsuccessful, instead of spending
    maxiter iterations of line searches on rounding."""
    C, x0, xstar = problems["logistic"]
    res = ro.minimize(C, method, x0, tol=1e-30, maxiter=300)
    assert not res.success and res.status in (2, 5), res.message
    assert "rounding" in res.message and res.nit <= 10
    assert res.grad_norm <= 1e-14
    np.testing.assert_allclose(res.x, xstar, rtol=1e-13)
