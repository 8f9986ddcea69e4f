"""Python drivers of the methods that step through scipy (DOP853): the exact flow, and
Riemannian Euler with ``expmap="solve_ivp"``.

Each has the signature ``driver(C, K, x0, lr, steps, every, rtol, atol, max_steps, X, L)`` of
:func:`riemannopt.integrators.optimize.optimize`'s buffers and returns a Trajectory, or raises the
error of the first failure with the partial trajectory.
"""

import numpy as np

from riemannopt.errors import ExpMapError
from riemannopt.integrators.common import domain_text, raise_status, why_text
from riemannopt.integrators.expmap import exp_map_ivp
from riemannopt.integrators.flows import WHY_DOMAIN, ivp_samples
from riemannopt.integrators.trajectory import make_trajectory

__all__ = ["exact_flow", "re_ivp", "expmap_detail"]


def expmap_detail(v, t, y, why, max_steps):
    """What to say of an exponential map with velocity ``v`` that stopped at ``t`` in ``y``."""
    return (
        f" (the geodesic from there with velocity lr·d = {v} stopped at t = {t:.6g} of 1, at "
        f"{y}, because {why_text(why, max_steps)})"
    )


def exact_flow(C, K, x0, lr, steps, every, rtol, atol, max_steps, X, L):
    """``exact``: the flow ``ẋ = d(x)`` through scipy's DOP853, sampled at ``t_k = kη``."""
    n = C.n
    status = K.check_point(True, x0, C.p, L, 0)
    if status != K.OK:
        raise_status(
            status, C, method="exact", step=0, point=x0, trajectory=make_trajectory(X, L, "exact", lr, 0, every)
        )
    iterations = np.arange(0, steps + 1, every, dtype=np.int64)
    if iterations[-1] != steps:
        iterations = np.append(iterations, steps)
    ts = lr * iterations

    def rhs(x):
        d = np.empty(n)
        if K.nat_dir(x, C.p, d) != K.OK:
            d[:] = np.nan
        return d

    res = ivp_samples(rhs, lambda x: K.check(True, x, C.p), x0, ts, rtol, atol, max_steps, X)
    status, count = K.check_rows(True, X, res.count, C.p, L)
    traj = make_trajectory(X, L, "exact", lr, count, every, iterations[count - 1] if count else -1)
    if count == len(iterations):
        return traj
    step = int(iterations[count])
    if status != K.OK:  # a sample with a non-finite loss
        raise_status(status, C, method="exact", step=step, point=X[count], trajectory=traj)
    if res.status == K.EXPMAP_FAILED:
        where = (
            f"the ODE solver of the flow ẋ = d(x) stopped at t = {res.t:.6g}, x = {res.y}, before "
            f"t_{step} = {ts[count]:.6g}, because {why_text(res.why, max_steps)}"
        )
        if res.why == WHY_DOMAIN:
            where += domain_text(C)
        msg = f"method 'exact' failed at step {step}: {where}; the partial trajectory ({len(traj)} iterates) is in the exception's .trajectory"
        raise ExpMapError(msg, method="exact", step=step, point=np.array(res.y), trajectory=traj, t=float(res.t))
    where = f"on the way to t_{step} = {ts[count]:.6g} the flow reached x = {res.bad}, which"
    raise_status(res.status, C, method="exact", step=step, point=res.bad, trajectory=traj, where=where)


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
