"""One iteration of Hessian-free natural gradient (Martens 2010), shared by every direction rule.

At θ, with the evaluation of the objective ``f`` on all the training data:

1. the gradient ``∇f`` and the diagonal of the empirical Fisher, from one backward pass;
2. the curvature products on this iteration's chunk (:mod:`riemannopt.nn.curvature`) and the
   preconditioner ``(diag + λ)^¾``;
3. the rule's proposal ``u(r)`` (:mod:`riemannopt.nn.rules`: truncated PCG on
   ``A = F + λI``, Martens' stopping rule, at most ``max_cg`` steps per solve, CG-iterate
   backtracking);
4. the reduction ratio ``ρ`` of ``u(1)`` against the undamped quadratic model
   ``q(u) = ∇fᵀu + ½uᵀFu`` (one more curvature product), and the Levenberg–Marquardt update of
   λ (:mod:`riemannopt.nn.damping`); the threshold test that switches the corrections uses the
   λ of this iteration.  By default (``rho="chunk"``, Martens 2010 §4.1 and the paper's code)
   ρ is measured on the iteration's curvature chunk: ``f_chunk(θ + u) − f_chunk(θ)`` (the
   chunk's mean loss plus the weight decay) over ``q`` with the chunk's curvature ``F`` without
   the weight decay's ``w·diag(m)``; ``rho="full"`` measures the numerator on all the training
   data (riemannopt's earlier choice; it reuses the line search's first evaluation);
5. Armijo's line search on the rate ``r`` (:func:`riemannopt.nn.search.armijo`), starting at
   ``r = 1`` (the paper's default rate).

**Where the damped metric enters.** Every solve (the direction, ``geo``'s and ``perturb``'s
corrections, ``geof``'s combined right-hand side, ``mid``'s midpoint direction) uses the same
damped ``A = F + λI`` at its own point: the paper writes ``g⁻¹`` in eq. 7–9 and damps it
(Appendix D).  Appendix D writes the damping as ``λ·diag(F)``; we use ``D = I`` as Martens (2010)
does, because the paper's implementation is built on Martens' code and keeps its initial λ = 45
(App. E), a value on the scale of that Tikhonov damping, and because the exact ``diag(F)`` would
cost one product per parameter.  The connection ``Γ_first`` itself is undamped: damping is a
trust region on the step, not a change of the manifold.
"""

from riemannopt.errors import NonFiniteError
from riemannopt.nn.damping import levenberg_marquardt, reduction_ratio
from riemannopt.nn.protocol import Update
from riemannopt.nn.rules import Step
from riemannopt.nn.search import armijo

__all__ = ["HessianFree"]


class HessianFree:
    """Hessian-free training with one direction rule.

    Parameters
    ----------
    objective : riemannopt.nn.objective.Objective
    curvature : riemannopt.nn.curvature.Curvature
    rule : riemannopt.nn.rules.Rule
    damping : float
        Initial λ (Martens 2010, paper App. E: 45).
    threshold : float
        Corrections only while λ < threshold (paper App. D; 0 switches them off).
    max_cg : int
        Cap on the CG steps of each solve (paper App. E: 50).
    decay : float
        The warm start is ``decay`` × the previous iteration's solution (Martens: 0.95).
    power : float
        Exponent of the preconditioner ``(diag + λ)^power`` (Martens: ¾).
    rho : {"chunk", "full"}
        Where the reduction ratio's actual change is measured (see the module docstring).
    cg : dict, optional
        Further options of :func:`~riemannopt.nn.solve_damped` (e.g. ``eps=0`` with a fixed
        ``max_cg`` for like-for-like timings).
    """

    def __init__(
        self,
        objective,
        curvature,
        rule,
        *,
        damping=45.0,
        threshold=10.0,
        max_cg=50,
        decay=0.95,
        power=0.75,
        cg=None,
        rho="chunk",
    ):
        self.objective = objective
        self.curvature = curvature
        self.rule = rule
        self.ops = objective.ops
        self.damping = float(damping)
        self.threshold = float(threshold)
        self.decay = float(decay)
        self.power = float(power)
        self.cg = dict(max_iter=int(max_cg), **(cg or {}))
        self.rho = rho
        self.warm = None
        self.previous = None

    @property
    def name(self):
        return self.rule.name

    # -- the optimizer protocol (riemannopt.nn.methods) ------------------------------------------

    def initial(self):
        """Iteration 0's ``damping``: the initial λ."""
        return {"damping": self.damping}

    def warm_up(self, theta):
        """Compile every backend product of an iteration (forward, gradient with the
        preconditioner's diagonal, the curvature product, and the rule's own) on two examples."""
        ops = self.ops
        X, T = self.objective.batch(0, min(2, self.objective.n))
        fwd = ops.forward(theta, X)
        ops.gradient_and_diag(fwd, T)
        v = ops.copy(theta)
        if self.curvature.kind == "empirical":
            ops.empirical_fisher_vp(fwd, T, v)
        else:
            ops.fisher_vp(fwd, v)
        for product in self.rule.products:
            product(ops, fwd, T, v)

    def state(self):
        """Everything that carries over between iterations, on the host."""
        ops = self.ops
        state = {"damping": self.damping}
        for key in ("warm", "previous"):
            value = getattr(self, key)
            if value is not None:
                state[key] = ops.to_numpy(value).copy()
        return state

    def load(self, state, theta, done):
        """Restore :meth:`state` (θ and the number of iterations done carry nothing more)."""
        self.damping = float(state["damping"])
        for key in ("warm", "previous"):
            value = state.get(key)
            setattr(self, key, None if value is None else self.ops.asarray(value, key))

    # -- one iteration ------------------------------------------------------------------------

    def _gradient(self, ev, k, where):
        g, diag = self.objective.gradient(ev)
        if not self.ops.all_finite(g):
            raise NonFiniteError(
                f"{self.name}: the gradient at {where} of iteration {k} is not finite", method=self.name, step=k
            )
        if not self.ops.all_finite(diag):
            # Finite gradients with squares beyond the type's range: say so, rather than let the
            # preconditioner built from them fail as a NaN inside CG.
            raise NonFiniteError(
                f"{self.name}: the gradient's second moments (the preconditioner's diagonal) at {where} of "
                f"iteration {k} overflowed {self.ops.dtype.name}: the data or the parameters are too large for "
                f"{self.ops.dtype.name}",
                method=self.name,
                step=k,
            )
        return g, diag

    def context(self, k, ev):
        """The :class:`~riemannopt.nn.rules.Step` a rule sees at iteration ``k`` (from 1) from
        the evaluation ``ev`` at θ: gradient, curvature on the chunk, preconditioner, λ, warm
        start, previous update, whether corrections are on."""
        ops, objective = self.ops, self.objective
        theta = ev.theta
        lam = self.damping
        g, diag = self._gradient(ev, k, "θ")

        def midpoint(u):
            mid = objective.evaluate(ops.axpby(1.0, theta, 1.0, u))
            if mid.fwd is None:
                raise NonFiniteError(
                    f"{self.name}: the midpoint of iteration {k} is not finite", method=self.name, step=k
                )
            gm, dm = self._gradient(mid, k, "the midpoint")
            return gm, self.curvature.at(mid, k), ops.damped_power(dm, lam, self.power)

        return Step(
            ops=ops,
            grad=g,
            metric=self.curvature.at(ev, k),
            damping=lam,
            precond=ops.damped_power(diag, lam, self.power),
            cg=self.cg,
            warm=None if self.warm is None else ops.axpby(self.decay, self.warm, 0.0, self.warm),
            previous=self.previous,
            corrections=lam < self.threshold,
            evaluate=lambda u: objective.evaluate(ops.axpby(1.0, theta, 1.0, u)),
            midpoint=midpoint,
        )

    def ratio(self, k, step, ev, u, new, at=None):
        """ρ of the update ``u`` from ``ev`` (at θ) to ``new`` (the evaluation at ``θ + u``),
        with the quadratic model of ``step`` (its gradient and curvature); ``at``: the step made
        at θ, whose chunk forward pass gives ``f_chunk(θ)`` (default ``step`` itself)."""
        ops, objective = self.ops, self.objective
        g = step.grad
        quadratic = 0.5 * ops.dot(u, step.metric.fvp(u))
        if self.rho == "full":
            return reduction_ratio(new.value - ev.value, ops.dot(g, u) + quadratic)
        X, T = self.curvature.chunk(k)
        # f_chunk(θ) from the chunk's forward pass that the curvature already made at θ
        before = ops.loss((at or step).metric.fwd, T) + objective.decay(ev.theta)
        after = objective.chunk_value(new.theta, X, T)
        predicted = ops.dot(g, u) + quadratic - objective.curvature_decay_quadratic(u)
        return reduction_ratio(after - before, predicted)

    def step(self, k, ev):
        """Iteration ``k`` (from 1) from the evaluation ``ev`` at θ.

        Returns
        -------
        Update
            The new θ with its evaluation (``ev``'s when the line search accepted no step), and
            the record: ``damping`` (the λ used), ``cg_iterations``, ``rho``, ``rate``,
            ``corrected``.
        """
        ops = self.ops
        step = self.context(k, ev)
        proposal = self.rule.propose(step)
        g = step.grad

        u1 = proposal.update(1.0, ops)
        first = proposal.evaluation or step.evaluate(u1)
        rho = self.ratio(k, step, ev, u1, first)

        def at_rate(r):
            e = step.evaluate(proposal.update(r, ops))
            return e.value, e

        search = armijo(at_rate, ev.value, ops.dot(g, proposal.direction), first=(first.value, first))

        lam = step.damping
        self.damping = levenberg_marquardt(lam, rho)
        self.warm = proposal.warm
        if search.rate > 0:
            self.previous = proposal.update(search.rate, ops)
            new = search.payload
        else:
            self.previous = None
            new = ev
        record = dict(
            damping=lam,
            cg_iterations=proposal.cg_iterations,
            rho=rho,
            rate=search.rate,
            corrected=proposal.corrected,
        )
        return Update(new.theta, record, new)
