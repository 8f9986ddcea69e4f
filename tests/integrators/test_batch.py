"""Batches (a leading axis of points) of exp_map, parallel_transport and optimize: equal to the
single calls, and a failing member named while the others keep their results."""

import numpy as np
import pytest

import riemannopt as ro
from riemannopt.errors import DomainError, ExpMapError, ShapeError


@pytest.fixture(scope="module")
def polar():
    return ro.models.polar_plane().compile()


@pytest.fixture(scope="module")
def gamma():
    return ro.models.gamma_mle(ro.models.gamma_data()).compile()


def _points(rng, B):
    X = np.column_stack([rng.uniform(0.5, 2.0, B), rng.uniform(-1.0, 1.0, B)])
    V = rng.normal(scale=0.4, size=(B, 2))
    return X, V


@pytest.mark.parametrize("method", ["dop853", "dopri", "solve_ivp"])
def test_exp_map_batch_equals_single_calls(polar, method):
    """Row b of a batch equals exp_map(x_b, v_b) (the same arithmetic in another thread: 1e-15)."""
    X, V = _points(np.random.default_rng(0), 9)
    Y = ro.exp_map(polar, X, V, method=method)
    assert Y.shape == (9, 2)
    np.testing.assert_allclose(
        Y, [ro.exp_map(polar, x, v, method=method) for x, v in zip(X, V)], rtol=1e-15, atol=1e-15
    )


def test_batch_broadcasts_a_shared_point(polar):
    """A 1-D x with a 2-D v is the same base point for every member."""
    V = np.array([[0.1, 0.2], [-0.3, 0.1]])
    np.testing.assert_array_equal(ro.exp_map(polar, [1.0, 0.5], V), ro.exp_map(polar, np.array([[1.0, 0.5]] * 2), V))


def test_transport_batch_equals_single_calls(gamma):
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.uniform(1.0, 2.0, 5), rng.uniform(1.0, 2.0, 5)])
    V, W = rng.normal(scale=0.3, size=(2, 5, 2))
    T = ro.parallel_transport(gamma, X, V, W)
    np.testing.assert_allclose(T, [ro.parallel_transport(gamma, *a) for a in zip(X, V, W)], rtol=1e-15, atol=1e-15)


def test_failing_member_is_named_and_others_kept(polar):
    """Member 2 runs through the origin (outside the chart): the error names row 2, and the
    result carries every other member's exponential map and NaN for the failed one."""
    X, V = _points(np.random.default_rng(2), 4)
    X[2], V[2] = [1.0, 0.0], [-2.0, 0.0]
    with pytest.raises(
        ExpMapError, match=r"exp_map\[dop853\], batch member 2 of 4 \(1 failed\): the geodesic from x = \[1\. 0\.\]"
    ) as info:
        ro.exp_map(polar, X, V)
    exc = info.value
    assert exc.index == 2 and 0.45 < exc.t <= 0.5 + 1e-12
    assert np.all(np.isnan(exc.result[2]))
    for b in (0, 1, 3):
        np.testing.assert_allclose(exc.result[b], ro.exp_map(polar, X[b], V[b]), rtol=1e-15)


def test_bad_member_is_named_before_work(polar):
    X = np.array([[1.0, 0.0], [np.nan, 0.0]])
    with pytest.raises(ro.errors.InputError, match=r"x must be finite, but x\[1, 0\] = nan"):
        ro.exp_map(polar, X, np.zeros((2, 2)))
    with pytest.raises(DomainError, match=r"x\[1\] = \[-1\.  0\.\] is outside the domain") as info:
        ro.exp_map(polar, np.array([[1.0, 0.0], [-1.0, 0.0]]), np.zeros((2, 2)))
    assert info.value.index == 1
    with pytest.raises(ShapeError, match=r"v must have shape \(2, 2\) \(a batch\) or \(2,\)"):
        ro.exp_map(polar, np.ones((2, 2)), np.ones((3, 2)))


@pytest.mark.parametrize("method", ["ng", "geof", "re", "rmid", "exact"])
def test_optimize_batch_equals_single_runs(gamma, method):
    """Each member of a batched run equals the single run from its start point, bit for bit for
    the jitted loops (the same code in another thread) and for the scipy driver."""
    X0 = np.array([[1.0, 1.0], [2.0, 1.5], [1.5, 1.2]])
    batch = ro.optimize(gamma, method, X0, 0.5, 8)
    assert isinstance(batch, ro.TrajectoryBatch) and batch.x.shape == (3, 9, 2) and batch.loss.shape == (3, 9)
    for b, x0 in enumerate(X0):
        single = ro.optimize(gamma, method, x0, 0.5, 8)
        np.testing.assert_array_equal(batch[b].x, single.x)
        np.testing.assert_array_equal(batch.loss[b], single.loss)


def test_optimize_batch_failure_keeps_the_others(gamma):
    """Member 1 starts outside the domain: the error names it, member 0 and 2 ran to the end."""
    X0 = np.array([[1.0, 1.0], [-1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(
        DomainError, match=r"batch member 1 \(x0 = \[-1\.  1\.\]\): method 'geo' failed at step 0"
    ) as info:
        ro.optimize(gamma, "geo", X0, 0.5, 6)
    exc = info.value
    assert exc.index == 1 and len(exc.batch) == 3 and len(exc.batch[1]) == 0
    for b in (0, 2):
        np.testing.assert_array_equal(exc.batch[b].x, ro.optimize(gamma, "geo", X0[b], 0.5, 6).x)
    assert np.all(np.isnan(exc.batch.x[1]))
