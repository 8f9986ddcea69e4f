"""``optimize(..., record_every=k)``: sparse recording keeps exactly the iterates of a full run.

The independent computation is the full run itself (``record_every = 1``, the default, whose
rows are iterates ``0..steps``): a sparse run must hold its rows ``0, k, 2k, ...`` and ``steps``,
bit for bit, with the same losses and ``t = iteration · lr``.
"""

import numpy as np
import pytest

import riemannopt as ro
from riemannopt.errors import DomainError, InputError
from riemannopt.integrators.optimize import _buffers

X0, LR, STEPS = [1.0, 1.0], 0.3, 23


def expected_iterations(steps, every):
    """0, every, 2·every, ... and steps, by hand."""
    its = list(range(0, steps + 1, every))
    return its if its[-1] == steps else its + [steps]


@pytest.mark.parametrize(
    "method, options",
    [(m, {}) for m in ("ng", "mid", "geo", "geof", "re", "rk4", "geo3")]
    + [("exact", {}), ("re", {"expmap": "solve_ivp"})],
)
@pytest.mark.parametrize("every", [1, 5, 23, 100])
def test_sparse_rows_are_rows_of_the_full_run(gamma_compiled, method, options, every):
    full = ro.optimize(gamma_compiled, method, X0, LR, STEPS, **options)
    sparse = ro.optimize(gamma_compiled, method, X0, LR, STEPS, record_every=every, **options)
    its = expected_iterations(STEPS, every)
    np.testing.assert_array_equal(sparse.iterations, its)
    np.testing.assert_array_equal(sparse.x, full.x[its])
    np.testing.assert_array_equal(sparse.loss, full.loss[its])
    np.testing.assert_allclose(sparse.t, LR * np.array(its), rtol=1e-15)
    assert sparse.record_every == every and len(sparse) == 1 + -(-STEPS // every)


def test_full_run_times_and_iterations(gamma_compiled):
    traj = ro.optimize(gamma_compiled, "ng", X0, 0.5, 6)
    np.testing.assert_array_equal(traj.iterations, np.arange(7))
    np.testing.assert_allclose(traj.t, 0.5 * np.arange(7))


def test_failure_keeps_the_last_valid_iterate_off_the_grid(gamma_compiled):
    """gd with η = 5 leaves the domain at step 2 (see test_failures); recording every 3rd iterate,
    the partial trajectory still ends with x_1, the last valid one, as in the full run."""
    with pytest.raises(DomainError) as full:
        ro.optimize(gamma_compiled, "gd", X0, 5.0, 10)
    with pytest.raises(DomainError) as sparse:
        ro.optimize(gamma_compiled, "gd", X0, 5.0, 10, record_every=3)
    assert sparse.value.step == full.value.step == 2
    np.testing.assert_array_equal(sparse.value.trajectory.iterations, [0, 1])
    np.testing.assert_array_equal(sparse.value.trajectory.x, full.value.trajectory.x)
    np.testing.assert_array_equal(sparse.value.point, full.value.point)


def test_buffers_grow_with_kept_rows_not_steps():
    """10¹² steps keeping every 10⁶-th iterate need 10⁶ + 1 rows (a few tens of MB); keeping all
    of them would need 24 TB, refused before allocating."""
    X, L = _buffers(10**12, 10**6, 2)
    assert X.shape == (10**6 + 1, 2) and L.shape == (10**6 + 1,)
    with pytest.raises(
        InputError,
        match=r"steps = 1000000000000 keeps 1000000000001 iterates \(pass record_every=k to keep every k-th\), which need 24 TB",
    ):
        _buffers(10**12, 1, 2)


def test_a_long_run_allocates_its_result_once(gamma_compiled):
    """Peak memory allocated through numpy (tracemalloc) while running 10⁵ steps: the returned
    ``x`` and ``loss`` plus at most 10 % (before issue 8 the buffers were copied and ``t`` built
    eagerly: 2.3 times); with ``record_every = 10⁴`` it stays below 100 kB."""
    import tracemalloc

    ro.optimize(gamma_compiled, "ng", X0, 0.5, 2)  # load the compiled loop outside the measurement
    for every, bound in [(1, None), (10**4, 100_000)]:
        tracemalloc.start()
        try:
            traj = ro.optimize(gamma_compiled, "ng", X0, 0.5, 10**5, record_every=every)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        returned = traj.x.nbytes + traj.loss.nbytes
        assert peak <= (1.1 * returned if bound is None else bound), (every, peak, returned)
