"""Failure paths (docs/errors.rst): each raises its error naming the method, the step and the point,
and keeps the partial trajectory."""

import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
from riemannopt.errors import DomainError, ExpMapError, NonFiniteError, NotPositiveDefiniteError


@pytest.fixture(scope="module")
def gamma():
    return ro.models.gamma_mle(ro.models.gamma_data()).compile()


def _check_partial(exc, method, x0, lr, problem):
    """The partial trajectory is a valid prefix: it starts at x0 and each iterate is what a fresh
    run with fewer steps computes (an independent re-run)."""
    traj = exc.trajectory
    assert traj is not None and traj.method == method
    assert len(traj) == exc.step
    np.testing.assert_array_equal(traj.x[0], x0)
    if len(traj) > 1:
        again = ro.optimize(problem, method, x0, lr, len(traj) - 1)
        np.testing.assert_array_equal(again.x, traj.x)
        np.testing.assert_array_equal(again.loss, traj.loss)


def test_leaving_the_domain(gamma):
    """gd with a large step drives β negative: DomainError at the first bad iterate."""
    with pytest.raises(DomainError) as info:
        ro.optimize(gamma, "gd", [1.0, 1.0], 5.0, 10)
    exc = info.value
    assert "'gd'" in str(exc) and f"step {exc.step}" in str(exc) and "beta > 0" in str(exc)
    assert not (exc.point[0] > 0 and exc.point[1] > 0)
    _check_partial(exc, "gd", [1.0, 1.0], 5.0, gamma)


def test_start_outside_domain(gamma):
    with pytest.raises(DomainError, match="step 0") as info:
        ro.optimize(gamma, "ng", [-1.0, 1.0], 0.5, 3)
    assert len(info.value.trajectory) == 0


def test_metric_not_positive_definite():
    """g = diag(1, 1 − a²) stops being positive definite at |a| ≥ 1; the loss −a walks there."""
    a, b = sp.symbols("a b", real=True)
    P = ro.Problem(ro.Metric([a, b], sp.diag(1, 1 - a**2)), -a + b**2)
    with pytest.raises(NotPositiveDefiniteError) as info:
        ro.optimize(P, "ng", [0.0, 0.5], 0.3, 10)
    exc = info.value
    assert exc.step == 4 and abs(exc.point[0]) >= 1  # a = 0.3·k crosses 1 at k = 4
    assert "not positive definite" in str(exc) and "'ng'" in str(exc)
    _check_partial(exc, "ng", [0.0, 0.5], 0.3, P)


def test_non_finite_iterate():
    """L = −x⁴ with g = 1: ng blows up to infinity in a few steps."""
    x = sp.Symbol("x", real=True)
    P = ro.Problem(ro.Metric([x], sp.Matrix([[1]])), -(x**4))
    with pytest.raises(NonFiniteError) as info:
        ro.optimize(P, "ng", [2.0], 1.0, 20)
    exc = info.value
    assert "not finite" in str(exc) and 2 <= exc.step <= 8
    assert np.all(np.isfinite(exc.trajectory.x))
    _check_partial(exc, "ng", [2.0], 1.0, P)


@pytest.mark.parametrize("expmap", ["dop853", "solve_ivp"])
def test_exp_map_failure_in_re(expmap):
    """re on the polar plane with a target across the origin: the first geodesic runs through
    r = 0, outside the chart, so the exponential map cannot be finished."""
    P = ro.models.polar_plane(target=(-1.0, 0.0))
    with pytest.raises(ExpMapError) as info:
        ro.optimize(P, "re", [1.0, 0.0], 1.0, 3, expmap=expmap)
    exc = info.value
    assert exc.step == 1 and "'re'" in str(exc) and "exponential map" in str(exc)
    np.testing.assert_array_equal(exc.trajectory.x, [[1.0, 0.0]])


def test_exact_flow_failure_keeps_samples():
    """The exact flow of the NPD example stops where the metric degenerates; the samples before
    that are kept and are exact-flow values (compared with a shorter run)."""
    a, b = sp.symbols("a b", real=True)
    P = ro.Problem(ro.Metric([a, b], sp.diag(1, 1 - a**2)), -a + b**2)
    with pytest.raises((ExpMapError, NotPositiveDefiniteError)) as info:
        ro.optimize(P, "exact", [0.0, 0.5], 0.3, 10)
    traj = info.value.trajectory
    assert 3 <= len(traj) <= 4  # a(t) = t reaches 1 at t = 1 ≈ 3.3 steps
    np.testing.assert_allclose(traj.x[:, 0], 0.3 * np.arange(len(traj)), rtol=1e-10, atol=1e-12)


def test_status_codes_agree_with_kernels(gamma):
    """The Python side maps the kernels' status codes to exceptions by number: they must agree."""
    from riemannopt import errors
    from riemannopt.integrators.common import STATUS_TEXT
    from riemannopt.integrators.link import kernels_for

    K = kernels_for(gamma)
    assert STATUS_TEXT[K.OUT_OF_DOMAIN][0] is errors.DomainError
    assert STATUS_TEXT[K.NOT_PD][0] is errors.NotPositiveDefiniteError
    assert STATUS_TEXT[K.NON_FINITE][0] is errors.NonFiniteError
    assert STATUS_TEXT[K.EXPMAP_FAILED][0] is errors.ExpMapError
    assert K.OK not in STATUS_TEXT


def test_solver_stop_reasons_agree(gamma):
    """The jitted integrator and the scipy path report why a geodesic solve stopped with the same
    codes, and each has its text."""
    from riemannopt.integrators import flows
    from riemannopt.integrators.common import WHY_TEXT
    from riemannopt.integrators.link import kernels_for

    K = kernels_for(gamma)
    pairs = [
        (K.WHY_TOLERANCE, flows.WHY_TOLERANCE),
        (K.WHY_DOMAIN, flows.WHY_DOMAIN),
        (K.WHY_NON_FINITE, flows.WHY_NON_FINITE),
        (K.WHY_STEP_CAP, flows.WHY_STEP_CAP),
        (K.WHY_NOT_PD, flows.WHY_NOT_PD),
    ]
    assert all(a == b for a, b in pairs)
    assert sorted(WHY_TEXT) == sorted(b for _, b in pairs)
