"""Python drivers: methods run by a Python loop instead of the jitted one, for the exponential
maps that registry entries name (``Method.drivers``).  Here Riemannian Euler with
``expmap="solve_ivp"``: its exponential maps step through scipy's DOP853, for comparison with the
jitted solver every method uses.

A driver has the signature ``driver(C, K, method, x0, run, X, L)``: the compiled problem, its
kernels, the method's name, the start, the run's :class:`~riemannopt.integrators.optimize.Settings`
and the buffers of :func:`riemannopt.integrators.optimize.optimize`; it returns a Trajectory, or
raises the error of the first failure with the partial trajectory.
"""

import numpy as np

from riemannopt.integrators.common import expmap_detail, raise_status
from riemannopt.integrators.expmap import exp_map_ivp
from riemannopt.integrators.outcomes import OK
from riemannopt.integrators.trajectory import make_trajectory

__all__ = ["re_ivp"]


def re_ivp(C, K, method, x0, run, X, L):
    """``re`` with ``expmap="solve_ivp"``: each ``Exp_x(η d(x))`` through scipy's DOP853."""
    n = C.n
    lr, steps, every, rtol, atol, max_steps = run.lr, run.steps, run.every, run.rtol, run.atol, run.max_steps
    here = K.new_facts(n)  # the facts at the current iterate: its check computes them, its step reads them
    status = K.check_point(True, x0, C.p, here)
    if status != OK:
        raise_status(status, C, method=method, step=0, point=x0, trajectory=make_trajectory(X, L, method, lr, 0, every))
    X[0], L[0] = x0, here[1]
    rows, cur, L_cur, d = 1, x0, here[1], np.empty(n)
    for k in range(steps):
        status = K.nat_dir_here(cur, C.p, here, d)
        computed, detail = False, ""
        if status == OK:
            status, y, t, why = exp_map_ivp(C, K, cur, lr * d, rtol, atol, max_steps)
            if status != OK:
                detail = expmap_detail(lr * d, t, y[:n], why, max_steps)
        if status == OK:
            nxt, computed = y[:n].copy(), True
            status = K.check_point(True, nxt, C.p, here)
        if status != OK:
            if k % every:
                X[rows], L[rows] = cur, L_cur
                rows += 1
            traj = make_trajectory(X, L, method, lr, rows, every, k)
            raise_status(
                status,
                C,
                method=method,
                step=k + 1,
                point=nxt if computed else cur,
                trajectory=traj,
                during=not computed,
                detail=detail,
            )
        cur, L_cur = nxt, here[1]
        if (k + 1) % every == 0 or k + 1 == steps:
            X[rows], L[rows] = cur, L_cur
            rows += 1
    return make_trajectory(X, L, method, lr, rows, every, steps)
