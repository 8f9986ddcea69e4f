"""The trajectory loop of one method: a template, not a module to import.

:mod:`riemannopt.integrators.link` writes one module per (problem, method) from this source,
prefixed with ``from <kernels of the problem> import *`` and ``step = step_<method>``, so that a
process compiles the loop of a method only when that method is run (numba compiles each loop
with everything it calls, and caches it on disk).
"""

# ruff: noqa: F821  (step, check_point, OK come from the kernel module linked in)
from numba import njit, prange

_jit = njit(cache=True, error_model="numpy")


@_jit
def run(x0, lr, steps, every, p, rtol, atol, max_steps, uses_metric, X, L, bad):
    """Run ``steps`` updates of the method from ``x0``, keeping every ``every``-th iterate.

    Rows of ``X`` and ``L`` receive ``x_0, x_every, x_2·every, ...`` and the last iterate (``x_steps``
    when the run completes, the last valid iterate when it fails), so they need
    ``1 + ceil(steps / every)`` rows; only three iterates are held otherwise, so memory does not
    grow with ``steps``.  ``bad`` (length ``n + 2``) receives the offending point of a failure
    (and, when an exponential map failed, the time and the reason it stopped).

    Returns ``(status, k, computed, rows)``: ``k`` is the index of the iterate that failed
    (``steps`` on success), ``computed`` says whether ``x_k`` was produced (and is the offending
    point, in ``bad``) or the step from ``x_{k-1}`` failed before producing it, and ``rows`` how
    many rows of ``X`` and ``L`` were filled.
    """
    n = x0.size
    prev = x0.copy()
    cur = x0.copy()
    nxt = x0.copy()
    for i in range(n):
        bad[i] = x0[i]
    status = check_point(uses_metric, cur, p, L, 0)
    if status != OK:
        return status, 0, True, 0
    for i in range(n):
        X[0, i] = cur[i]
    rows = 1
    here = L[0]
    for k in range(steps):
        status = step(cur, prev, lr, k, p, rtol, atol, max_steps, nxt, bad)
        computed = status == OK
        if computed:
            # the next row is scratch space for the loss until the iterate is known to be kept
            status = check_point(uses_metric, nxt, p, L, rows)
        if status != OK:
            if computed:
                for i in range(n):
                    bad[i] = nxt[i]
            if k % every != 0:  # keep the last valid iterate even off the recording grid
                for i in range(n):
                    X[rows, i] = cur[i]
                L[rows] = here
                rows += 1
            return status, k + 1, computed, rows
        prev, cur, nxt = cur, nxt, prev
        here = L[rows]
        if (k + 1) % every == 0 or k + 1 == steps:
            for i in range(n):
                X[rows, i] = cur[i]
            rows += 1
    return OK, steps, True, rows


@njit(cache=True, error_model="numpy", parallel=True)
def run_batch(X0, lr, steps, every, p, rtol, atol, max_steps, uses_metric, X, L, bad, out):
    """:func:`run` from each row of ``X0``, in parallel: member ``b`` fills ``X[b]``, ``L[b]`` and
    ``bad[b]``, and ``out[b]`` receives its ``(status, k, computed, rows)``."""
    for b in prange(X0.shape[0]):
        status, k, computed, rows = run(
            X0[b], lr, steps, every, p, rtol, atol, max_steps, uses_metric, X[b], L[b], bad[b]
        )
        out[b, 0] = status
        out[b, 1] = k
        out[b, 2] = computed
        out[b, 3] = rows
