"""Natural conjugate gradient on a network (Pascanu & Bengio 2014, §9–10).

Nonlinear conjugate gradient with the natural direction ``N_t = −A⁻¹∇f(θ_t)`` in place of the
negative gradient, ``A = F + λI`` the damped curvature on the iteration's chunk; ``N_t`` is
computed by the same truncated preconditioned CG as ``ng``'s (Martens' stopping rule, warm start
from 0.95 × the previous solution), without ``ng``'s CG-iterate backtracking (Pascanu & Bengio
use neither it nor preconditioning; the preconditioner is kept here so that the solve is
``ng``'s).  The previous search direction ``d_{t−1}`` was computed where the metric was
different; the two variants differ in how they combine the two:

``ncg-f`` (Gonzalez & Dorronsoro 2006 with a truncated-Newton metric, the seed's "NCG-F")
    Polak–Ribière with the metric as preconditioner, ignoring its change:
    ``β = rᵀ(N_t − N_{t−1}) / r_{t−1}ᵀN_{t−1}`` with ``r = −∇f``, clipped at 0 (PR+, a restart
    when negative), ``d_t = N_t + β d_{t−1}``, then a line search on ``θ + α d_t``: Armijo's
    (constant 10⁻², factor 0.8, as ``ng``'s) from the minimizer of the damped quadratic model
    along ``d_t``, ``α₀ = −∇fᵀd / dᵀAd`` (one curvature product).
``ncg-l`` (the seed's eq. 21–22)
    ``min over (α, β) of f(θ + α N_t + β d_{t−1})``, new direction ``d_t = N_t + (β/α) d_{t−1}``
    and step ``α d_t``.  ``search="cobyla"`` (default, as the seed: ``scipy.optimize`` COBYLA,
    derivative-free, started at ``(1, 0)`` with ``rhobeg = ½`` and at most ``max_evals``
    evaluations of ``f`` on all the training data); ``search="model"``: the minimizer of the
    damped quadratic model ``f + ∇fᵀu + ½uᵀAu`` on the plane spanned by ``N_t`` and ``d_{t−1}``
    (a 2×2 solve; two more curvature products, on the chunk), then Armijo on the scale of that
    step — far fewer forward passes on all the data, at the price of trusting the model.

Both restart (``d_t = N_t``, Armijo along it) when the combined direction is not a descent
direction (``∇fᵀd_t ≥ 0``) or the search finds no decrease; the first iteration is such a step.
λ follows the Levenberg–Marquardt rule on the ρ of the step taken (as ``ng``'s).  The record's
``corrected`` says whether the step used ``d_{t−1}`` (a conjugate step) and ``rate`` is the
step's ``α``.
"""

import math

import numpy as np
from scipy import optimize

from riemannopt.errors import NonFiniteError
from riemannopt.nn.damping import levenberg_marquardt
from riemannopt.nn.hf import HessianFree
from riemannopt.nn.protocol import Update
from riemannopt.nn.rules import RULES
from riemannopt.nn.search import armijo

__all__ = ["NaturalConjugateGradient", "NCG_SEARCHES"]

#: How ``ncg-l`` solves its two-dimensional problem (eq. 21).
NCG_SEARCHES = ("cobyla", "model")


class NaturalConjugateGradient(HessianFree):
    """Natural conjugate gradient, ``variant`` ``"f"`` (Polak–Ribière) or ``"l"`` (eq. 21);
    the other parameters are :class:`~riemannopt.nn.hf.HessianFree`'s, plus ``search`` and
    ``max_evals`` for ``"l"`` (see the module docstring)."""

    def __init__(self, objective, curvature, *, variant, search="cobyla", max_evals=30, **options):
        super().__init__(objective, curvature, RULES["ng"], **options)
        self.variant = variant
        self.search = search
        self.max_evals = int(max_evals)
        self.direction = None  # d_{t−1}
        self.natural = None  # N_{t−1} (ncg-f)
        self.rz = None  # r_{t−1}ᵀ N_{t−1} (ncg-f)

    @property
    def name(self):
        return f"ncg-{self.variant}"

    # -- state, for checkpoints ---------------------------------------------------------------

    def state(self):
        state = super().state()
        ops = self.ops
        for key in ("direction", "natural"):
            value = getattr(self, key)
            if value is not None:
                state[key] = ops.to_numpy(value).copy()
        if self.rz is not None:
            state["rz"] = float(self.rz)
        return state

    def load(self, state, theta, done):
        super().load(state, theta, done)
        for key in ("direction", "natural"):
            value = state.get(key)
            setattr(self, key, None if value is None else self.ops.asarray(value, key))
        self.rz = None if state.get("rz") is None else float(state["rz"])

    # -- one iteration ------------------------------------------------------------------------

    def _line_search(self, step, ev, d, slope):
        """Armijo on ``θ + α d`` from the damped model's minimizer along ``d``."""
        ops, objective, theta = self.ops, self.objective, ev.theta
        curvature = ops.dot(d, step.metric.fvp(d)) + step.damping * ops.dot(d, d)
        start = -slope / curvature if curvature > 0 and math.isfinite(curvature) else 1.0

        def at(a):
            e = objective.evaluate(ops.axpby(1.0, theta, a, d))
            return e.value, e

        return armijo(at, ev.value, slope, start=start)

    def _plane_search(self, step, ev, N, d):
        """``(α, β, evaluation)`` minimizing ``f(θ + αN + βd)`` (eq. 21), or None."""
        ops, objective, theta = self.ops, self.objective, ev.theta
        if self.search == "model":
            AN = step.metric.fvp(N)
            Ad = step.metric.fvp(d)
            lam = step.damping
            Q = np.array(
                [
                    [ops.dot(N, AN) + lam * ops.dot(N, N), ops.dot(N, Ad) + lam * ops.dot(N, d)],
                    [ops.dot(d, AN) + lam * ops.dot(d, N), ops.dot(d, Ad) + lam * ops.dot(d, d)],
                ]
            )
            b = -np.array([ops.dot(step.grad, N), ops.dot(step.grad, d)])
            try:
                ab = np.linalg.solve(Q, b)
            except np.linalg.LinAlgError:
                return None
            if not np.all(np.isfinite(ab)) or ab[0] <= 0:
                return None
            u = ops.axpby(float(ab[0]), N, float(ab[1]), d)
            slope = ops.dot(step.grad, u)
            if not slope < 0:
                return None

            def at(s):
                e = objective.evaluate(ops.axpby(1.0, theta, s, u))
                return e.value, e

            found = armijo(at, ev.value, slope)
            if found.rate == 0:
                return None
            return float(found.rate * ab[0]), float(found.rate * ab[1]), found.payload
        seen = {}

        def f(ab):
            key = (float(ab[0]), float(ab[1]))
            if key not in seen:
                seen[key] = objective.evaluate(ops.axpby(1.0, theta, 1.0, ops.axpby(key[0], N, key[1], d)))
            v = seen[key].value
            return v if math.isfinite(v) else 1e300

        optimize.minimize(
            f, np.array([1.0, 0.0]), method="COBYLA", options=dict(rhobeg=0.5, maxiter=self.max_evals, tol=1e-4)
        )
        (a, b), best = min(seen.items(), key=lambda kv: kv[1].value)
        if not best.value < ev.value or a <= 0:
            return None
        return a, b, best

    def step(self, k, ev):
        ops = self.ops
        lam = self.damping
        step = self.context(k, ev)
        res = step.solve_natural(save=False)
        N, g = res.x, step.grad
        if not ops.all_finite(N):
            raise NonFiniteError(f"{self.name}: the natural direction of iteration {k} is not finite", step=k)
        d_prev = self.direction
        conjugate = None
        if d_prev is not None:
            if self.variant == "f":
                beta = max(0.0, -ops.dot(g, ops.axpby(1.0, N, -1.0, self.natural)) / self.rz) if self.rz else 0.0
                d = ops.axpby(1.0, N, beta, d_prev)
                slope = ops.dot(g, d)
                if beta > 0 and slope < 0:
                    found = self._line_search(step, ev, d, slope)
                    if found.rate > 0:
                        conjugate = (found.rate, d, found.payload)
            else:
                found = self._plane_search(step, ev, N, d_prev)
                if found is not None:
                    a, b, new = found
                    d = ops.axpby(1.0, N, b / a, d_prev)
                    if ops.dot(g, d) < 0:
                        conjugate = (a, d, new)
        if conjugate is None:  # restart along the natural direction
            d = N
            found = self._line_search(step, ev, d, ops.dot(g, d))
            rate, new = found.rate, found.payload
        else:
            rate, d, new = conjugate
        self.warm = res.x
        self.natural, self.rz = N, -ops.dot(g, N)
        record = dict(damping=lam, cg_iterations=res.iterations, corrected=conjugate is not None, rate=rate)
        if rate > 0:
            u = ops.axpby(rate, d, 0.0, d)
            rho = self.ratio(k, step, ev, u, new)
            self.damping = levenberg_marquardt(lam, rho)
            self.direction, self.previous = d, u
            return Update(new.theta, dict(record, rho=rho), new)
        self.damping = levenberg_marquardt(lam, -math.inf)
        self.direction = self.previous = None
        return Update(ev.theta, dict(record, rho=-math.inf), ev)
