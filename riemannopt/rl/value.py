"""The value-function baseline ``V(s)`` of generalized advantage estimation.

An :class:`~riemannopt.nn.MLP` (tanh hidden layers, linear output, squared loss) fitted by Adam
on minibatches to the λ-returns of each batch.  The paper applies ``mid`` and ``geo`` to the
policy only (App. E.2), so the value function is trained the same way for every method and
takes no part in the comparison; Adam (rather than ACKTR's K-FAC) keeps it simple and robust.

Returns have task-dependent scales (Pendulum's are in the hundreds), so the network predicts
``(V − shift) / scale`` with ``shift`` and ``scale`` the mean and standard deviation of the
first batch's targets, then frozen: the network always fits numbers of order one, and its
meaning never changes during a run.
"""

import numpy as np

from riemannopt._checks import check_number
from riemannopt.nn import MLP

__all__ = ["ValueFunction"]


class ValueFunction:
    """``V(s)`` and its fitting.

    Parameters
    ----------
    obs_dim : int
    hidden : sequence of int
        Hidden widths (paper App. E.2: two of 64).
    seed : int
        Seed of the initial weights.
    lr : float
        Adam's step.
    epochs : int
        Passes over each batch per :meth:`fit`.
    minibatch : int
        Rows per Adam step.

    Attributes
    ----------
    theta : ndarray
        The network's parameters.
    shift, scale : float or None
        The target normalization (set by the first :meth:`fit`).
    """

    def __init__(self, obs_dim, hidden=(64, 64), *, seed=0, lr=1e-3, epochs=10, minibatch=64, activation="tanh"):
        self.net = MLP([obs_dim, *hidden, 1], [activation] * len(hidden) + ["linear"], "squared")
        self.theta = self.net.init(check_number(seed, "seed", integer=True, low=0), scheme="gaussian")
        self.lr = check_number(lr, "lr", low=0, strict=True)
        self.epochs = check_number(epochs, "epochs", integer=True, low=1)
        self.minibatch = check_number(minibatch, "minibatch", integer=True, low=1)
        self.shift = None
        self.scale = None
        ops = self.net.backend
        self._m = ops.zeros(self.net.n_params)
        self._s = ops.zeros(self.net.n_params)
        self._t = 0

    def __call__(self, obs):
        """``V(s)`` for each row of ``obs`` (zeros before the first :meth:`fit`)."""
        obs = np.asarray(obs, dtype=np.float64)
        if self.scale is None:
            return np.zeros(len(obs))
        return self.net.predict(self.theta, obs)[:, 0] * self.scale + self.shift

    def fit(self, obs, targets, rng):
        """Adam on the mean squared error to ``targets`` for :attr:`epochs` passes over shuffled
        minibatches (``rng`` orders them).  Returns the mean squared error (in target units)
        before fitting."""
        obs = np.asarray(obs, dtype=np.float64)
        targets = np.asarray(targets, dtype=np.float64)
        before = float(np.mean((self(obs) - targets) ** 2))
        if self.scale is None:
            self.shift = float(targets.mean())
            self.scale = float(targets.std()) or 1.0
        T = ((targets - self.shift) / self.scale)[:, None]
        ops = self.net.backend
        n = len(obs)
        for _ in range(self.epochs):
            order = rng.permutation(n)
            for start in range(0, n, self.minibatch):
                rows = order[start : start + self.minibatch]
                g = self.net.gradient(self.theta, obs[rows], T[rows])
                self._t += 1
                ops.adam_(self.theta, g, self._m, self._s, self._t, self.lr, 0.9, 0.999, 1e-8)
        return before
