"""Compiled (numba) functions against independent evaluations.

References:

* the problem's sympy expressions (metric, inverse, Γ, Γ_first, ∂Γ, ∇L, L) evaluated with mpmath at
  30 digits; agreement to 1e-12 relative to the largest entry of each result (norm-wise relative,
  so entries that cancel to ~0 are judged against the scale of the result);
* finite differences of the compiled functions themselves (∇L from ``loss``, ∂Γ(v,v)·v from
  ``gamma_vv``), fourth-order central stencils, 1e-8 relative;
* ``numpy.linalg.solve`` for the natural direction, 1e-10 relative.

Problems: Gamma (paper §7.1), Gaussian, the three toy manifolds, the Gamma problem in the
``squares`` parameterization, and a one-dimensional problem without parameters or domain.
"""

import mpmath
import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
from riemannopt.codegen.emit import FUNCTIONS

NAMES = ["gamma", "gaussian", "polar", "sphere", "half-plane", "gamma-squares", "line"]


def _line_problem():
    t = sp.Symbol("t", real=True)
    return ro.Problem(ro.Metric([t], [[1 + t**2]]), t**4 / 4 + sp.exp(t / 3))


@pytest.fixture(scope="module")
def problems(gamma_problem, gamma_compiled, polar_problem, sphere_problem, half_plane_problem):
    """name → (Problem, CompiledProblem, sampler of random points inside the domain)."""
    rng_data = np.random.default_rng(0)
    gauss = ro.models.gaussian_mle(rng_data.normal(0.3, 1.7, 500))
    sq = gamma_problem.reparameterize(*ro.models.GAMMA_REPARAMS["squares"])
    boxes = {
        "gamma": ([0.5, 0.5], [20.0, 20.0]),
        "gaussian": ([-2.0, 0.3], [2.0, 3.0]),
        "polar": ([0.3, -np.pi], [3.0, np.pi]),
        "sphere": ([0.3, -np.pi], [np.pi - 0.3, np.pi]),
        "half-plane": ([-2.0, 0.3], [2.0, 3.0]),
        "gamma-squares": ([0.7, 0.7], [4.0, 4.0]),
        "line": ([-2.0], [2.0]),
    }
    probs = {
        "gamma": (gamma_problem, gamma_compiled),
        "gaussian": (gauss, gauss.compile()),
        "polar": (polar_problem, polar_problem.compile()),
        "sphere": (sphere_problem, sphere_problem.compile()),
        "half-plane": (half_plane_problem, half_plane_problem.compile()),
        "gamma-squares": (sq, sq.compile()),
    }
    line = _line_problem()
    probs["line"] = (line, line.compile())
    return {k: (P, C, boxes[k]) for k, (P, C) in probs.items()}


def _sample(box, rng, count):
    lo, hi = box
    return rng.uniform(lo, hi, size=(count, len(lo)))


class _MP:
    """Evaluate sympy expressions of (coords, params[, v]) with mpmath at 30 digits."""

    def __init__(self, problem, exprs, extra=()):
        arr = np.array(exprs.tolist() if hasattr(exprs, "tolist") else exprs, dtype=object)
        self.shape = arr.shape
        self.f = sp.lambdify([problem.coords, problem.param_symbols, *extra], list(arr.ravel()), modules="mpmath")
        self.p = [mpmath.mpf(float(v)) for v in problem.param_values]

    def __call__(self, x, *vecs):
        mp = lambda a: [mpmath.mpf(float(t)) for t in a]  # noqa: E731
        with mpmath.workdps(30):
            vals = self.f(mp(x), self.p, *map(mp, vecs))
            return np.array([float(v) for v in vals]).reshape(self.shape)


def _close(actual, ref, rtol=1e-12, what=""):
    """Norm-wise relative agreement: |actual − ref| ≤ rtol·max|ref| entrywise (and same shape)."""
    actual = np.asarray(actual)
    assert actual.shape == np.shape(ref), (what, actual.shape, np.shape(ref))
    scale = max(np.abs(ref).max(), 1e-300)
    np.testing.assert_allclose(actual, ref, rtol=0, atol=rtol * scale, err_msg=what)


@pytest.fixture(scope="module")
def references(problems):
    """name → dict of mpmath evaluators of the symbolic quantities of each problem."""
    out = {}
    for name, (P, _, _) in problems.items():
        M, n = P.metric, P.n
        G = M.christoffel
        dG = sp.derive_by_array(G, P.coords)  # [k, m, i, j] = ∂_k Γ^m_ij
        out[name] = {
            "metric": _MP(P, M.matrix),
            "inverse_metric": _MP(P, M.inverse),
            "christoffel": _MP(P, G),
            "christoffel_first": _MP(P, M.christoffel_first),
            "dchristoffel": _MP(P, dG),
            "grad": _MP(P, list(P.gradient)),
            "direction": _MP(P, list(-M.inverse * P.gradient)),
            "loss": _MP(P, [P.loss]),
        }
        assert n == problems[name][1].n
    return out


@pytest.mark.parametrize("name", NAMES)
def test_compiled_matches_sympy(problems, references, name):
    """Every compiled function at 5 random points (and random u, v) against mpmath, rtol 1e-12."""
    P, C, box = problems[name]
    ref = references[name]
    rng = np.random.default_rng(NAMES.index(name))
    for x in _sample(box, rng, 5):
        u, v = rng.normal(size=(2, P.n))
        for f in ("metric", "inverse_metric", "christoffel", "christoffel_first", "grad", "direction"):
            _close(getattr(C, f)(x), ref[f](x), what=f"{name}.{f} at {x}")
        _close(C.loss(x), ref["loss"](x)[0], what=f"{name}.loss at {x}")
        G = ref["christoffel"](x)
        _close(C.gamma_vv(x, v), np.einsum("mij,i,j->m", G, v, v), what=f"{name}.gamma_vv")
        _close(C.gamma_uv(x, u, v), np.einsum("mij,i,j->m", G, u, v), what=f"{name}.gamma_uv")
        Gf = ref["christoffel_first"](x)
        _close(C.gamma_first_vv(x, v), np.einsum("kij,i,j->k", Gf, v, v), what=f"{name}.gamma_first_vv")
        dG = ref["dchristoffel"](x)
        _close(C.dgamma_vvv(x, v), np.einsum("kmij,k,i,j->m", dG, v, v, v), what=f"{name}.dgamma_vvv")
        assert C.in_domain(x)


def _fd(f, x, direction, h):
    """Fourth-order central difference of f along ``direction`` (truncation O(h⁴))."""
    return (
        -f(x + 2 * h * direction) + 8 * f(x + h * direction) - 8 * f(x - h * direction) + f(x - 2 * h * direction)
    ) / (12 * h)


@pytest.mark.parametrize("name", NAMES)
def test_grad_is_derivative_of_loss(problems, name):
    """``grad`` against a 4th-order central difference of ``loss`` (h = 1e-3·min(1, |x_k|)), 1e-8."""
    P, C, box = problems[name]
    rng = np.random.default_rng(7)
    for x in _sample(box, rng, 4):
        g = C.grad(x)
        fd = np.array([_fd(C.loss, x, np.eye(P.n)[k], 1e-3 * min(1.0, abs(x[k]))) for k in range(P.n)])
        _close(g, fd, rtol=1e-8, what=f"{name} grad at {x}")


@pytest.mark.parametrize("name", NAMES)
def test_dgamma_is_directional_derivative_of_gamma_vv(problems, name):
    """``dgamma_vvv(x, v)`` = d/dt Γ(x + t v)(v, v) at t = 0, against a 4th-order central difference
    of ``gamma_vv`` with h = 1e-3·min|x|/|v|, 1e-8 relative."""
    P, C, box = problems[name]
    rng = np.random.default_rng(8)
    for x in _sample(box, rng, 4):
        v = rng.normal(size=P.n)
        h = 1e-3 * min(1.0, np.abs(x).min()) / np.abs(v).max()
        fd = _fd(lambda y: C.gamma_vv(y, v), x, v, h)
        _close(C.dgamma_vvv(x, v), fd, rtol=1e-8, what=f"{name} dgamma at {x}")


@pytest.mark.parametrize("name", NAMES)
def test_direction_solves_metric_system(problems, name):
    """d(x) = −g(x)⁻¹∇L(x): against ``-numpy.linalg.solve(metric, grad)``, 1e-10 relative; and
    ``inverse_metric`` is the inverse of ``metric`` (g·g⁻¹ = I to 1e-12)."""
    P, C, box = problems[name]
    rng = np.random.default_rng(9)
    for x in _sample(box, rng, 5):
        g = C.metric(x)
        _close(C.direction(x), -np.linalg.solve(g, C.grad(x)), rtol=1e-10, what=f"{name} direction at {x}")
        np.testing.assert_allclose(g @ C.inverse_metric(x), np.eye(P.n), atol=1e-12 * np.linalg.cond(g))


@pytest.mark.parametrize("name", NAMES)
def test_state_and_gamma_vv_chol_are_the_functions_they_stand_for(problems, name):
    """What the integrators' kernels evaluate at each iterate, against the functions whose values
    they replace, bit for bit (so that no trajectory on a problem without data changes):
    ``state`` against ``loss``, ``grad`` and ``metric`` (with an ``out`` of ``1 + n`` entries,
    the loss and the gradient only, the rest left as it was), ``gamma_vv_chol`` against
    ``gamma_vv`` (a symbolic metric's Γ(v, v) does not read the factor)."""
    P, C, box = problems[name]
    n = P.n
    rng = np.random.default_rng(11)
    for x in _sample(box, rng, 4):
        loss, grad, G = C.state(x)
        assert loss == C.loss(x)
        np.testing.assert_array_equal(grad, C.grad(x))
        np.testing.assert_array_equal(G, C.metric(x))
        out = np.full(1 + n + 1, 7.0)
        C.function("state")(x, C.p, out[: 1 + n])
        np.testing.assert_array_equal(out, [C.loss(x), *C.grad(x), 7.0])
        v = rng.normal(size=n)
        np.testing.assert_array_equal(C.gamma_vv_chol(x, v), C.gamma_vv(x, v))


@pytest.mark.parametrize("name", NAMES)
def test_output_types_and_shapes(problems, name):
    P, C, box = problems[name]
    n = P.n
    x = list(_sample(box, np.random.default_rng(1), 1)[0])  # a list is accepted
    v = np.ones(n)
    shapes = {
        "metric": (n, n),
        "inverse_metric": (n, n),
        "christoffel": (n, n, n),
        "christoffel_first": (n, n, n),
        "grad": (n,),
        "direction": (n,),
    }
    for f, shape in shapes.items():
        out = getattr(C, f)(x)
        assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == shape, f
    for f in ("gamma_vv", "gamma_first_vv", "dgamma_vvv", "gamma_vv_chol"):
        out = getattr(C, f)(x, v)
        assert out.dtype == np.float64 and out.shape == (n,), f
    assert C.gamma_uv(x, v, v).shape == (n,)
    assert type(C.loss(x)) is float
    loss, grad, G = C.state(x)
    assert type(loss) is float and grad.shape == (n,) and G.shape == (n, n)
    assert C.n == n and C.key == P.key and C.problem is P
    np.testing.assert_array_equal(C.p, P.param_values)
    assert set(FUNCTIONS) <= set(vars(C.module))
    assert "CompiledProblem(" in repr(C)


OUTSIDE = {
    "gamma": [(-1.0, 1.0), (1.0, 0.0), (1.0, -2.0)],
    "gaussian": [(0.0, -1.0), (0.0, 0.0)],
    "polar": [(-1.0, 0.0), (0.0, 1.0)],
    "sphere": [(-0.1, 0.0), (np.pi + 0.1, 0.0), (0.0, 1.0)],
    "half-plane": [(0.0, -1.0), (1.0, 0.0)],
    "gamma-squares": [(0.0, 1.0), (1.0, 0.0)],
}


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_in_domain(problems, name):
    """Points on or beyond the declared domain boundary are outside; NaN is outside."""
    P, C, box = problems[name]
    for x in OUTSIDE[name]:
        assert not C.in_domain(x), x
    assert not C.in_domain([np.nan, np.nan])
    assert C.in_domain(_sample(box, np.random.default_rng(2), 1)[0])


def test_unconstrained_problem_has_whole_space_domain(problems):
    P, C, _ = problems["line"]
    assert P.domain == () and P.params == {}
    assert C.p.shape == (0,)
    assert C.in_domain([-1e6]) and C.in_domain([0.0])


def test_values_by_hand():
    """A few values worked out by hand (exact up to rounding): polar plane at (r, θ) = (2, π/2),
    target (1, 0.5): g = diag(1, 4), Γ^r_θθ = −2, Γ^θ_rθ = 1/2, L = ½((0−1)² + (2−0.5)²) = 1.625,
    ∇L = (r − (tx cosθ + ty sinθ), r(tx sinθ − ty cosθ)) = (1.5, 2), d = −(1.5, 0.5)."""
    C = ro.models.polar_plane().compile()
    x = np.array([2.0, np.pi / 2])
    np.testing.assert_allclose(C.metric(x), np.diag([1.0, 4.0]), atol=1e-15)
    G = C.christoffel(x)
    np.testing.assert_allclose([G[0, 1, 1], G[1, 0, 1], G[1, 1, 0]], [-2.0, 0.5, 0.5], rtol=1e-15)
    assert C.loss(x) == pytest.approx(1.625, rel=1e-15)
    np.testing.assert_allclose(C.grad(x), [1.5, 2.0], rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(C.direction(x), [-1.5, -0.5], rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(C.gamma_vv(x, [0.0, 1.0]), [-2.0, 0.0], atol=1e-15)
