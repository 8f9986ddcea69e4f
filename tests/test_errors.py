"""Every bad input raises its ``riemannopt.errors`` exception, with a message that names the problem."""

import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
from riemannopt import errors
from riemannopt.errors import DomainError, MetricError, ShapeError, SymbolicError

x, y, z = sp.symbols("x y z", real=True)
a = sp.Symbol("a", real=True)


# -- the hierarchy -----------------------------------------------------------------------------------
def test_hierarchy():
    E = errors
    for name in E.__all__:
        assert issubclass(getattr(E, name), E.RiemannOptError), name
    assert issubclass(E.MetricError, E.SymbolicError)
    for cls in (E.SymbolicError, E.ShapeError, E.MethodError, E.DomainError, E.NotPositiveDefiniteError):
        assert issubclass(cls, ValueError), cls
    for cls in (E.DomainError, E.NotPositiveDefiniteError, E.NonFiniteError, E.ExpMapError):
        assert issubclass(cls, E.OptimizationError), cls
    assert issubclass(E.NonFiniteError, FloatingPointError)


def test_optimization_error_carries_context():
    pt = np.array([1.0, 2.0])
    err = errors.NonFiniteError("boom", method="geo", step=3, point=pt, trajectory="partial")
    assert str(err) == "boom"
    assert (err.method, err.step, err.trajectory) == ("geo", 3, "partial")
    assert err.point is pt
    bare = errors.DomainError("outside")
    assert bare.method is bare.step is bare.point is bare.trajectory is None


# -- Metric ----------------------------------------------------------------------------------------
def test_metric_not_square():
    with pytest.raises(MetricError, match=r"not square: shape \(2, 3\)"):
        ro.Metric([x, y], sp.Matrix([[1, 0, 0], [0, 1, 0]]))


def test_metric_size_does_not_match_coords():
    with pytest.raises(MetricError, match=r"3.3 but there are 2 coordinates"):
        ro.Metric([x, y], sp.eye(3))


def test_metric_not_symmetric():
    with pytest.raises(MetricError, match=r"not symmetric: g\[0,1\] = x but g\[1,0\] = y"):
        ro.Metric([x, y], [[1, x], [y, 1]])


def test_metric_symmetric_up_to_simplification_is_accepted():
    M = ro.Metric([x, y], [[1, sp.sin(x) ** 2], [1 - sp.cos(x) ** 2, 2]])
    assert M.n == 2


def test_metric_singular():
    with pytest.raises(MetricError, match="singular"):
        ro.Metric([x, y], [[x, x], [x, x]])
    with pytest.raises(MetricError, match="singular"):
        ro.Metric([x, y], [[sp.sin(x) ** 2, 1], [1, 1 / sp.sin(x) ** 2]])  # det = 0 after simplify


def test_metric_unreadable_matrix():
    with pytest.raises(MetricError, match="could not be read as a sympy Matrix"):
        ro.Metric([x, y], [[1, 2], [3]])


def test_coords_not_symbols():
    with pytest.raises(SymbolicError, match=r"coords\[1\] = 2\*y is not a sympy Symbol"):
        ro.Metric([x, 2 * y], sp.eye(2))
    with pytest.raises(SymbolicError, match="is not a sympy Symbol"):
        ro.Metric(["x", "y"], sp.eye(2))
    with pytest.raises(SymbolicError, match="must be a sequence of sympy Symbols"):
        ro.Metric(x, sp.eye(1))


def test_coords_repeated_or_empty():
    with pytest.raises(SymbolicError, match="repeated symbols"):
        ro.Metric([x, x], sp.eye(2))
    with pytest.raises(SymbolicError, match="empty"):
        ro.Metric([], sp.eye(0))


# -- Problem ---------------------------------------------------------------------------------------
def test_unknown_symbol_in_loss():
    with pytest.raises(
        SymbolicError,
        match=r"the loss uses symbols \['z'\] that are neither coordinates \['x', 'y'\] nor params \['a'\]",
    ):
        ro.Problem(ro.Metric([x, y], sp.eye(2)), a * x + z, params={a: 1.0})


def test_unknown_symbol_in_metric():
    with pytest.raises(SymbolicError, match=r"the metric uses symbols \['z'\]"):
        ro.Problem(ro.Metric([x, y], sp.diag(1, z**2)), x + y)


def test_parameter_values_and_keys():
    M = ro.Metric([x, y], sp.eye(2))
    with pytest.raises(SymbolicError, match="params keys must be sympy Symbols"):
        ro.Problem(M, x, params={"a": 1.0})
    with pytest.raises(SymbolicError, match="parameter x is also a coordinate"):
        ro.Problem(M, x, params={x: 1.0})
    with pytest.raises(SymbolicError, match="parameter a has a non-numeric value"):
        ro.Problem(M, a * x, params={a: "lots"})


def test_metric_must_be_a_metric():
    with pytest.raises(SymbolicError, match="metric must be a riemannopt Metric, got MutableDenseMatrix"):
        ro.Problem(sp.eye(2), x)


# -- compiled functions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda C: C.metric(np.ones(3)),
        lambda C: C.metric(np.ones((1, 2))),
        lambda C: C.metric(1.0),
        lambda C: C.grad([[1.0, 2.0], [3.0, 4.0]]),
        lambda C: C.direction([]),
        lambda C: C.loss(np.ones(3)),
        lambda C: C.christoffel(np.ones(1)),
    ],
)
def test_wrong_point_shape(gamma_compiled, call):
    with pytest.raises(ShapeError, match=r"x must have shape \(2,\) for this problem, got"):
        call(gamma_compiled)


def test_wrong_point_shape_in_domain(gamma_compiled):
    with pytest.raises(ShapeError, match=r"x must have shape \(2,\) for this problem, got \(4,\)"):
        gamma_compiled.in_domain(np.ones(4))


def test_wrong_vector_shapes(gamma_compiled):
    pt = np.array([2.0, 3.0])
    with pytest.raises(ShapeError, match=r"v must have shape \(2,\) for this problem, got \(3,\)"):
        gamma_compiled.gamma_vv(pt, np.ones(3))
    with pytest.raises(ShapeError, match=r"u must have shape \(2,\) for this problem, got \(1,\)"):
        gamma_compiled.gamma_uv(pt, np.ones(1), np.ones(2))
    with pytest.raises(ShapeError, match=r"v must have shape"):
        gamma_compiled.dgamma_vvv(pt, np.ones((2, 1)))


@pytest.mark.parametrize("point", [[-1.0, 1.0], [1.0, 0.0], [np.nan, 1.0]])
def test_point_outside_domain(gamma_compiled, point):
    with pytest.raises(DomainError, match=r"x = \[.*\] is outside the domain \(alpha > 0, beta > 0\)") as info:
        gamma_compiled.direction(point)
    np.testing.assert_array_equal(info.value.point, np.array(point))
    for f in ("metric", "grad", "loss", "christoffel"):
        with pytest.raises(DomainError):
            getattr(gamma_compiled, f)(point)
    with pytest.raises(DomainError):
        gamma_compiled.gamma_vv(point, [1.0, 1.0])


# -- reparameterize ----------------------------------------------------------------------------------
def test_phi_wrong_length(gamma_problem):
    coords = ro.models.GAMMA_REPARAMS["identity"][0]
    with pytest.raises(SymbolicError, match="phi has 1 components but the problem has 2 coordinates"):
        gamma_problem.reparameterize(coords, [coords[0]])
    with pytest.raises(SymbolicError, match="3 new coordinates for a 2-dimensional problem"):
        gamma_problem.reparameterize([x, y, z], [x, y])


def test_phi_singular_jacobian(gamma_problem):
    coords = ro.models.GAMMA_REPARAMS["identity"][0]
    u, w = coords
    with pytest.raises(SymbolicError, match="Jacobian is singular"):
        gamma_problem.reparameterize(coords, [u + w, 2 * (u + w)])


def test_phi_unknown_symbols_and_clashes(gamma_problem):
    u, w = ro.models.GAMMA_REPARAMS["identity"][0]
    with pytest.raises(SymbolicError, match=r"phi uses symbols \['z'\] that are not new coordinates"):
        gamma_problem.reparameterize([u, w], [u, w * z])
    mean_x = next(s for s in gamma_problem.params if s.name == "mean_x")
    with pytest.raises(SymbolicError, match=r"clash with parameter names"):
        gamma_problem.reparameterize([u, mean_x], [u, mean_x])
    with pytest.raises(SymbolicError, match="repeated symbols"):
        gamma_problem.reparameterize([u, u], [u, u**2])
    with pytest.raises(SymbolicError, match="inverse has 1 components, expected 2"):
        gamma_problem.reparameterize([u, w], [u, w], inverse=[u])


def test_to_base_on_a_problem_that_was_not_reparameterized(gamma_problem):
    with pytest.raises(SymbolicError, match="not made by reparameterize"):
        gamma_problem.to_base([1.0, 2.0])
    with pytest.raises(SymbolicError, match="not made by reparameterize"):
        gamma_problem.from_base([1.0, 2.0])


def test_to_base_shapes(gamma_problem):
    Q = gamma_problem.reparameterize(*ro.models.GAMMA_REPARAMS["inv_beta"])
    with pytest.raises(ShapeError, match=r"xi must have shape \(2,\) or \(m, 2\), got \(3,\)"):
        Q.to_base(np.ones(3))
    with pytest.raises(ShapeError, match=r"got \(2, 2, 2\)"):
        Q.to_base(np.ones((2, 2, 2)))
    with pytest.raises(ShapeError, match=r"x must have shape"):
        Q.from_base(np.ones((4, 1)))


def test_from_base_without_solution(gamma_problem):
    """``squares`` cannot reach a negative α: Newton gives up with a DomainError naming the target."""
    Q = gamma_problem.reparameterize(*ro.models.GAMMA_REPARAMS["squares"])
    with pytest.raises(DomainError, match=r"Newton's method could not solve phi\(xi\) = \[-4\.  9\.\].*guess=") as info:
        Q.from_base([-4.0, 9.0])
    np.testing.assert_array_equal(info.value.point, [-4.0, 9.0])
