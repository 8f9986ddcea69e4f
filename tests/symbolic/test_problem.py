"""Problem: gradient, parameters, cache key, domain (symbolic layer only, nothing compiled here)."""

import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
from riemannopt.errors import SymbolicError


@pytest.fixture()
def simple():
    """g = diag(1, x²) in (x, y), L = a·x² + b·y + sin(x y), parameters a, b."""
    x, y = sp.symbols("x y", real=True)
    a, b = sp.symbols("a b", real=True)
    M = ro.Metric([x, y], sp.diag(1, x**2))
    P = ro.Problem(M, a * x**2 + b * y + sp.sin(x * y), params={b: 3, a: 2.5}, domain=[x > 0], name="simple")
    return P, (x, y, a, b)


def test_gradient_is_the_symbolic_derivative(simple):
    """∇L against derivatives worked out by hand: (2a x + y cos(xy), b + x cos(xy)) (exact)."""
    P, (x, y, a, b) = simple
    expected = sp.Matrix([2 * a * x + y * sp.cos(x * y), b + x * sp.cos(x * y)])
    assert (P.gradient - expected).applyfunc(sp.simplify) == sp.zeros(2, 1)


def test_params_are_floats_in_name_order(simple):
    P, (x, y, a, b) = simple
    assert P.param_symbols == (a, b)  # sorted by name, not insertion order
    np.testing.assert_array_equal(P.param_values, [2.5, 3.0])
    assert P.param_values.dtype == np.float64
    assert all(type(v) is float for v in P.params.values())
    assert P.coords == (x, y) and P.n == 2


def test_with_params_changes_values_only(simple):
    P, (x, y, a, b) = simple
    Q = P.with_params(b=-1)
    np.testing.assert_array_equal(Q.param_values, [2.5, -1.0])
    np.testing.assert_array_equal(P.param_values, [2.5, 3.0])  # the original is untouched
    assert Q.key == P.key
    assert Q.loss == P.loss and Q.metric is P.metric
    with pytest.raises(SymbolicError, match=r"unknown parameter names \['c'\]"):
        P.with_params(c=1.0)


def test_with_params_refreshes_domain_check():
    """A domain that depends on a parameter follows the new value (x > c, c: 1 → 5)."""
    x, c = sp.symbols("x c", real=True)
    P = ro.Problem(ro.Metric([x], [[1]]), x**2, params={c: 1.0}, domain=[x > c])
    assert P._in_domain_numeric(np.array([2.0]))
    Q = P.with_params(c=5.0)
    assert not Q._in_domain_numeric(np.array([2.0]))
    assert P._in_domain_numeric(np.array([2.0]))


def test_key_depends_on_structure_not_values(simple):
    P, (x, y, a, b) = simple
    same = ro.Problem(
        ro.Metric([x, y], sp.diag(1, x**2)), a * x**2 + b * y + sp.sin(x * y), params={a: -7, b: 0}, domain=[x > 0]
    )
    assert same.key == P.key
    other_loss = ro.Problem(P.metric, a * x**2 + b * y, params=P.params, domain=[x > 0])
    other_domain = ro.Problem(P.metric, P.loss, params=P.params, domain=[x > 1])
    other_metric = ro.Problem(ro.Metric([x, y], sp.diag(2, x**2)), P.loss, params=P.params, domain=[x > 0])
    keys = {P.key, other_loss.key, other_domain.key, other_metric.key}
    assert len(keys) == 4
    assert all(len(k) == 24 and int(k, 16) >= 0 for k in keys)


def test_key_of_catalogue_model_is_reproducible():
    k1 = ro.models.gamma_mle(ro.models.gamma_data(n=50)).key
    k2 = ro.models.gamma_mle(ro.models.gamma_data(seed=7, n=20)).key
    assert k1 == k2


def test_domain_normalisation():
    x, y = sp.symbols("x y", real=True)
    M = ro.Metric([x, y], sp.eye(2))
    assert ro.Problem(M, x + y).domain == ()
    assert ro.Problem(M, x + y, domain=x > 0).domain == (x > 0,)
    assert ro.Problem(M, x + y, domain=[sp.true, x > 0, y < 1]).domain == (x > 0, y < 1)
    with pytest.raises(SymbolicError, match="always false"):
        ro.Problem(M, x + y, domain=[sp.false])
    with pytest.raises(SymbolicError, match="not a relation"):
        ro.Problem(M, x + y, domain=[x + 1])
    z = sp.Symbol("z")
    with pytest.raises(SymbolicError, match=r"unknown symbols \['z'\]"):
        ro.Problem(M, x + y, domain=[z > 0])


def test_repr_and_name(simple):
    P, _ = simple
    assert "simple" in repr(P) and "Problem(" in repr(P)
    assert P.base is None
