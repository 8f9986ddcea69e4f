"""Convergence orders (paper Theorem 1) and orders of invariance, on three problems."""

import math

import numpy as np
import pytest

import riemannopt as ro
from riemannopt.analysis import fit_order
from riemannopt.errors import MethodError
from riemannopt.experiments import INVARIANCE_ORDERS, THEOREM1_PAIRS, study_problem, theorem1_table

TOL = 0.15


def test_fit_order_reproduces_hand_computation():
    """With h = 0.1·(1, 2, 4) the centred log-h values are (−ln 2, 0, ln 2), so the least-squares
    slope is (ln e₃ − ln e₁) / (2 ln 2) = ln 15 / (2 ln 2) for e = (1e-3, 3e-3, 1.5e-2)."""
    h = [0.1, 0.2, 0.4]
    e = [1e-3, 3e-3, 1.5e-2]
    assert fit_order(h, e) == pytest.approx(math.log(15) / (2 * math.log(2)), rel=1e-14)
    assert fit_order([1, 0.5, 0.25, 0.125], [3.0, 0.75, 0.1875, 0.046875]) == pytest.approx(2.0, rel=1e-14)
    assert math.isnan(fit_order([1.0, 0.5], [0.0, 0.0]))  # round-off gaps carry no slope


def _check_theorem1(problem, x0, T, steps):
    table = theorem1_table(problem, x0, T=T, steps_list=steps)
    text = table.text
    for st, (m, r, expected) in zip(table.studies, THEOREM1_PAIRS):
        assert (st.method, st.reference) == (m, r)
        np.testing.assert_allclose(st.h, T / np.asarray(steps))
        np.testing.assert_allclose(st.error, np.linalg.norm(st.x_method - st.x_reference, axis=1))
        assert abs(st.order - expected) <= TOL, f"{m} → {r}: fitted {st.order:.3f}, expected {expected}\n{text}"
    assert table.passed and all(table.marks) and "FAIL" not in text


@pytest.mark.parametrize("reparam", ["identity", "inv_beta", "cube_beta", "squares"])
def test_theorem1_gamma(reparam):
    """ng, re → exact and ng → re at order 1; mid → exact, geo, geof → re at order 2 (Theorem 1);
    geo3 → re at 3 and rk4 → exact at 4, in each of the paper's four parameterizations."""
    problem, x0 = study_problem("gamma", reparam)
    _check_theorem1(problem, x0, T=2.0, steps=(16, 32, 64, 128))


def test_theorem1_gaussian():
    """Gaussian (μ, σ) maximum likelihood; the step counts start at 32 because geo3's error is
    not yet in its asymptotic regime at h = 1/8 (fitted 3.26 over 16..128)."""
    problem, x0 = study_problem("gaussian")
    _check_theorem1(problem, x0, T=2.0, steps=(32, 64, 128, 256))


def test_theorem1_polar_plane():
    """A geometric toy manifold: the flat plane in polar coordinates, loss ½‖p − target‖²."""
    problem, x0 = study_problem("polar")
    _check_theorem1(problem, x0, T=2.0, steps=(16, 32, 64, 128))


def test_convergence_order_single_call_matches_direct_runs():
    """convergence_order's error is the distance of the two methods' end points, computed here
    by hand from two optimize() runs."""
    problem, x0 = study_problem("gamma")
    st = ro.convergence_order(problem, "geo", "re", x0, 1.0, [8, 16])
    for i, s in enumerate([8, 16]):
        a = ro.optimize(problem, "geo", x0, 1.0 / s, s).x[-1]
        b = ro.optimize(problem, "re", x0, 1.0 / s, s).x[-1]
        assert st.error[i] == pytest.approx(np.linalg.norm(a - b), rel=1e-12)


@pytest.fixture(scope="module")
def invariance_studies():
    problem, x0 = study_problem("gamma")
    reparam = ro.models.GAMMA_REPARAMS["squares"]
    memo = {}
    return {
        m: ro.invariance_order(problem, reparam, m, x0, 2.0, [32, 64, 128, 256], memo=memo) for m in INVARIANCE_ORDERS
    }


@pytest.mark.parametrize("method", ["ng", "mid", "geo", "geof", "geo3", "rk4"])
def test_order_of_invariance(invariance_studies, method):
    """Orders of invariance under α = α'², β = β'²: ng 1, mid/geo/geof 2, geo3 3, rk4 4."""
    st = invariance_studies[method]
    assert abs(st.order - INVARIANCE_ORDERS[method]) <= TOL, (st.order, st.gap)
    assert np.all(np.diff(st.gap) < 0)


@pytest.mark.parametrize("method", ["re", "exact"])
def test_exactly_invariant_methods_gap_at_roundoff(invariance_studies, method):
    st = invariance_studies[method]
    assert st.gap.max() <= 1e-9
    np.testing.assert_allclose(st.x_reparam, st.x_base, rtol=1e-9)


def test_invariance_gap_is_mapped_back_by_hand():
    """The gap equals ‖x(T) − φ(ξ(T))‖ with φ(α', β') = (α'², β'²) applied by hand."""
    problem, x0 = study_problem("gamma")
    coords, phi = ro.models.GAMMA_REPARAMS["squares"]
    st = ro.invariance_order(problem, (coords, phi), "ng", x0, 1.0, [4, 8])
    Q = problem.reparameterize(coords, phi)
    for i, s in enumerate([4, 8]):
        xi = ro.optimize(Q, "ng", np.sqrt(x0), 1.0 / s, s).x[-1]
        x = ro.optimize(problem, "ng", x0, 1.0 / s, s).x[-1]
        assert st.gap[i] == pytest.approx(np.linalg.norm(x - xi**2), rel=1e-10)


def test_bad_study_arguments():
    problem, x0 = study_problem("gamma")
    with pytest.raises(MethodError, match="at least two"):
        ro.convergence_order(problem, "ng", "exact", x0, 1.0, [16])
    with pytest.raises(MethodError, match="T must be"):
        ro.convergence_order(problem, "ng", "exact", x0, -1.0, [16, 32])
    with pytest.raises(MethodError, match="unknown method"):
        ro.convergence_order(problem, "ng", "halley", x0, 1.0, [16, 32])
    with pytest.raises(MethodError, match="unknown problem"):
        study_problem("rosenbrock")


def test_figures(invariance_studies):
    from riemannopt.plot import convergence_figure, invariance_figure

    problem, x0 = study_problem("gamma")
    st = ro.convergence_order(problem, "geo", "re", x0, 2.0, [16, 32])
    fig = convergence_figure([st], expected=[2])
    line = fig.get_axes()[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), st.error)
    fig = invariance_figure(list(invariance_studies.values()))
    labels = [ln.get_label() for ln in fig.get_axes()[0].get_lines()]
    assert "re (gap at round-off)" in labels and any(lb.startswith("ng (order") for lb in labels)


@pytest.mark.parametrize("lr", [0.02, 0.2])
def test_affine_invariance_of_ng_and_newton(lr):
    """Under an affine reparameterization x = Aξ + b the pulled-back metric is AᵀgA and the
    Hessian AᵀHA (no second-derivative term), so ng and newton map step for step onto the base
    run at any η: gap at round-off.  gd's step A⁻ᵀ∇L is not A⁻¹ times the base step: a visible
    gap.  Half-plane, affine map of models.HALF_PLANE_REPARAMS; η ≤ 0.4, where ng's iteration is
    stable at the minimum (g⁻¹H = diag(4, 1) there; at η = 1 round-off would grow ×3 a step)."""
    problem, x0 = study_problem("half-plane")
    reparam = ro.models.HALF_PLANE_REPARAMS["affine"]
    T = 40 * lr
    gaps = {m: ro.invariance_order(problem, reparam, m, x0, T, [20, 40]).gap for m in ("ng", "newton")}
    assert gaps["ng"].max() < 1e-12 and gaps["newton"].max() < 1e-12, gaps
    gd = ro.invariance_order(problem, reparam, "gd", x0, 2.0, [20, 40]).gap  # gd diverges at η = 0.5
    assert gd.min() > 1e-3, gd


def test_newton_flow_is_not_invariant():
    """Under a nonlinear reparameterization ng's gap shrinks at order 1 while newton's (and gd's)
    does not shrink (order ≈ 0): the Newton flow ẋ = −H⁻¹∇L itself depends on the coordinates,
    since the Hessian gains the term ∂L/∂x · ∂²φ/∂ξ² (Martens §10).  Gamma, squares."""
    problem, x0 = study_problem("gamma")
    reparam = ro.models.GAMMA_REPARAMS["squares"]
    steps = [32, 64, 128, 256]
    orders = {m: ro.invariance_order(problem, reparam, m, x0, 2.0, steps).order for m in ("ng", "newton", "gd")}
    assert abs(orders["ng"] - 1) <= 0.15, orders
    assert abs(orders["newton"]) <= 0.15 and abs(orders["gd"]) <= 0.15, orders
