"""The result of an optimizer run."""

from dataclasses import dataclass

import numpy as np

__all__ = ["Trajectory"]


@dataclass(frozen=True)
class Trajectory:
    """Iterates of one method on one problem.

    Attributes
    ----------
    x : ndarray, shape (k, n)
        Iterates; ``x[0]`` is the start point and ``x[i]`` sits at time ``t[i] = i·lr`` of the
        natural-gradient flow.  ``k = steps + 1`` for a complete run, fewer in the partial
        trajectory carried by an :class:`~riemannopt.errors.OptimizationError`.
    loss : ndarray, shape (k,)
        The loss at each iterate.
    t : ndarray, shape (k,)
        Flow time of each iterate.
    method : str
        The method's name (see :data:`riemannopt.METHODS`).
    lr : float
        The learning rate ``eta``.
    """

    x: np.ndarray
    loss: np.ndarray
    t: np.ndarray
    method: str
    lr: float

    def __len__(self):
        return len(self.x)

    def __repr__(self):
        return f"Trajectory(method={self.method!r}, lr={self.lr}, iterates={len(self.x)}, final_loss={self.loss[-1] if len(self.loss) else None})"


def make_trajectory(X, L, method, lr, count):
    """A Trajectory of the first ``count`` rows (copies, so callers' buffers stay private)."""
    return Trajectory(
        x=np.array(X[:count]), loss=np.array(L[:count]), t=lr * np.arange(count, dtype=np.float64), method=method, lr=lr
    )
