"""Riemannian Euler with ``expmap="solve_ivp"``: a Python loop whose exponential maps step through
scipy's DOP853, for comparison with the jitted solver every method uses.

The driver has the signature ``driver(C, K, x0, lr, steps, every, rtol, atol, max_steps, X, L)``
of :func:`riemannopt.integrators.optimize.optimize`'s buffers and returns a Trajectory, or raises
the error of the first failure with the partial trajectory.
"""

import numpy as np

from riemannopt.integrators.common import expmap_detail, raise_status
from riemannopt.integrators.expmap import exp_map_ivp
from riemannopt.integrators.trajectory import make_trajectory

__all__ = ["re_ivp"]


def re_ivp(C, K, x0, lr, steps, every, rtol, atol, max_steps, X, L):
    """``re`` with ``expmap="solve_ivp"``: each ``Exp_x(η d(x))`` through scipy's DOP853."""
    n = C.n
    here = np.empty(1)
    status = K.check_point(True, x0, C.p, here, 0)
    if status != K.OK:
        raise_status(status, C, method="re", step=0, point=x0, trajectory=make_trajectory(X, L, "re", lr, 0, every))
    X[0], L[0] = x0, here[0]
    rows, cur, L_cur, d = 1, x0, here[0], np.empty(n)
    for k in range(steps):
        status = K.nat_dir(cur, C.p, d)
        computed, detail = False, ""
        if status == K.OK:
            status, y, t, why = exp_map_ivp(C, K, cur, lr * d, rtol, atol, max_steps)
            if status != K.OK:
                detail = expmap_detail(lr * d, t, y[:n], why, max_steps)
        if status == K.OK:
            nxt, computed = y[:n].copy(), True
            status = K.check_point(True, nxt, C.p, here, 0)
        if status != K.OK:
            if k % every:
                X[rows], L[rows] = cur, L_cur
                rows += 1
            traj = make_trajectory(X, L, "re", lr, rows, every, k)
            raise_status(
                status,
                C,
                method="re",
                step=k + 1,
                point=nxt if computed else cur,
                trajectory=traj,
                during=not computed,
                detail=detail,
            )
        cur, L_cur = nxt, here[0]
        if (k + 1) % every == 0 or k + 1 == steps:
            X[rows], L[rows] = cur, L_cur
            rows += 1
    return make_trajectory(X, L, "re", lr, rows, every, steps)
