"""The paper's midpoint integrator as its Hessian-free implementation runs it (§3, App. D–E).

One iteration is two passes of the Hessian-free pipeline (:class:`~riemannopt.nn.hf.HessianFree`),
each with its own CG solve, CG-iterate backtracking, reduction ratio, Levenberg–Marquardt update
of λ and Armijo search:

**Pass 1, at θ**: ``x₁ = −A⁻¹∇f(θ)`` (warm-started from 0.95 × the previous iteration's last
iterate); the CG iterates are backtracked on the objective at the *half step* ``θ + x/2``; ρ of
the half step ``x₁/2`` updates λ; Armijo on ``θ + r·x₁/2`` from ``r = 1`` picks the half step's
rate ``r₁`` (no accepted rate: the iteration makes no step, as ``ng``'s would).

**Pass 2, at the midpoint** ``θ_m = θ + r₁/2·x₁``: the gradient, the curvature (the same chunk)
and the preconditioner there, with the updated λ; ``x = −A_m⁻¹∇f(θ_m)`` warm-started from
0.95 × pass 1's last iterate; the iterates backtracked on ``θ + r₁·x`` (candidates from θ); ρ of
``r₁·x`` measured with the midpoint's gradient and curvature updates λ again; Armijo on
``θ + r·x`` from ``r = r₁``, with the slope ``∇f(θ_m)ᵀx`` of the midpoint's model.

This is the algorithm of the paper's implementation (read to learn what it did; its code is
not ours).  riemannopt's earlier midpoint, kept as ``mid1``
(:class:`~riemannopt.nn.rules.Mid`), takes the midpoint at the unit rate and makes one λ update
and one line search per iteration.  While λ is at or above the threshold (App. D) an iteration
is exactly ``ng``'s.
"""

from dataclasses import replace

from riemannopt.nn.damping import levenberg_marquardt
from riemannopt.nn.hf import HessianFree
from riemannopt.nn.protocol import Update
from riemannopt.nn.rules import RULES
from riemannopt.nn.search import armijo

__all__ = ["TwoPassMidpoint"]


class TwoPassMidpoint(HessianFree):
    """The paper's two-pass midpoint (see the module docstring); the parameters are those of
    :class:`~riemannopt.nn.hf.HessianFree`, whose rule is ``ng`` (used for the pass 1 solve and
    for the iterations the threshold leaves uncorrected)."""

    def __init__(self, objective, curvature, **options):
        super().__init__(objective, curvature, RULES["ng"], **options)

    @property
    def name(self):
        return "mid"

    def step(self, k, ev):
        if not self.damping < self.threshold:
            return super().step(k, ev)  # corrections off: exactly ng's iteration
        ops, objective = self.ops, self.objective
        theta = ev.theta
        lam = self.damping

        # pass 1 at θ: the half step's direction, λ and rate
        s1 = self.context(k, ev)
        res1 = s1.solve_natural()
        half = replace(s1, evaluate=lambda u: objective.evaluate(ops.axpby(1.0, theta, 0.5, u)))
        x1, ev_half = half.choose(res1)
        u_half = ops.axpby(0.5, x1, 0.0, x1)
        rho1 = self.ratio(k, s1, ev, u_half, ev_half)
        self.damping = levenberg_marquardt(lam, rho1)

        def at_half_rate(r):
            e = objective.evaluate(ops.axpby(1.0, theta, 0.5 * r, x1))
            return e.value, e

        search1 = armijo(at_half_rate, ev.value, ops.dot(s1.grad, u_half), first=(ev_half.value, ev_half))
        record = dict(damping=lam, cg_iterations=res1.iterations, corrected=True)
        if search1.rate == 0:  # no half step: no midpoint, no step
            self.warm, self.previous = res1.x, None
            return Update(theta, dict(record, rho=rho1, rate=0.0), ev)
        r1 = search1.rate

        # pass 2 at the midpoint θ + r₁/2·x₁, warm-started from 0.95 × pass 1's last iterate
        self.warm = res1.x
        s2 = self.context(k, search1.payload)
        res2 = s2.solve_natural()
        full = replace(s2, evaluate=lambda u: objective.evaluate(ops.axpby(1.0, theta, r1, u)))
        x, ev_r1 = full.choose(res2)
        u_r1 = ops.axpby(r1, x, 0.0, x)
        # ρ from θ, with the midpoint's gradient and curvature (s2's model)
        rho = self.ratio(k, s2, ev, u_r1, ev_r1, at=s1)
        self.damping = levenberg_marquardt(self.damping, rho)

        def at_rate(r):
            e = objective.evaluate(ops.axpby(1.0, theta, r, x))
            return e.value, e

        search = armijo(at_rate, ev.value, ops.dot(s2.grad, x), first=(ev_r1.value, ev_r1), start=r1)
        self.warm = res2.x
        record.update(cg_iterations=res1.iterations + res2.iterations, rho=rho, rate=search.rate)
        if search.rate > 0:
            self.previous = ops.axpby(search.rate, x, 0.0, x)
            return Update(search.payload.theta, record, search.payload)
        self.previous = None
        return Update(theta, record, ev)
