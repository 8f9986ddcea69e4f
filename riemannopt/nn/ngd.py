"""Minibatch natural gradient with a fixed rate: the "NGD" run of Pascanu & Bengio's benchmark
(§10; ``ng`` with ``batch=...``).

Iteration ``k`` takes the gradient on minibatch ``(k − 1) mod B`` of the shuffled training data
and the curvature on the *next* minibatch (``k mod B``): Pascanu & Bengio (§7, §10) find that
natural gradient runs reliably on small minibatches as long as the gradient and the metric are
computed on different samples.  The natural direction ``x = −(F + λI)⁻¹ ∇f_B`` comes from ``ng``'s
truncated preconditioned CG (warm start, Martens' stopping rule; no CG-iterate backtracking and
no line search, which would need the whole data set), and the step is ``θ ← θ + r·x`` at the fixed
rate ``r`` (theirs: 1.0).  λ follows the Levenberg–Marquardt rule on ρ measured on the
curvature minibatch.
"""

from riemannopt.errors import NonFiniteError
from riemannopt.nn.curvature import LocalCurvature
from riemannopt.nn.damping import levenberg_marquardt, reduction_ratio
from riemannopt.nn.directions import natural_direction
from riemannopt.nn.hf import HessianFree
from riemannopt.nn.protocol import Update
from riemannopt.nn.rules import RULES

__all__ = ["MinibatchNaturalGradient"]


class MinibatchNaturalGradient(HessianFree):
    """See the module docstring; ``batch`` the minibatch size and ``rate`` the fixed rate, the
    other parameters :class:`~riemannopt.nn.hf.HessianFree`'s."""

    def __init__(self, objective, curvature, *, batch, rate=1.0, **options):
        super().__init__(objective, curvature, RULES["ng"], **options)
        n = objective.n
        self.batches = [(a, min(a + batch, n)) for a in range(0, n, batch)]
        self.fixed_rate = float(rate)

    def _batch(self, k):
        return self.objective.batch(*self.batches[k % len(self.batches)])

    def step(self, k, ev):
        ops, objective = self.ops, self.objective
        theta, lam = ev.theta, self.damping
        X, T = self._batch(k - 1)
        Xc, Tc = self._batch(k)  # the curvature on other examples
        fwd = ops.forward(theta, X)
        g, diag = ops.gradient_and_diag(fwd, T)
        objective.add_decay_(theta, g)
        if objective.weight_decay:
            ops.axpy_(objective.weight_decay, objective.mask, diag)
        if not ops.all_finite(g):
            raise NonFiniteError(f"ng: the minibatch gradient of iteration {k} is not finite", step=k)
        fwd_c = ops.forward(theta, Xc)
        curvature = LocalCurvature(objective, self.curvature.kind, fwd_c, Tc)
        res = self.context_solve(g, curvature, diag, lam)
        u = ops.axpby(self.fixed_rate, res.x, 0.0, res.x)
        new_theta = ops.axpby(1.0, theta, 1.0, u)
        before = ops.loss(fwd_c, Tc) + objective.decay(theta)
        after = objective.chunk_value(new_theta, Xc, Tc)
        predicted = ops.dot(g, u) + 0.5 * ops.dot(u, curvature.fvp(u)) - objective.curvature_decay_quadratic(u)
        rho = reduction_ratio(after - before, predicted)
        self.damping = levenberg_marquardt(lam, rho)
        self.warm = res.x
        self.previous = u
        record = dict(damping=lam, cg_iterations=res.iterations, rho=rho, rate=self.fixed_rate, corrected=False)
        return Update(new_theta, record)

    def context_solve(self, g, curvature, diag, lam):
        """``ng``'s truncated preconditioned CG for ``−(F + λI)⁻¹ g`` with the warm start."""
        ops = self.ops
        warm = None if self.warm is None else ops.axpby(self.decay, self.warm, 0.0, self.warm)
        return natural_direction(
            curvature.fvp, g, lam, ops=ops, x0=warm, precond=ops.damped_power(diag, lam, self.power), **self.cg
        )
