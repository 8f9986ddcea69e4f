"""The baseline of the benchmarks: what a user would write with numpy/scipy and no riemannopt.

Functions come from ``sympy.lambdify(modules=["numpy", "scipy"])`` of the same symbolic problem;
linear algebra is ``numpy.linalg.solve`` / ``numpy.einsum``; ODEs go through scipy's
``solve_ivp`` (DOP853) with a plain Python right-hand side.
"""

import time

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp


def lambdified(problem):
    """The baseline's building blocks: metric, gradient, Christoffel symbols, loss as numpy code."""
    args = (problem.coords, problem.param_symbols)
    mods = ["numpy", "scipy"]
    metric = sp.lambdify(args, problem.metric.matrix, mods)
    grad = sp.lambdify(args, list(problem.gradient), mods)
    chris = sp.lambdify(args, problem.metric.christoffel.tolist(), mods)
    loss = sp.lambdify(args, problem.loss, mods)
    p = problem.param_values
    return (
        lambda x: np.asarray(metric(x, p), dtype=float),
        lambda x: np.asarray(grad(x, p), dtype=float),
        lambda x: np.asarray(chris(x, p), dtype=float),
        lambda x: float(loss(x, p)),
    )


def baseline_run(fns, method, x0, lr, steps, rtol=1e-12, atol=1e-14):
    """A straightforward numpy/scipy implementation of the update rules of docs/mathematics.rst."""
    metric, grad, chris, loss = fns
    d = lambda x: -np.linalg.solve(metric(x), grad(x))  # noqa: E731
    gvv = lambda x, v: np.einsum("mij,i,j->m", chris(x), v, v)  # noqa: E731
    X = [np.array(x0, dtype=float)]
    L = [loss(X[0])]
    for k in range(steps):
        x = X[-1]
        if method == "gd":
            y = x - lr * grad(x)
        elif method == "ng":
            y = x + lr * d(x)
        elif method == "mid":
            y = x + lr * d(x + lr / 2 * d(x))
        elif method == "geo":
            dx = d(x)
            y = x + lr * dx - lr**2 / 2 * gvv(x, dx)
        elif method == "geof":
            v = d(x) if k == 0 else (x - X[-2]) / lr
            G = metric(x)
            first = np.einsum("kl,lij,i,j->k", G, chris(x), v, v)
            y = x + lr * np.linalg.solve(G, -grad(x) - lr / 2 * first)
        elif method == "re":
            y = baseline_exp(chris, x, lr * d(x), rtol, atol)
        else:
            raise ValueError(method)
        X.append(y)
        L.append(loss(y))
    return np.array(X), np.array(L)


def baseline_exp(chris, x, v, rtol, atol):
    n = len(x)

    def rhs(t, y):
        return np.concatenate([y[n:], -np.einsum("mij,i,j->m", chris(y[:n]), y[n:], y[n:])])

    sol = solve_ivp(rhs, (0.0, 1.0), np.concatenate([x, v]), method="DOP853", rtol=rtol, atol=atol)
    return sol.y[:n, -1]


def baseline_exact(fns, x0, lr, steps, rtol=1e-12, atol=1e-14):
    """The exact flow ẋ = −g⁻¹∇L by solve_ivp (DOP853), sampled at t_k = k·lr."""
    metric, grad, _, _ = fns
    ts = lr * np.arange(steps + 1)
    sol = solve_ivp(
        lambda t, x: -np.linalg.solve(metric(x), grad(x)),
        (0.0, ts[-1]),
        np.asarray(x0, float),
        method="DOP853",
        t_eval=ts,
        rtol=rtol,
        atol=atol,
    )
    return sol.y.T


def best_time(f, repeat):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best
