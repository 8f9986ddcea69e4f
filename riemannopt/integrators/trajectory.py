"""The result of an optimizer run."""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Trajectory", "TrajectoryBatch"]


@dataclass(frozen=True)
class Trajectory:
    """Iterates of one method on one problem.

    Attributes
    ----------
    x : ndarray, shape (m, n)
        The kept iterates; ``x[0]`` is the start point.  With ``record_every = 1`` (the default of
        :func:`~riemannopt.optimize`) every iterate is kept, ``m = steps + 1`` for a complete run
        and ``x[i]`` is iterate ``i``; fewer rows are kept in the partial trajectory carried by an
        :class:`~riemannopt.errors.OptimizationError`.  With ``record_every = k`` the rows are
        iterates ``0, k, 2k, ...`` followed by the last one (``steps``, or the last valid iterate
        of a failed run): see :attr:`iterations`.
    loss : ndarray, shape (m,)
        The loss at each kept iterate.
    method : str
        The method's name (see :data:`riemannopt.METHODS`).
    lr : float
        The learning rate ``eta``.
    record_every : int
        Every how many iterations an iterate was kept.
    last : int or None
        The iteration number of the last row (None: ``(len(x) - 1)·record_every``).
    """

    x: np.ndarray
    loss: np.ndarray
    method: str
    lr: float
    record_every: int = 1
    last: int | None = None

    def __len__(self):
        return len(self.x)

    def __repr__(self):
        return f"Trajectory(method={self.method!r}, lr={self.lr}, iterates={len(self.x)}, final_loss={self.loss[-1] if len(self.loss) else None})"

    @cached_property
    def iterations(self):
        """The iteration number of each row: ``i·record_every`` for every row but the last, which
        is :attr:`last` (all equal to ``i`` when ``record_every = 1``)."""
        k = np.arange(len(self.x), dtype=np.int64) * self.record_every
        if len(k) and self.last is not None:
            k[-1] = self.last
        return k

    @cached_property
    def t(self):
        """Flow time of each row, ``t[i] = iterations[i]·lr`` (paper eq. 5: iterate ``k``
        approximates the natural-gradient flow at ``t = k·eta``); computed on first access, so a
        long run holds only ``x`` and ``loss``."""
        t = self.iterations.astype(np.float64)
        t *= self.lr
        return t


@dataclass(frozen=True)
class TrajectoryBatch:
    """The runs of one method from a batch of start points (:func:`~riemannopt.optimize` with
    ``x0`` of shape ``(B, n)``).

    Indexing, iterating and ``len`` go over the members, each a :class:`Trajectory`.

    Attributes
    ----------
    trajectories : tuple of Trajectory
        One per start point, in order (the partial trajectory of a member that failed).
    x : ndarray, shape (B, m, n)
        Every member's kept iterates; rows after a failed member's last valid iterate are NaN.
    loss : ndarray, shape (B, m)
    """

    trajectories: tuple
    x: np.ndarray
    loss: np.ndarray

    def __len__(self):
        return len(self.trajectories)

    def __getitem__(self, i):
        return self.trajectories[i]

    def __iter__(self):
        return iter(self.trajectories)

    def __repr__(self):
        return f"TrajectoryBatch(members={len(self)}, iterates={self.x.shape[1]})"


def make_trajectory(X, L, method, lr, rows, every=1, last=None):
    """A Trajectory of the first ``rows`` rows of the buffers ``X`` and ``L``.

    A full buffer is handed over without a copy (a long run's memory is its result); the prefix of
    a partly filled one is copied, so that a failure early in a long run does not keep the whole
    buffer alive.  ``last`` (default ``rows - 1``) is the iteration number of the last row.
    """
    if rows == len(X):
        x, loss = X, L
    else:
        x, loss = X[:rows].copy(), L[:rows].copy()
    return Trajectory(x=x, loss=loss, method=method, lr=lr, record_every=every, last=rows - 1 if last is None else last)
