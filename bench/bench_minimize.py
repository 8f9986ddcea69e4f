"""Benchmark ``ro.minimize`` on the Gamma MLE in its four parameterizations (issue 25 item 2).

"Does invariance buy fewer iterations?"  For each parameterization of paper §7.1
(``GAMMA_REPARAMS``), from the paper's start point (1, 1) in every coordinate system (the same
point, α = β = 1), every minimizer and β rule runs to ``√(∇Lᵀg⁻¹∇L) ≤ 1e-10``; the table gives
iterations, geodesic solves, loss and Hessian evaluations and the time of a run.  Two baselines in
the same run:

1. scipy's Euclidean BFGS and CG (``scipy.optimize.minimize`` with the compiled loss and
   gradient, ``gtol`` 1e-12 on the coordinate gradient): their iterations, and the Riemannian
   gradient norm they stop at;
2. ``ng-ls`` written as a user would without riemannopt (the baseline of ``bench/baseline.py``:
   lambdified sympy, ``numpy.linalg.solve``, the geodesic by scipy's ``solve_ivp`` (DOP853,
   rtol 1e-12) and the line search by ``scipy.optimize.brentq`` on ``φ'``): the ratio of times.

Run:  python bench/bench_minimize.py [--repeat 5]
"""

import argparse

import numpy as np
from baseline import best_time, lambdified
from scipy import optimize
from scipy.integrate import solve_ivp

import riemannopt as ro

TOL = 1e-10
X0 = np.array([1.0, 1.0])
VARIANTS = [(name, beta) for name, m in ro.MINIMIZERS.items() for beta in (m.betas or (None,))]


def baseline_ng_ls(fns, x0, tol, maxiter=200):
    """Natural gradient with an exact line search along the geodesic, in numpy/scipy: φ(α) =
    L(Exp_x(α d)) by solve_ivp, its root of φ' by brentq after doubling α to bracket it."""
    metric, grad, chris, _ = fns
    n = len(x0)

    def rhs(t, y):
        return np.concatenate([y[n:], -np.einsum("mij,i,j->m", chris(y[:n]), y[n:], y[n:])])

    def point(x, d, a):
        y = solve_ivp(rhs, (0.0, a), np.concatenate([x, d]), method="DOP853", rtol=1e-12, atol=1e-14).y[:, -1]
        return y[:n], y[n:]

    def dphi(x, d, a):
        z, v = point(x, d, a)
        return grad(z) @ v

    x = np.array(x0, dtype=float)
    for k in range(maxiter):
        g = grad(x)
        d = -np.linalg.solve(metric(x), g)
        if np.sqrt(-(g @ d)) <= tol:
            return x, k
        a = 1.0
        while dphi(x, d, a) < 0:
            a *= 2
        lo = a / 2 if a > 1 else 0.0
        a = optimize.brentq(lambda s: dphi(x, d, s), lo, a, xtol=1e-14, rtol=1e-10)
        x = point(x, d, a)[0]
    return x, maxiter


def guarded(f, outside):
    """``f``, with ``outside`` where the point leaves the domain (what a user passes to scipy)."""

    def g(x):
        try:
            return f(x)
        except ro.errors.DomainError:
            return outside

    return g


def riemannian_norm(C, x):
    g = C.grad(x)
    return float(np.sqrt(g @ np.linalg.solve(C.metric(x), g)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = ro.models.gamma_mle(ro.models.gamma_data())
    print(f"Gamma MLE, start (1, 1) in each parameterization, stop at √(∇Lᵀg⁻¹∇L) ≤ {TOL:g}")
    print("iterations / geodesic solves / loss evaluations / Hessian evaluations, time of a run (best of repeats)")
    rows = {}
    for name, reparam in ro.models.GAMMA_REPARAMS.items():
        P = base.reparameterize(*reparam)
        C = P.compile()
        for method, beta in VARIANTS:
            label = method + (f" ({beta})" if beta else "")
            res = ro.minimize(C, method, X0, beta=beta, tol=TOL)  # compiles what it needs
            t = best_time(lambda: ro.minimize(C, method, X0, beta=beta, tol=TOL), args.repeat)
            flag = "" if res.success else " FAILED"
            rows.setdefault(label, {})[name] = f"{res.nit}/{res.nsolves}/{res.nfev}/{res.nhev} {t * 1e3:.2f} ms{flag}"
        for method in ("BFGS", "CG"):
            res = optimize.minimize(
                guarded(C.loss, np.inf), X0, jac=guarded(C.grad, np.full(2, np.nan)), method=method,
                options={"gtol": 1e-12, "maxiter": 10000},
            )  # fmt: skip
            try:
                cell = f"{res.nit} it, ‖ξ‖ {riemannian_norm(C, res.x):.1e}"
            except ro.errors.RiemannOptError:
                cell = f"{res.nit} it, out of the domain"
            rows.setdefault(f"scipy {method}", {})[name] = cell
        fns = lambdified(P)
        x, k = baseline_ng_ls(fns, X0, TOL)
        t_base = best_time(lambda: baseline_ng_ls(fns, X0, TOL), max(1, args.repeat // 2))
        t_ro = best_time(lambda: ro.minimize(C, "ng-ls", X0, tol=TOL), args.repeat)
        rows.setdefault("ng-ls, numpy/scipy", {})[name] = f"{k} it, {t_base * 1e3:.0f} ms = {t_base / t_ro:.0f}× ng-ls"
    names = list(ro.models.GAMMA_REPARAMS)
    print(f"{'method':<20}" + "".join(f"{n:>30}" for n in names))
    for label, cells in rows.items():
        print(f"{label:<20}" + "".join(f"{cells[n]:>30}" for n in names))


if __name__ == "__main__":
    main()
