"""Adam (Kingma & Ba 2015), the first-order baseline of the paper's Figure 3.

One *iteration* of :class:`Adam` sees the training data once, as one Hessian-free gradient
does: by default (``batch_size=None``) it is **one Adam step with the full-batch gradient**,
the baseline of the paper's Figure 3 (the authors' code: one step per iteration, rate 10⁻³);
with a ``batch_size`` it is an epoch of minibatch steps, a much stronger curve that is not
comparable with the paper's.  The minibatches are contiguous
slices of the once-shuffled data (:class:`~riemannopt.nn.objective.Objective`), visited in an
order drawn from ``(seed, iteration)``: a run resumed from a checkpoint visits them as the
uninterrupted run would have.
"""

import numpy as np

from riemannopt._checks import check_number
from riemannopt.errors import InputError
from riemannopt.nn.protocol import Update

__all__ = ["Adam"]


class Adam:
    """Adam on the objective ``f`` (weight decay included in the gradient).

    Parameters
    ----------
    objective : riemannopt.nn.objective.Objective
    lr : float
        Learning rate (paper: 10⁻³).
    beta1, beta2, eps : float
        Adam's constants (0.9, 0.999, 10⁻⁸).
    batch_size : int or None
        Examples per minibatch; ``None``: the whole training set (one step per iteration).
    seed : int
        Seed of the minibatch order.

    Raises
    ------
    InputError
        ``lr`` or ``eps`` not a finite number > 0, ``beta1`` or ``beta2`` outside ``[0, 1)``,
        ``batch_size`` not None or an integer >= 1, ``seed`` not an integer >= 0.
    """

    name = "adam"

    def __init__(self, objective, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, batch_size=None, seed=0):
        self.objective = objective
        self.ops = ops = objective.ops
        self.lr = check_number(lr, "lr", low=0, strict=True)
        # < 1: the bias corrections divide by 1 - beta^t
        self.beta1 = check_number(beta1, "beta1", low=0, high=1, strict_high=True)
        self.beta2 = check_number(beta2, "beta2", low=0, high=1, strict_high=True)
        self.eps = check_number(eps, "eps", low=0, strict=True)
        self.seed = check_number(seed, "seed", integer=True, low=0)
        n = objective.n
        batch_size = n if batch_size is None else check_number(batch_size, "batch_size", integer=True, low=1)
        self.batches = [(a, min(a + batch_size, n)) for a in range(0, n, batch_size)]
        n_params = objective.net.n_params
        self.m = ops.zeros(n_params)
        self.s = ops.zeros(n_params)
        self.t = 0

    # -- the optimizer protocol (riemannopt.nn.methods) ------------------------------------------

    def initial(self):
        """Iteration 0's ``damping``: none (NaN)."""
        return {"damping": float("nan")}

    def warm_up(self, theta):
        """Compile the products of an iteration (forward, gradient) on two examples."""
        ops = self.ops
        X, T = self.objective.batch(0, min(2, self.objective.n))
        ops.gradient(ops.forward(theta, X), T)

    def state(self):
        """The moments and the step count, on the host."""
        return {"m": self.ops.to_numpy(self.m).copy(), "s": self.ops.to_numpy(self.s).copy(), "t": self.t}

    def load(self, state, theta, done):
        """Restore :meth:`state` after ``done`` iterations (``t`` must count their minibatch
        steps: an InputError otherwise)."""
        if state["t"] != done * len(self.batches):
            raise InputError(
                f"state/t = {state['t']} Adam steps, but {done} iterations of {len(self.batches)} minibatches "
                f"make {done * len(self.batches)}"
            )
        self.m = self.ops.asarray(state["m"], "m")
        self.s = self.ops.asarray(state["s"], "s")
        self.t = int(state["t"])

    def step(self, k, ev):
        """Iteration ``k`` (from 1) from θ = ``ev.theta``: one epoch of minibatch steps.

        Returns
        -------
        Update
            The new θ (a new backend vector: earlier ones stay valid) and the record:
            ``damping`` (NaN), ``cg_iterations`` (0), ``rho`` (NaN), ``rate`` (the learning
            rate), ``corrected`` (False); no evaluation (the loop evaluates the new θ for the
            history only, off the clock).
        """
        ops, objective = self.ops, self.objective
        theta = ops.copy(ev.theta)
        order = np.random.default_rng([self.seed, k]).permutation(len(self.batches))
        for b in order:
            X, T = objective.batch(*self.batches[b])
            g = ops.gradient(ops.forward(theta, X), T)
            objective.add_decay_(theta, g)
            self.t += 1
            ops.adam_(theta, g, self.m, self.s, self.t, self.lr, self.beta1, self.beta2, self.eps)
        nan = float("nan")
        return Update(theta, dict(damping=nan, cg_iterations=0, rho=nan, rate=self.lr, corrected=False))
