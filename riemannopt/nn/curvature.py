"""The curvature of the damped system: which matrix, on which examples.

Martens (2010) computes the gradient on all the training data but the curvature products on one
minibatch ("chunk") per iteration, cycling through the chunks, because CG needs tens of
products per iteration and the curvature tolerates a smaller sample than the gradient.
Pascanu & Bengio (§7) go further and evaluate the metric on *other* examples (another
minibatch, or unlabeled inputs: the Fisher needs no targets), which decorrelates the metric
from the gradient's sample.

The matrix is the Fisher (= generalized Gauss-Newton for these losses, Martens, *New
perspectives*, §8) or, for comparison, the empirical Fisher of the per-example gradients (§7
there), plus the weight decay's ``w·diag(m)``.  The connection ``Γ_first(v, v)`` and the
small-curvature bracket of Appendix F are always those of the Fisher metric (the empirical
Fisher is not the metric of a model manifold), on the same examples as the curvature.
"""

import numpy as np

__all__ = ["Curvature", "LocalCurvature", "CURVATURES"]

#: The curvature matrices :func:`riemannopt.nn.train` accepts.
CURVATURES = ("fisher", "empirical")


class LocalCurvature:
    """The curvature products at one θ on one chunk of examples: the damped system's matrix (the
    Fisher or the empirical Fisher, plus the weight decay), the connection of the Fisher metric
    and the small-curvature bracket.

    (Not :class:`riemannopt.Metric`, the symbolic metric of a manifold: this is the curvature
    matrix of Martens (2010) evaluated at one point, on one chunk.)

    Parameters
    ----------
    objective : Objective
        For the weight decay and the backend.
    kind : {"fisher", "empirical"}
    fwd : object
        The backend's forward pass at θ on the chunk.
    T : array or None
        The chunk's targets (``None`` for unlabeled inputs).
    """

    def __init__(self, objective, kind, fwd, T):
        self.objective = objective
        self.ops = objective.ops
        self.kind = kind
        self.fwd = fwd
        self.T = T

    def fvp(self, v):
        """``(F + w·diag(m)) v`` (``F`` the Fisher or the empirical Fisher; the decay's term only
        with ``decay_in_curvature``)."""
        if self.kind == "empirical":
            y = self.ops.empirical_fisher_vp(self.fwd, self.T, v)
        else:
            y = self.ops.fisher_vp(self.fwd, v)
        return self.objective.add_curvature_decay_(v, y)  # the decay only if it is in the curvature

    def cvp(self, v):
        """``Γ_first(v, v)`` of the Fisher metric (Prop. 2)."""
        return self.ops.connection_vp(self.fwd, v)

    def pvp(self, v):
        """The bracket of the small-curvature correction, App. F eq. (20) (needs targets)."""
        return self.ops.perturb_vp(self.fwd, self.T, v)


class Curvature:
    """Where the curvature of each iteration comes from.

    Parameters
    ----------
    objective : Objective
    kind : {"fisher", "empirical"}
    chunks : int
        Number of curvature minibatches; iteration ``k`` (from 1) uses chunk ``(k − 1) mod
        chunks``.
    X, T : arrays, optional
        Other examples for the curvature (Pascanu & Bengio §7), already validated, as backend
        arrays, shuffled; ``T`` may be ``None`` (unlabeled inputs).  Default: the objective's
        own (shuffled) training examples.
    """

    def __init__(self, objective, kind="fisher", chunks=1, X=None, T=None):
        self.objective = objective
        self.kind = kind
        self.chunks = int(chunks)
        self.own = X is None
        self.X, self.T = (objective.X, objective.T) if self.own else (X, T)
        bounds = np.linspace(0, int(self.X.shape[0]), self.chunks + 1).round().astype(int).tolist()
        self.bounds = list(zip(bounds[:-1], bounds[1:]))  # Python ints: device arrays slice with them

    def chunk(self, k):
        """``(X, T)`` of iteration ``k``'s chunk (``T`` may be ``None``)."""
        a, b = self.bounds[(k - 1) % self.chunks]
        return self.X[a:b], None if self.T is None else self.T[a:b]

    def at(self, ev, k):
        """The :class:`LocalCurvature` at the evaluation ``ev`` for iteration ``k``; with one
        chunk of the training data it reuses the evaluation's forward pass."""
        X, T = self.chunk(k)
        fwd = ev.fwd if self.own and self.chunks == 1 else self.objective.ops.forward(ev.theta, X)
        return LocalCurvature(self.objective, self.kind, fwd, T)
