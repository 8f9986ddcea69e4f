"""Bad batches of ``exp_map``, ``parallel_transport`` and ``optimize`` (issue 21, item 6): each
is a ``riemannopt.errors`` exception naming the argument (and, for a bad member, its row) before
any work, and a member that fails midway keeps every other member's result.

Each row is ``Row(id, call, error, match, check)`` as in ``tests/test_bad_inputs.py``; ``check``
receives the exception.  The independent computation of the kept results: each surviving member
equals the single call from its own start (the batch runs the same kernel per row).
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

import riemannopt as ro
from riemannopt import errors as E


@cache
def polar():
    return ro.models.polar_plane().compile()


@cache
def gamma():
    return ro.models.gamma_mle(ro.models.gamma_data()).compile()


@dataclass
class Row:
    id: str
    call: object
    error: type
    match: str
    check: object = None


def _transport_through_origin():
    """Member 1 runs into the polar plane's origin; 0 and 2 do not."""
    X = np.array([[1.0, 0.3], [1.0, 0.0], [1.5, -0.2]])
    V = np.array([[0.2, 0.1], [-2.0, 0.0], [0.1, 0.1]])
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    return X, V, W


def _kept_transports(exc):
    X, V, W = _transport_through_origin()
    assert exc.index == 1 and np.all(np.isnan(exc.result[1]))
    for b in (0, 2):
        np.testing.assert_allclose(exc.result[b], ro.parallel_transport(polar(), X[b], V[b], W[b]), rtol=1e-14)


def _kept_runs(exc):
    X0 = np.array([[1.0, 1.0], [-1.0, 1.0], [2.0, 2.0]])
    assert exc.index == 1 and len(exc.batch) == 3
    for b in (0, 2):
        np.testing.assert_array_equal(exc.batch[b].x, ro.optimize(gamma(), "mid", X0[b], 0.5, 4).x)


ROWS = [
    Row(
        "exp_map/ragged points",
        lambda: ro.exp_map(polar(), [[1.0, 0.0], [1.0]], np.zeros((2, 2))),
        E.ShapeError,
        r"x is ragged: its rows must have equal lengths",
    ),
    Row(
        "exp_map/ragged velocities",
        lambda: ro.exp_map(polar(), [1.0, 0.0], [[0.1, 0.0], [0.2]]),
        E.ShapeError,
        r"v is ragged",
    ),
    Row(
        "parallel_transport/ragged vectors",
        lambda: ro.parallel_transport(polar(), [1.0, 0.0], [0.1, 0.0], [[1.0], [0.0, 1.0]]),
        E.ShapeError,
        r"w is ragged",
    ),
    Row(
        "optimize/ragged start points",
        lambda: ro.optimize(gamma(), "ng", [[1.0, 1.0], [2.0]], 0.5, 3),
        E.ShapeError,
        r"x0 is ragged",
    ),
    Row(
        "exp_map/three axes",
        lambda: ro.exp_map(polar(), np.ones((2, 2, 2)), np.zeros((2, 2))),
        E.ShapeError,
        r"x must have shape \(2, 2\) \(a batch\) or \(2,\) for this problem, got \(2, 2, 2\)",
    ),
    Row(
        "exp_map/rows of the wrong length",
        lambda: ro.exp_map(polar(), np.ones((2, 3)), np.zeros((2, 3))),
        E.ShapeError,
        r"x must have shape \(2, 2\) \(a batch\) or \(2,\) for this problem, got \(2, 3\)",
    ),
    Row(
        "exp_map/a string in a row",
        lambda: ro.exp_map(polar(), [[1.0, "a"], [1.0, 0.0]], np.zeros((2, 2))),
        E.InputError,
        r"x must be numeric",
    ),
    Row(
        "exp_map/an infinite velocity in row 1",
        lambda: ro.exp_map(polar(), np.ones((2, 2)), np.array([[0.0, 0.0], [np.inf, 0.0]])),
        E.InputError,
        r"v must be finite, but v\[1, 0\] = inf",
    ),
    Row(
        "parallel_transport/batches of different sizes",
        lambda: ro.parallel_transport(polar(), np.ones((2, 2)), np.zeros((2, 2)), np.ones((3, 2))),
        E.ShapeError,
        r"w must have shape \(2, 2\) \(a batch\)",
    ),
    Row(
        "parallel_transport/a NaN vector in row 1",
        lambda: ro.parallel_transport(polar(), np.ones((2, 2)), np.zeros((2, 2)), [[1.0, 0.0], [0.0, np.nan]]),
        E.InputError,
        r"w must be finite, but w\[1, 1\] = nan",
    ),
    Row(
        "parallel_transport/member 1 fails, the others kept",
        lambda: ro.parallel_transport(polar(), *_transport_through_origin()),
        E.ExpMapError,
        r"parallel_transport, batch member 1 of 3 \(1 failed\)",
        _kept_transports,
    ),
    Row(
        "optimize/three axes",
        lambda: ro.optimize(gamma(), "ng", np.ones((2, 2, 2)), 0.5, 3),
        E.ShapeError,
        r"x0 must have shape \(B, 2\) \(a batch\) or \(2,\) for this problem, got \(2, 2, 2\)",
    ),
    Row(
        "optimize/start rows of the wrong length",
        lambda: ro.optimize(gamma(), "ng", np.ones((2, 3)), 0.5, 3),
        E.ShapeError,
        r"x0 must have shape \(B, 2\) \(a batch\)",
    ),
    Row(
        "optimize/a NaN start in row 1",
        lambda: ro.optimize(gamma(), "ng", [[1.0, 1.0], [np.nan, 1.0]], 0.5, 3),
        E.InputError,
        r"x0 must be finite, but x0\[1, 0\] = nan",
    ),
    Row(
        "optimize/a batch too large for memory, before allocating",
        lambda: ro.optimize(gamma(), "ng", np.ones((10**6, 2)), 0.5, 10**6),
        E.InputError,
        r"1000000 runs of steps = 1000000 keeps 1000001 iterates .* need 24 TB",
    ),
    Row(
        "optimize/member 1 outside the domain, the others kept",
        lambda: ro.optimize(gamma(), "mid", [[1.0, 1.0], [-1.0, 1.0], [2.0, 2.0]], 0.5, 4),
        E.DomainError,
        r"batch member 1 \(x0 = \[-1\.  1\.\]\): method 'mid' failed at step 0",
        _kept_runs,
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_batch(row):
    with pytest.raises(row.error, match=row.match) as info:
        row.call()
    if row.check is not None:
        row.check(info.value)
