"""Stochastic gradient descent, the first-order baseline of Pascanu & Bengio's benchmark (§10:
minibatches of 100 examples, a fixed learning rate of 0.01).

One *iteration* is an epoch of minibatch steps ``θ ← θ − r ∇f_B(θ)`` (weight decay included),
the minibatches visited in an order drawn from ``(seed, iteration)`` as :class:`~riemannopt.nn.adam.Adam`
visits them, so that a resumed run is the uninterrupted one.
"""

import numpy as np

from riemannopt._checks import check_number
from riemannopt.nn.protocol import Update

__all__ = ["SGD"]


class SGD:
    """Minibatch SGD with a fixed rate on the objective (see the module docstring).

    Parameters
    ----------
    objective : riemannopt.nn.objective.Objective
    lr : float
        The fixed learning rate (Pascanu & Bengio: 0.01).
    batch_size : int
        Examples per minibatch (Pascanu & Bengio: 100).
    seed : int
        Seed of the minibatch order.
    """

    def __init__(self, objective, *, lr=0.01, batch_size=100, seed=0):
        self.objective = objective
        self.ops = objective.ops
        self.lr = check_number(lr, "lr", low=0, strict=True)
        self.seed = check_number(seed, "seed", integer=True, low=0)
        batch_size = check_number(batch_size, "batch_size", integer=True, low=1)
        n = objective.n
        self.batches = [(a, min(a + batch_size, n)) for a in range(0, n, batch_size)]

    def initial(self):
        """Iteration 0's ``damping``: none (NaN)."""
        return {"damping": float("nan")}

    def warm_up(self, theta):
        """Compile the products of an iteration (forward, gradient) on two examples."""
        X, T = self.objective.batch(0, min(2, self.objective.n))
        self.ops.gradient(self.ops.forward(theta, X), T)

    def state(self):
        """Nothing carries over between iterations but θ."""
        return {}

    def load(self, state, theta, done):
        """Nothing to restore."""

    def step(self, k, ev):
        """Iteration ``k`` (from 1) from θ = ``ev.theta``: one epoch of minibatch steps; no
        evaluation (the loop evaluates the new θ for the history, off the clock)."""
        ops, objective = self.ops, self.objective
        theta = ops.copy(ev.theta)
        for b in np.random.default_rng([self.seed, k]).permutation(len(self.batches)):
            X, T = objective.batch(*self.batches[b])
            g = ops.gradient(ops.forward(theta, X), T)
            objective.add_decay_(theta, g)
            ops.axpy_(-self.lr, g, theta)
        nan = float("nan")
        return Update(theta, dict(damping=nan, cg_iterations=0, rho=nan, rate=self.lr, corrected=False))
