"""Direction rules of Hessian-free training: what ``ng``, ``mid``, ``geo``, ``geof`` and
``perturb`` do differently within one iteration (paper §3–4, eq. 7–9, Appendix F).

Everything else in an iteration (gradient, curvature chunk, preconditioner, damping, line search)
is shared and done by :class:`riemannopt.nn.hf.HessianFree`; a rule gets a :class:`Step` and
returns a :class:`Proposal`, the update path ``u(r) = r·direction + r²·correction`` whose rate
``r`` the line search then picks.  With the damped metric ``A = F + λI`` (the undamped Fisher
``F`` plus weight decay, on the iteration's curvature chunk):

``ng`` (Martens 2010)
    ``d = −A⁻¹∇f`` by truncated PCG warm-started from 0.95 × the previous solution; the saved
    CG iterates are backtracked on the objective; ``u(r) = r·d``.
``mid1`` (§3's integrator: riemannopt's variant of the paper's two-pass ``mid``, :mod:`riemannopt.nn.midpoint`)
    ``ng``'s step ``d₁`` (the velocity of the natural-gradient flow as Hessian-free computes
    it, backtracking included), then at the midpoint ``θ + ½d₁`` (the half step of the unit
    rate) the gradient, the curvature and the preconditioner again,
    ``d = −A_mid⁻¹ ∇f(θ + ½d₁)`` warm-started from ``d₁``, backtracked on the objective from θ;
    ``u(r) = r·d``.  The midpoint is not moved when the line search later shrinks ``r`` (that
    would need a new midpoint solve per rate).
``geo`` (eq. 7)
    ``ng``'s ``d``, then ``c = A⁻¹ Γ_first(d, d)`` by a second solve (from zero);
    ``u(r) = r·d − ½r²·c``: the correction is quadratic in the step, as in eq. 7 with ``h = r``.
``geof`` (eq. 8–9)
    one solve ``w = A⁻¹(−∇f − ½ Γ_first(Δ, Δ))``, ``Δ`` the previous accepted update (the
    velocity of eq. 8 at the paper's unit rate), warm-started and backtracked like ``ng``;
    ``u(r) = r·w``.  **Choice:** the line search scales the whole solution, so the correction
    scales with ``r`` rather than ``r²``; giving it ``r²`` would need its own solve, which is
    ``geo``'s cost.  Since ``Δ`` already carries the previous rate, a run whose line search keeps
    shrinking the rate gets a correction of the right size for the steps actually taken.
``perturb`` (App. F, eq. 20)
    ``ng``'s ``d = δθ₁``, then ``δθ₂ = −A⁻¹ P(d)`` by a second solve, ``u(r) = r·d + r²·δθ₂``,
    handled like ``geo`` so that Figure 5 compares the two corrections on equal terms.

Each correction is computed only while ``Step.corrections`` (λ below the threshold of
Appendix D); otherwise every rule returns exactly ``ng``'s proposal.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from riemannopt.errors import MethodError
from riemannopt.nn.directions import (
    faster_geodesic_direction,
    geodesic_correction,
    natural_direction,
    perturbation_correction,
)
from riemannopt.nn.search import backtrack

if TYPE_CHECKING:
    from riemannopt.nn.backends.base import Backend
    from riemannopt.nn.curvature import LocalCurvature
    from riemannopt.nn.objective import Evaluation

#: A backend vector (a numpy array, or a device array of the cuda backend).
Array = Any

__all__ = ["Step", "Proposal", "Rule", "RULES", "get_rule"]

_WARM = object()  # "start from the step's warm start", distinct from None (start from zero)


@dataclass
class Step:
    """What a rule sees at one iteration at θ.

    Attributes
    ----------
    ops : VectorOps
        The backend's vector operations.
    grad : array
        ``∇f(θ)`` (weight decay included).
    metric : riemannopt.nn.curvature.LocalCurvature
        ``fvp`` (``F v`` plus weight decay), ``cvp`` (``Γ_first(v, v)``), ``pvp`` (eq. 20 bracket)
        at θ.
    damping : float
        λ.
    precond : array
        Diagonal preconditioner ``(diag + λ)^¾`` at θ.
    cg : dict
        Further options of :func:`~riemannopt.nn.solve_damped` (``max_iter``, ...).
    warm : array or None
        Warm start of the first solve (0.95 × the previous iteration's solution).
    previous : array or None
        The previous accepted update Δ (``None`` at the start or after a rejected step).
    corrections : bool
        Whether λ is below the threshold, i.e. whether corrections are on.
    evaluate : callable
        ``u ↦`` :class:`~riemannopt.nn.objective.Evaluation` at ``θ + u``.
    midpoint : callable
        ``u ↦ (grad, metric, precond)`` at ``θ + u``, same chunk and λ.
    """

    ops: "Backend"
    grad: "Array"
    metric: "LocalCurvature"
    damping: float
    precond: "Array"
    cg: dict
    warm: "Array | None"
    previous: "Array | None"
    corrections: bool
    evaluate: "Callable[[Array], Evaluation]"
    midpoint: "Callable[[Array], tuple[Array, LocalCurvature, Array]]"

    def solve_natural(self, fvp=None, grad=None, precond=None, x0=_WARM, save=True):
        """``−A⁻¹ grad`` (by default this step's products, gradient, preconditioner and warm
        start), with the CG iterates saved for :meth:`choose`."""
        return natural_direction(
            fvp or self.metric.fvp,
            self.grad if grad is None else grad,
            self.damping,
            ops=self.ops,
            x0=self.warm if x0 is _WARM else x0,
            precond=self.precond if precond is None else precond,
            save=save,
            **self.cg,
        )

    def choose(self, result):
        """Martens' backtracking over the saved iterates of ``result`` by the objective at
        ``θ + x``: ``(x, evaluation)``."""

        def value(x):
            ev = self.evaluate(x)
            return ev.value, ev

        xs = [x for _, x in result.saved]
        found = backtrack(xs, value)
        return xs[found.index], found.payload


@dataclass
class Proposal:
    """A rule's update path ``u(r) = r·direction + r²·correction``.

    Attributes
    ----------
    direction : array
        ``u'(0)``; the line search's slope is ``∇fᵀ direction``.
    warm : array
        The solution whose 0.95 × warm-starts the next iteration's first solve (the last CG
        iterate, before backtracking, as in Martens' code).
    cg_iterations : int
        CG steps taken by all of the rule's solves.
    corrected : bool
        Whether a correction was applied.
    correction : array or None
        The ``r²`` term, ``None`` for a straight path.
    evaluation : Evaluation or None
        The objective at ``θ + u(1)`` when the rule already computed it (backtracking).
    """

    direction: object
    warm: object
    cg_iterations: int
    corrected: bool = False
    correction: object = None
    evaluation: object = None

    def update(self, rate, ops):
        """``u(rate)`` as a new vector."""
        if self.correction is None:
            return ops.axpby(rate, self.direction, 0.0, self.direction)
        return ops.axpby(rate, self.direction, rate * rate, self.correction)


class Rule:
    """One method's direction rule: subclasses set :attr:`name` and :meth:`propose`."""

    #: The method's name (the paper's abbreviation).
    name = ""
    #: Whether the rule needs targets on the curvature data.
    needs_targets = False
    #: The backend products the rule uses beyond the gradient and the curvature product, each
    #: ``product(ops, fwd, T, v)`` (run once before the clock starts, to compile its kernels).
    products = ()

    def propose(self, step):
        """The :class:`Proposal` of this iteration."""
        raise NotImplementedError

    def __repr__(self):
        return f"<rule {self.name}>"


def _natural(step):
    res = step.solve_natural()
    x, ev = step.choose(res)
    return Proposal(direction=x, warm=res.x, cg_iterations=res.iterations, evaluation=ev)


class NG(Rule):
    """Hessian-free natural gradient (Martens 2010), the paper's baseline."""

    name = "ng"

    def propose(self, step):
        return _natural(step)


class Mid(Rule):
    """riemannopt's one-pass midpoint (§3's integrator, not the paper's implementation of it:
    :mod:`riemannopt.nn.midpoint`)."""

    name = "mid1"

    def propose(self, step):
        first = _natural(step)
        if not step.corrections:
            return first
        d1 = first.direction
        grad, metric, precond = step.midpoint(step.ops.axpby(0.5, d1, 0.0, d1))
        res = step.solve_natural(metric.fvp, grad, precond, x0=d1)
        x, ev = step.choose(res)
        return Proposal(
            direction=x,
            warm=res.x,
            cg_iterations=first.cg_iterations + res.iterations,
            corrected=True,
            evaluation=ev,
        )


class Geo(Rule):
    """Geodesic correction (eq. 7)."""

    name = "geo"
    products = (lambda ops, fwd, T, v: ops.connection_vp(fwd, v),)

    def propose(self, step):
        p = _natural(step)
        if not step.corrections:
            return p
        c = geodesic_correction(
            step.metric.fvp, step.metric.cvp, p.direction, step.damping, ops=step.ops, precond=step.precond, **step.cg
        )
        return Proposal(
            direction=p.direction,
            warm=p.warm,
            cg_iterations=p.cg_iterations + c.iterations,
            corrected=True,
            correction=step.ops.scale_(-0.5, c.x),
        )


class Geof(Rule):
    """Faster geodesic correction (eq. 8–9)."""

    name = "geof"
    products = (lambda ops, fwd, T, v: ops.connection_vp(fwd, v),)

    def propose(self, step):
        delta = step.previous if step.corrections else None
        if delta is None:
            return _natural(step)
        m = step.metric
        res = faster_geodesic_direction(
            m.fvp,
            m.cvp,
            step.grad,
            delta,
            step.damping,
            ops=step.ops,
            x0=step.warm,
            precond=step.precond,
            save=True,
            **step.cg,
        )
        x, ev = step.choose(res)
        return Proposal(direction=x, warm=res.x, cg_iterations=res.iterations, corrected=True, evaluation=ev)


class Perturb(Rule):
    """The small-curvature (perturbative) correction of Appendix F, eq. (20)."""

    name = "perturb"
    needs_targets = True
    products = (lambda ops, fwd, T, v: ops.perturb_vp(fwd, T, v),)

    def propose(self, step):
        p = _natural(step)
        if not step.corrections:
            return p
        e = perturbation_correction(
            step.metric.fvp, step.metric.pvp, p.direction, step.damping, ops=step.ops, precond=step.precond, **step.cg
        )
        return Proposal(
            direction=p.direction,
            warm=p.warm,
            cg_iterations=p.cg_iterations + e.iterations,
            corrected=True,
            correction=e.x,
        )


#: The direction rules by name.
RULES = {rule.name: rule for rule in (NG(), Mid(), Geo(), Geof(), Perturb())}


def get_rule(name):
    """The :class:`Rule` called ``name``; a :class:`~riemannopt.errors.MethodError` otherwise."""
    try:
        return RULES[name]
    except (KeyError, TypeError):
        raise MethodError(f"unknown direction rule {name!r}; expected one of {list(RULES)}") from None
