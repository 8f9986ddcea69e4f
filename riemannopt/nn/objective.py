"""What training minimizes, on one backend: the training data, weight decay, evaluations.

The objective is (Martens 2010)

    ``f(θ) = L(θ) + ½·w·‖m ⊙ θ‖²``,

``L`` the mean negative log-likelihood over the training set, ``w`` the weight decay and ``m``
the mask of the decayed parameters: every parameter in the paper's code (built on Martens'),
the weights only in riemannopt's earlier default (``decay_biases=False``).  The data are validated, shuffled once (with
the run's seed) and moved to the backend once; minibatches (:meth:`Objective.batch`) are then
contiguous slices, so that on a GPU nothing but scalars crosses to the host afterwards.
"""

from dataclasses import dataclass

import numpy as np

from riemannopt.nn.losses import LOSSES

__all__ = ["Objective", "Evaluation", "error_kind"]


def error_kind(loss):
    """The error the paper reports for the loss named ``loss`` (a key of
    :data:`riemannopt.nn.losses.LOSSES`): its class's ``error``, ``"classification"`` or
    ``"squared"`` (the squared reconstruction error of §7.2)."""
    return LOSSES[loss].error


@dataclass
class Evaluation:
    """The objective at one θ on the whole training set.

    Attributes
    ----------
    theta : array
        θ (a backend vector; it must not be modified while this evaluation is in use).
    fwd : object
        The backend's forward pass at θ (reused for the gradient and, with one curvature
        chunk, for the curvature).
    loss : float
        ``L(θ)``, the mean negative log-likelihood.
    value : float
        ``f(θ) = L(θ) + ½·w·‖m ⊙ θ‖²``.
    """

    theta: object
    fwd: object
    loss: float
    value: float


class Objective:
    """The training objective ``f`` of one run.

    Parameters
    ----------
    net : MLP
    X, T : array_like
        Training inputs (one row per example) and targets, validated by the network.
    weight_decay : float
        ``w ≥ 0``.
    seed : int
        Seed of the one shuffle of the examples.
    decay_biases : bool
        Whether the biases are decayed too (the paper's code: yes).
    decay_in_curvature : bool
        Whether ``w·diag(m)`` is added to the curvature products (:meth:`add_curvature_decay_`).
        The paper's code leaves it out (it enters only the preconditioner, through
        :meth:`gradient`'s diagonal); ``λ ≫ w`` makes the difference small.

    Attributes
    ----------
    ops : Backend
        The network's backend (its vector operations).
    X, T : arrays
        The shuffled training data on the backend.
    n : int
        Number of training examples.
    mask : array or None
        ``m`` (ones on the decayed parameters, zeros elsewhere) when ``w > 0``.
    evaluations : int
        Forward passes on the whole training set so far (:meth:`evaluate` calls).
    """

    def __init__(self, net, X, T, weight_decay, seed, *, decay_biases=False, decay_in_curvature=True):
        self.net = net
        self.ops = ops = net.backend
        X = net.inputs(X)
        T = net.targets(T, X.shape[0])
        self.n = int(X.shape[0])
        order = np.random.default_rng(seed).permutation(self.n)
        self.X = ops.asarray(ops.to_numpy(X)[order], "X")
        self.T = ops.asarray(ops.to_numpy(T)[order], "T")
        self.weight_decay = float(weight_decay)
        self.decay_in_curvature = bool(decay_in_curvature)
        self.evaluations = 0
        self.mask = None
        if self.weight_decay:
            if decay_biases:
                mask = np.ones(net.n_params, dtype=net.dtype)
            else:
                mask = np.zeros(net.n_params, dtype=net.dtype)
                for W, _ in net.layout.views(mask):
                    W[...] = 1
            self.mask = ops.asarray(mask, "mask")

    def batch(self, start, stop):
        """Examples ``start:stop`` of the shuffled data: ``(X, T)`` views on the backend."""
        return self.X[start:stop], self.T[start:stop]

    def decay(self, theta):
        """``½·w·‖m ⊙ θ‖²``."""
        if not self.weight_decay:
            return 0.0
        return 0.5 * self.weight_decay * self.ops.dot(self.ops.multiply(self.mask, theta), theta)

    def evaluate(self, theta):
        """The :class:`Evaluation` at ``theta`` (a backend vector); a θ with a NaN or an
        infinity evaluates to ``value = inf`` without a forward pass, so that searches reject
        it."""
        ops = self.ops
        if not ops.all_finite(theta):
            return Evaluation(theta, None, float("inf"), float("inf"))
        self.evaluations += 1
        fwd = ops.forward(theta, self.X)
        loss = ops.loss(fwd, self.T)
        return Evaluation(theta, fwd, loss, loss + self.decay(theta))

    def error(self, ev, kind):
        """The reported error (``"squared"`` or ``"classification"``) at an evaluation."""
        return self.ops.error(ev.fwd, self.T, kind)

    def gradient(self, ev):
        """``(∇f, diag)`` at an evaluation: the gradient with weight decay, and the diagonal of
        the empirical Fisher plus ``w·m`` (Martens 2010's preconditioner is ``(diag + λ)^¾``).
        """
        ops = self.ops
        g, diag = ops.gradient_and_diag(ev.fwd, self.T)
        if self.weight_decay:
            ops.axpy_(self.weight_decay, ops.multiply(self.mask, ev.theta), g)
            ops.axpy_(self.weight_decay, self.mask, diag)
        return g, diag

    def chunk_value(self, theta, X, T):
        """``f`` on the examples ``(X, T)`` (a curvature chunk) at ``theta``: their mean negative
        log-likelihood plus the weight decay; ``inf`` for a non-finite θ or value."""
        ops = self.ops
        if not ops.all_finite(theta):
            return float("inf")
        value = ops.loss(ops.forward(theta, X), T) + self.decay(theta)
        return value if np.isfinite(value) else float("inf")

    def add_decay_(self, v, out):
        """``out += w · m ⊙ v`` (the weight decay's gradient at ``v = θ``, or its curvature);
        returns ``out``."""
        if self.weight_decay:
            self.ops.axpy_(self.weight_decay, self.ops.multiply(self.mask, v), out)
        return out

    def curvature_decay_quadratic(self, u):
        """``½·w·‖m ⊙ u‖²`` when the decay is in the curvature products, else 0: what the
        decay adds to ``½ uᵀ(curvature)u``."""
        if not (self.weight_decay and self.decay_in_curvature):
            return 0.0
        return 0.5 * self.weight_decay * self.ops.dot(self.ops.multiply(self.mask, u), u)

    def add_curvature_decay_(self, v, out):
        """:meth:`add_decay_` when the decay is in the curvature products
        (``decay_in_curvature``), else nothing; returns ``out``."""
        return self.add_decay_(v, out) if self.decay_in_curvature else out
