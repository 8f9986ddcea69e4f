"""``optimize``: run one of the paper's integrators of the natural-gradient flow."""

import re
from typing import NamedTuple

import numpy as np

from riemannopt._checks import allocate, as_count, as_float_array, check_finite, check_number
from riemannopt.errors import MethodError, OptimizationError, ShapeError
from riemannopt.integrators import common, drivers
from riemannopt.integrators.common import as_compiled, check_max_steps, raise_status
from riemannopt.integrators.link import kernels_for, loop_for
from riemannopt.integrators.methods import METHODS, get_method
from riemannopt.integrators.outcomes import EXPMAP_FAILED, OK
from riemannopt.integrators.trajectory import TrajectoryBatch, make_trajectory

__all__ = ["optimize", "METHODS"]

_EXPMAPS = ("dop853", "solve_ivp")


class Settings(NamedTuple):
    """The checked settings of one run of :func:`optimize`, shared by every member of a batch.

    The fields are in the order of the trajectory loop's parameters that follow ``x0``
    (``kernels.run(F, S, x0, lr, steps, every, p, rtol, atol, max_steps, ...)``), so
    ``loop.run(x0, *settings, ...)`` passes them; a Python driver reads them by name.
    """

    lr: float
    steps: int
    every: int
    p: np.ndarray
    rtol: float
    atol: float
    max_steps: int


def check_method(method):
    get_method(method)
    return method


def _buffers(steps, every, n, batch=()):
    """The trajectory buffers for ``1 + ceil(steps / every)`` kept iterates (of each member of a
    batch), checked to fit in memory before they are allocated."""
    rows = 1 + -(-steps // every)
    what = f"steps = {steps} keeps {rows} iterates (pass record_every=k to keep every k-th), which"
    if batch:
        what = f"{batch[0]} runs of " + what
    return allocate([(*batch, rows, n), (*batch, rows)], what)


def optimize(
    problem, method, x0, lr, steps, *, expmap="dop853", rtol=1e-12, atol=1e-14, max_steps=None, record_every=1
):
    """Run ``steps`` iterations of ``method`` from ``x0`` with learning rate ``lr``.

        Parameters
        ----------
        problem : Problem or CompiledProblem
            A Problem is compiled on demand (through the on-disk cache).
        method : str
            One of :data:`METHODS`, the registry of
            :mod:`riemannopt.integrators.methods` (each entry says what it converges to and how
            invariant it is):

    {methods}
        x0 : array_like, shape (n,) or (B, n)
            Start point, in the problem's coordinates (finite numbers); a 2-D array is a batch of
            ``B`` start points, run in parallel threads in one jitted call (``re`` with
            ``expmap="solve_ivp"`` runs them one after another).
        lr : float
            Learning rate ``η = hλ``; iterate ``k`` approximates the flow at ``t_k = kη``.
        steps : int
            Number of iterations (≥ 1).
        expmap : {"dop853", "solve_ivp"}
            Exponential map used by ``re`` (see :func:`exp_map`).
        rtol, atol : float
            Tolerances of the ODE solvers (``re``, ``exact``).
        max_steps : int, optional
            Step cap of each ODE solve: of every exponential map (``re``, ``rmid``, ``rtaylor``)
            and of each step's solve of the flow (``exact``); a solve that needs more fails with an
            ExpMapError instead of running on.  Default 100 000 for the jitted solver, 20 000 for
            scipy's DOP853 (``re`` with ``expmap="solve_ivp"``), whose steps cost about a hundred
            times more.
        record_every : int
            Keep only every ``record_every``-th iterate, and the last: the trajectory then holds
            iterates ``0, k, 2k, ...`` and ``steps`` (see :attr:`Trajectory.iterations`), and the
            memory of a long run no longer grows with ``steps`` (the jitted loop holds three iterates).
            The iterates themselves do not change.

        Returns
        -------
        Trajectory or TrajectoryBatch
            ``x`` of shape ``(steps + 1, n)`` with ``x[0] == x0`` (``1 + ceil(steps / record_every)``
            rows when recording sparsely), and the loss at each kept iterate; for a batch, a
            :class:`TrajectoryBatch` with ``x`` of shape ``(B, steps + 1, n)`` whose members are
            Trajectories.

        Raises
        ------
        MethodError
            Unknown method, ``lr`` not positive, ``steps`` < 1, ``lr · steps`` not finite.
        InputError
            ``x0`` not numeric or not finite, ``max_steps`` or ``record_every`` not an integer >= 1, or
            a trajectory too large for the machine's memory (checked before allocating it).
        ShapeError
            ``x0`` of the wrong shape.
        DomainError, NotPositiveDefiniteError, NonFiniteError, ExpMapError
            When an iterate leaves the domain, the metric is not positive definite there, a value is
            not finite, or an ODE solve fails; the exception names the method, the step and the point
            and carries the partial trajectory in ``.trajectory`` (its kept iterates and the last valid
            one).  A bad start point fails at step 0 with an empty trajectory.  In a batch, the
            first member that failed is reported: the exception's ``.index`` is its row and
            ``.batch`` the TrajectoryBatch of every member (the others complete where they did not
            fail themselves).
    """
    entry = get_method(method)
    if expmap not in _EXPMAPS:
        raise MethodError(f"unknown exponential map {expmap!r}; choose one of {', '.join(_EXPMAPS)}")
    C = as_compiled(problem)
    x0 = check_finite(as_float_array(x0, "x0"), "x0")
    batch = x0.ndim == 2
    if x0.ndim > 2 or (batch and x0.shape[1] != C.n):
        raise ShapeError(f"x0 must have shape (B, {C.n}) (a batch) or ({C.n},) for this problem, got {x0.shape}")
    x0 = np.ascontiguousarray(x0) if batch else C.vector(x0, "x0")
    lr = check_number(lr, "lr", low=0, strict=True, cls=MethodError)
    steps = as_count(steps, "steps", MethodError)
    if not np.isfinite(lr * steps):
        raise MethodError(f"lr · steps, the run's time span, overflows: lr = {lr}, steps = {steps}")
    rtol = check_number(rtol, "rtol", low=0, strict=True, cls=MethodError)
    atol = check_number(atol, "atol", low=0, strict=True, cls=MethodError)
    name = entry.driver(expmap)
    driver = None if name is None else getattr(drivers, name)
    max_steps = check_max_steps(max_steps, scipy=driver is not None)
    every = as_count(record_every, "record_every")
    K = kernels_for(C)
    run = Settings(lr, steps, every, C.p, rtol, atol, max_steps)
    if batch:
        return _batch(C, K, entry, driver, x0, run)
    X, L = _buffers(steps, every, C.n)
    if driver is not None:
        return driver(C, K, entry.name, x0, run, X, L)
    bad = np.empty(C.n + 2)
    status, k, computed, rows = loop_for(C, entry.kernel).run(x0, *run, entry.uses_metric, X, L, bad)
    return _outcome(C, entry, run, status, k, computed, rows, X, L, bad)


def _outcome(C, entry, run, status, k, computed, rows, X, L, bad):
    """The Trajectory of one finished run of the method ``entry``, or the error of its failure
    carrying it."""
    traj = make_trajectory(X, L, entry.name, run.lr, rows, run.every, k if status == OK else k - 1)
    if status == OK:
        return traj
    point = bad[: C.n] if computed else X[rows - 1]
    if status == EXPMAP_FAILED:  # an ODE solve of the step stopped: bad holds where, when and why
        n = C.n
        report = getattr(common, entry.solve_stop)
        report(
            C,
            method=entry.name,
            step=k,
            lr=run.lr,
            point=point,
            t=bad[n],
            y=bad[:n],
            why=bad[n + 1],
            max_steps=run.max_steps,
            trajectory=traj,
        )
    raise_status(status, C, method=entry.name, step=k, point=point, trajectory=traj, during=not computed)


def _batch(C, K, entry, driver, X0, run):
    """Run every row of ``X0``: in parallel threads through the method's loop, or one after
    another through its driver."""
    B = len(X0)
    X, L = _buffers(run.steps, run.every, C.n, (B,))
    X.fill(np.nan)
    L.fill(np.nan)
    results, failure = [None] * B, None
    if driver is None:
        bad = np.empty((B, C.n + 2))
        out = np.zeros((B, 4), dtype=np.int64)
        loop = loop_for(C, entry.kernel)
        if C.has_data:
            # Its sums over the data rows run in parallel threads already, and a parallel region
            # inside another is an error in numba's workqueue threading layer: one member at a time.
            for b in range(B):
                out[b] = loop.run(X0[b], *run, entry.uses_metric, X[b], L[b], bad[b])
        else:
            loop.run_batch(X0, *run, entry.uses_metric, X, L, bad, out)
        runs = [(b, lambda b=b: _outcome(C, entry, run, *out[b], X[b], L[b], bad[b])) for b in range(B)]
    else:
        runs = [(b, lambda b=b: driver(C, K, entry.name, X0[b], run, X[b], L[b])) for b in range(B)]
    for b, finish in runs:
        try:
            results[b] = finish()
        except OptimizationError as exc:
            results[b] = exc.trajectory
            failure = failure or (b, exc)
    result = TrajectoryBatch(tuple(results), X, L)
    if failure is None:
        return result
    b, exc = failure
    exc.index, exc.batch = b, result
    exc.args = (f"batch member {b} (x0 = {X0[b]}): {exc.args[0]}; every member's result is in the exception's .batch",)
    raise exc


def _method_list(indent):
    return "\n".join(f"{indent}- ``{name}``: {m.description};" for name, m in METHODS.items())


# The list of methods in the docstring is the registry's; it takes the indentation of the text
# above it.
_indent = re.search(r"\n([ \t]*)One of :data:", optimize.__doc__).group(1)
optimize.__doc__ = re.sub(r"[ \t]*\{methods\}", lambda _: _method_list(_indent), optimize.__doc__)
