r"""A Kronecker-factored approximation of a policy's Fisher (K-FAC; Martens & Grosse 2015), the
curvature of ACKTR (Wu et al. 2017), which the paper's §7.3 improves.

For layer ``l`` with input ``a_{l−1}`` and pre-activation ``s_l = W_l a_{l−1} + b_l``, the Fisher
block of ``M_l = [W_l, b_l]`` is approximated by

.. math::

    F_l \approx G_l \otimes A_{l-1}, \qquad A_{l-1} = \mathbb E[\bar a \bar a^\top], \quad
    G_l = \mathbb E_s \mathbb E_{a \sim \pi}[g_l g_l^\top],

``ā = (a_{l−1}, 1)`` and ``g_l = ∂ log π / ∂ s_l``; blocks of different layers are dropped.
Then ``F_l vec(V) = vec(G_l V A_{l−1})`` (row-major ``vec``) and the damped inverse is
``(G_l + (√λ/π) I)⁻¹ V (A_{l−1} + π√λ I)⁻¹`` (factored Tikhonov damping, Martens & Grosse
§6.3, ``π² = (tr A / dim A) / (tr G / dim G)``).

The expectation over actions in ``G_l`` is taken exactly, not by sampling as ACKTR does: the
Fisher of the output distribution with respect to the output pre-activation ``s_L`` is a sum of
``m`` outer products ``Σ_j u_j u_jᵀ`` (Gaussian: ``u_j = e_j/σ``, ``m`` = action dimensions;
categorical: ``u_j = √y_j (e_j − y)``, ``m`` = actions), and ``m`` backward passes carry the
``u_j`` down to every layer; the policy supplies them (:meth:`~riemannopt.rl.Policy.output_fisher_factors`).
The factors come from the current batch only (ACKTR keeps running averages across updates).  The
distribution's own parameters (the Gaussian policy's log σ) keep their exact Fisher
(:meth:`~riemannopt.rl.Policy.extra_fisher`: ``2k`` for log σ, whose block is exactly diagonal,
see :mod:`riemannopt.rl.policy`).

For a network with a single (linear) layer and a Gaussian policy ``g_l g_lᵀ = I/σ²`` does not
depend on the state, so the factorization is exact: a check used by the tests.
"""

import math

import numpy as np

from riemannopt._checks import check_number
from riemannopt.errors import NotPositiveDefiniteError
from riemannopt.nn.activations import get_activation

__all__ = ["KFAC"]


class KFAC:
    """The Kronecker factors of a policy's Fisher at ``params`` on the states ``obs``.

    Parameters
    ----------
    policy : Policy
        A :class:`~riemannopt.rl.GaussianPolicy`, a :class:`~riemannopt.rl.CategoricalPolicy`
        or any distribution that answers :meth:`~riemannopt.rl.Policy.output_fisher_factors`
        and :meth:`~riemannopt.rl.Policy.extra_fisher`.
    params : ndarray
    obs : ndarray, shape (n, obs_dim)

    Attributes
    ----------
    A : list of ndarray
        ``A_{l−1}``, shape ``(n_in + 1, n_in + 1)`` per layer.
    G : list of ndarray
        ``G_l``, shape ``(n_out, n_out)`` per layer.
    extra_fisher : ndarray
        The exact (diagonal) Fisher of the distribution's own parameters, which follow the
        network's in the flat vector (``[2k]`` for a Gaussian policy's log σ; empty for a
        categorical policy).
    """

    def __init__(self, policy, params, obs):
        self.policy = policy
        net = policy.net
        params = policy.check_params(params)
        self._n_net = net.n_params
        theta = policy.network_params(params)
        layers = net.unflatten(theta)
        acts = [get_activation(name) for name in net.activations]
        x = np.asarray(obs, dtype=np.float64)
        n = len(x)
        inputs = []
        for (W, b), act in zip(layers, acts):
            inputs.append(x)
            x = act.value(x @ W.T + b)
        self.A = [np.hstack([a, np.ones((n, 1))]) for a in inputs]
        self.A = [a.T @ a / n for a in self.A]
        signals = policy.output_fisher_factors(params, x)
        self.extra_fisher = policy.extra_fisher(params)
        self.G = [np.zeros((W.shape[0], W.shape[0])) for W, _ in layers]
        for u in signals:
            g = np.array(u)
            for i in range(len(layers) - 1, -1, -1):
                self.G[i] += g.T @ g / n
                if i:
                    g = acts[i - 1].vjp_(inputs[i], g @ layers[i][0])
        self._layout = net.layout

    def _blocks(self, v):
        """``[M_l = [W_l, b_l]]`` of the network part of ``v``."""
        return [np.hstack([W, b[:, None]]) for W, b in self._layout.views(v[: self._n_net])]

    def _flat(self, blocks, tail):
        """The flat vector of the layers' ``blocks`` followed by the distribution's ``tail``."""
        out = np.empty(self.policy.n_params)
        for (W, b), M in zip(self._layout.views(out[: self._n_net]), blocks):
            W[...] = M[:, :-1]
            b[...] = M[:, -1]
        out[self._n_net :] = tail
        return out

    def fvp(self, v):
        """``F̂ v``: the block-diagonal Kronecker-factored Fisher times ``v``."""
        v = np.asarray(v, dtype=np.float64)
        blocks = [G @ M @ A for M, A, G in zip(self._blocks(v), self.A, self.G)]
        return self._flat(blocks, self.extra_fisher * v[self._n_net :])

    def solve(self, v, damping):
        """``(F̂ + λ)⁻¹ v`` with factored Tikhonov damping (exact for the distribution's own
        parameters, such as log σ).

        ``damping`` must be > 0: the factors ``A`` and ``G`` are singular whenever an input or an
        output of a layer is constant over the batch, and only the damping makes them
        invertible.  A damped factor that is still numerically singular raises
        :class:`~riemannopt.errors.NotPositiveDefiniteError` naming the layer.
        """
        damping = check_number(damping, "damping", low=0, strict=True)
        v = np.asarray(v, dtype=np.float64)
        root = math.sqrt(damping)
        blocks = []
        for layer, (M, A, G) in enumerate(zip(self._blocks(v), self.A, self.G)):
            ta, tg = np.trace(A) / len(A), np.trace(G) / len(G)
            pi = math.sqrt(ta / tg) if ta > 0 and tg > 0 else 1.0
            Ad = A + (root * pi) * np.eye(len(A))
            Gd = G + (root / pi) * np.eye(len(G))
            try:
                blocks.append(np.linalg.solve(Gd, np.linalg.solve(Ad, M.T).T))
            except np.linalg.LinAlgError:
                raise NotPositiveDefiniteError(
                    f"kfac: the damped Kronecker factors of layer {layer} are singular at damping {damping:g}; "
                    "raise the damping",
                    method="kfac",
                ) from None
        return self._flat(blocks, v[self._n_net :] / (self.extra_fisher + damping))
