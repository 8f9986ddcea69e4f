"""Benchmark of Fisher metrics computed by compiled quadrature (issue 22, item 2), against what a
user would otherwise write with scipy.

The target of the issue: a quadrature metric evaluation of a 2-parameter family in at most 50 µs.
Measures, in one run, for the catalogue's Weibull (λ, k), Student-t(5) (μ, σ), von Mises (μ, κ)
and negative binomial (r, p) (``ro.models.*_fisher``), at a few parameter points each (the
negative binomial's sum grows with its mean):

* riemannopt: the compiled functions called in a Python loop, per call (the best of
  ``--repeat`` rounds of ``--calls`` calls): ``metric`` (``C.function("metric")(x, C.p, out)``,
  the double-exponential sum of the 3 entries with its mass check), ``christoffel`` (the metric
  and its 6 first derivatives under the integral, then the solve) and ``gamma_vv`` (the metric
  and Γ(v, v), what a ``geo`` step adds to the natural direction);
* the baseline: the same 3 Fisher entries by ``scipy.integrate.quad`` of ``pdf(x) · R_ij(x)``
  (``scipy.stats`` pdfs, ``R_ij = −∂_i∂_j log p`` lambdified by sympy to numpy), over ``(0, ∞)``,
  ``ℝ`` and ``(μ − π, μ + π)``, with ``epsabs=0, epsrel=--epsrel``; for the negative binomial a
  vectorised numpy sum of ``scipy.stats.nbinom.pmf(k) · R_ij(k)`` over
  ``k < mean + 40 sd + 100``;
* a faster baseline (*fast*): the same, with the pdf lambdified from the log-density too
  (``math``-speed scalar code instead of a ``scipy.stats`` call per point), and for the negative
  binomial the pmf from ``scipy.special.gammaln`` instead of ``nbinom.pmf``;
* the ratio baseline / riemannopt ``metric`` for both, and the largest difference between
  riemannopt's metric and the baseline's relative to the largest entry (a note follows where
  the fast baseline's metric differs from the baseline's by more than 1e-12).

Usage::

    python bench/bench_fisher_quadrature.py [--calls 2000] [--repeat 5] [--epsrel 1e-10]
"""

import argparse
import time
import warnings

import numpy as np
import sympy as sp
from scipy import integrate, special, stats

import riemannopt as ro
from riemannopt.errors import RiemannOptError


def _family(name):
    """(metric, points, baseline(θ, epsrel, fast) -> 2×2 matrix) of one family."""
    if name == "negative_binomial":
        metric = ro.models.negative_binomial_fisher()

        def base(th, epsrel, fast):
            r, p = th
            mean, sd = r * (1 - p) / p, np.sqrt(r * (1 - p)) / p
            k = np.arange(0, int(mean + 40 * sd + 100))
            if fast:
                logpmf = special.gammaln(k + r) - special.gammaln(r) - special.gammaln(k + 1)
                pmf = np.exp(logpmf + r * np.log(p) + k * np.log1p(-p))
            else:
                pmf = stats.nbinom.pmf(k, r, p)
            grr = np.sum(pmf * (special.polygamma(1, r) - special.polygamma(1, k + r)))
            grp = np.sum(pmf * (-1 / p))
            gpp = np.sum(pmf * (r / p**2 + k / (1 - p) ** 2))
            return np.array([[grr, grp], [grp, gpp]])

        return metric, [(1.0, 0.5), (3.5, 0.3), (40.0, 0.02)], base
    if name == "weibull":
        metric = ro.models.weibull_fisher()
        points = [(2.0, 1.5), (1e3, 20.0)]
        pdf = lambda x, th: stats.weibull_min.pdf(x, th[1], scale=th[0])  # noqa: E731
        support = lambda th: (0, np.inf)  # noqa: E731
    elif name == "student_t(5)":
        metric = ro.models.student_t_fisher(5)
        points = [(0.0, 1.0), (2.0, 0.1)]
        pdf = lambda x, th: stats.t.pdf(x, 5, loc=th[0], scale=th[1])  # noqa: E731
        support = lambda th: (-np.inf, np.inf)  # noqa: E731
    elif name == "von_mises":
        metric = ro.models.von_mises_fisher()
        points = [(1.0, 1.0), (3.0, 30.0)]
        pdf = lambda x, th: stats.vonmises.pdf(x, th[1], loc=th[0])  # noqa: E731
        support = lambda th: (th[0] - np.pi, th[0] + np.pi)  # noqa: E731
    else:
        raise ValueError(name)
    R = _hessian(metric)
    x, c = metric.variables[0], metric.coords
    fast_pdf = sp.lambdify((x, c), sp.exp(metric.log_density), modules=["math", "scipy"])

    def base(th, epsrel, fast):
        return _quad(fast_pdf if fast else pdf, R, th, *support(th), epsrel)

    return metric, points, base


FAMILIES = ["weibull", "student_t(5)", "von_mises", "negative_binomial"]


def _hessian(metric):
    """``R_ij(x; θ) = −∂_i∂_j log p``, lambdified to numpy, as a user would write it."""
    x, c = metric.variables[0], metric.coords
    entries = [-sp.diff(metric.log_density, c[i], c[j]) for i, j in ((0, 0), (0, 1), (1, 1))]
    return [sp.lambdify((x, c), e, modules=["numpy", "scipy"]) for e in entries]


def _quad(pdf, R, th, a, b, epsrel):
    """The 3 entries by ``scipy.integrate.quad``."""
    g = [integrate.quad(lambda x, f=f: pdf(x, th) * f(x, th), a, b, epsabs=0, epsrel=epsrel, limit=200)[0] for f in R]
    return np.array([[g[0], g[1]], [g[1], g[2]]])


def per_call(f, calls, repeat):
    """Best over ``repeat`` rounds of the mean time per call of ``calls`` calls."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=2000, help="calls per round of a compiled function")
    ap.add_argument("--repeat", type=int, default=5, help="rounds (the best is kept)")
    ap.add_argument("--epsrel", type=float, default=1e-10, help="relative tolerance of scipy's quad")
    args = ap.parse_args(argv)

    print(
        f"Fisher metrics by quadrature: per call, best of {args.repeat} rounds "
        f"({args.calls} calls of riemannopt's compiled functions; quad epsrel {args.epsrel:g})"
    )
    print(
        f"{'family':<19}{'θ':<16}{'metric':>10}{'christoffel':>13}{'gamma_vv':>10}"
        f"{'baseline':>12}{'ratio':>8}{'fast':>10}{'ratio':>7}{'max rel diff':>14}"
    )
    for name in FAMILIES:
        metric, points, base = _family(name)
        loss = sum((c - 1) ** 2 for c in metric.coords)  # any loss: the metric is timed
        t0 = time.perf_counter()
        C = ro.Problem(metric, loss, params=dict.fromkeys(metric.parameters, 0.0)).compile()
        fm, fc, fv = C.function("metric"), C.function("christoffel"), C.function("gamma_vv")
        build = time.perf_counter() - t0
        g, G, gv = np.empty((2, 2)), np.empty((2, 2, 2)), np.empty(2)
        for th in points:
            x = np.array(th, dtype=float)
            v = 0.1 * x + 0.05
            try:
                ref = C.metric(x)  # also checks the point is in the domain
            except RiemannOptError as err:
                print(f"{name:<19}{str(th):<16} {type(err).__name__}: {err}")
                continue
            t_m = per_call(lambda: fm(x, C.p, g), args.calls, args.repeat)
            t_c = per_call(lambda: fc(x, C.p, G), args.calls, args.repeat)
            t_v = per_call(lambda: fv(x, v, C.p, gv), args.calls, args.repeat)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # quad's IntegrationWarning: reported by the difference
                b = base(th, args.epsrel, False)
                t_b = per_call(lambda: base(th, args.epsrel, False), args.repeat, 1)
                t_f = per_call(lambda: base(th, args.epsrel, True), args.repeat, 1)
                fast_diff = np.abs(base(th, args.epsrel, True) - b).max() / np.abs(b).max()
            diff = np.abs(ref - b).max() / np.abs(b).max()
            note = "" if fast_diff <= 1e-12 else f"  (fast vs baseline {fast_diff:.1e})"
            print(
                f"{name:<19}{str(th):<16}{t_m * 1e6:>8.1f}µs{t_c * 1e6:>11.1f}µs{t_v * 1e6:>8.1f}µs"
                f"{t_b * 1e6:>10.0f}µs{t_b / t_m:>7.0f}×{t_f * 1e6:>8.0f}µs{t_f / t_m:>6.0f}×{diff:>14.1e}{note}"
            )
        print(f"{'':<19}(derivation + compilation of the 3 functions, cold or cached: {build:.1f} s)")


if __name__ == "__main__":
    main()
