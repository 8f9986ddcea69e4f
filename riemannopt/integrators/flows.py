"""ODE-solver paths: the exact natural-gradient flow and the exponential map through scipy.

Both use scipy's ``solve_ivp`` (DOP853) with the problem's jitted right-hand side.  A right-hand
side evaluated at an invalid point returns NaN, which makes the solver shrink its step and stop;
the samples reached before that are kept.
"""

import numpy as np

__all__ = ["ivp_samples"]


def ivp_samples(rhs, y0, ts, rtol, atol):
    """Solve ``ẏ = rhs(y)`` from ``y(0) = y0`` and sample it at the increasing times ``ts``.

    Returns
    -------
    Y : ndarray, shape (len(ts), len(y0))
        Samples; rows past a failure are NaN.
    count : int
        How many samples were reached.
    message : str
        The solver's message.
    """
    from scipy.integrate import solve_ivp  # deferred: importing scipy.integrate costs ~0.5 s

    ts = np.asarray(ts, dtype=np.float64)
    Y = np.full((ts.size, y0.size), np.nan)
    if ts[-1] == 0.0:
        Y[:] = y0
        return Y, ts.size, "nothing to integrate"
    with np.errstate(all="ignore"):
        sol = solve_ivp(
            lambda t, y: rhs(y), (0.0, ts[-1]), y0, method="DOP853", t_eval=ts, rtol=rtol, atol=atol
        )
    count = sol.y.shape[1]
    Y[:count] = sol.y.T
    if sol.status != 0:
        count = min(count, ts.size - 1)
    return Y, count, sol.message
