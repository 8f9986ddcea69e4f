r"""Stochastic policies on the Fisher manifold: Gaussian (continuous actions) and categorical.

A policy is an :class:`~riemannopt.nn.MLP` from (normalized) observations to the parameters of an
action distribution; its metric is the Fisher information of ``π_θ(a | s)`` averaged over the
sampled states (Kakade 2002), and every product reuses the network products of
:mod:`riemannopt.nn` (paper §5, Prop. 1–2, App. B):

**Gaussian**, ``π(a | s) = N(a | μ_θ(s), σ² I)`` with a mean network μ_θ (tanh hidden layers,
linear output) and **one learned, state-independent log σ = ς shared by every action
dimension**.  The parameters are ``(θ, ς)``.  Per state, ``log π = −‖a − μ‖²/(2σ²) − k ς − (k/2)
log 2π`` for ``k`` action dimensions, and the Fisher is block-diagonal (the cross term is an odd
Gaussian moment)::

    F = [[ e^{−2ς} G₁,  0  ],      G₁ = E_s J_μᵀ J_μ, the `squared`-loss Fisher with σ = 1
         [    0,       2k ]]

(the ``2k`` is ``E[(‖a − μ‖²/σ² − k)²]``).  Because only ``G = e^{−2ς} G₁`` depends on ς, the
connection of the whole manifold follows from ``Γ_first(v, v) = (∂_v F) v − ½ ∇(vᵀ F v)`` with
``v = (v_θ, v_ς)``::

    Γ_first(v, v)_θ = e^{−2ς} (Γ₁(v_θ, v_θ) − 2 v_ς G₁ v_θ),
    Γ_first(v, v)_ς = e^{−2ς} v_θᵀ G₁ v_θ,

``Γ₁`` the `squared`-loss connection product of Prop. 2 with σ = 1 (``c1 = 1``, ``c2 = 0``).  So one
σ = 1 network gives the exact Fisher and connection of the full policy, σ included.  A separate
σ per action dimension would make the mean block ``E_s J_μᵀ diag(σ_j⁻²) J_μ`` (the σ = 1 Fisher of
a network whose output rows are scaled by ``1/σ_j``) and couple each ``ς_j`` to its own output in
the connection; the shared σ keeps every product a `squared`-loss product and differs only for
tasks with several action dimensions (Reacher here).

**Categorical**, ``π(a | s) = softmax(z_θ(s))_a``: the Fisher and connection are those of the
``softmax_ce`` loss, which do not depend on the targets (App. B.3).

The policy-gradient objective of a batch is the surrogate ``L(θ) = −(1/n) Σ_k w_k log π_θ(a_k |
s_k)`` with weights ``w_k`` (the advantages; at the midpoint of ``mid``, advantages times
importance ratios).  Its gradient is a loss gradient of the network at *pseudo-targets*:

* Gaussian: with ``T_k = μ_k + w_k (a_k − μ_k)``, the σ = 1 `squared` gradient
  ``(1/n) Σ J_kᵀ(μ_k − T_k) = (1/n) Σ w_k J_kᵀ(μ_k − a_k)`` is ``σ²`` times ``∇_θ L``;
* categorical: the ``softmax_ce`` gradient ``(1/n) Σ J_kᵀ(y_k − T_k)`` is linear in ``T``, and the
  distribution ``T_k = λ_k e_{a_k} + (1 − λ_k) y_k`` (``0 ≤ λ_k ≤ 1``) gives
  ``(1/n) Σ λ_k J_kᵀ (y_k − e_{a_k})``; the positive and negative parts of ``w`` scaled into
  ``[0, 1]`` give ``∇L`` from two such gradients.

Both are exact (no sampling or differencing), so every update uses the network's own
validated products.

**One class per distribution.**  Everything the rest of :mod:`riemannopt.rl` knows of a policy
distribution it asks the policy object: which action spaces it acts in and its size there
(:meth:`Policy.space_size`, asked by :func:`~riemannopt.rl.env_info`), how a sampled action is
handed to the environment (:meth:`Policy.env_actions`, the rollouts), the split of the flat
parameters into the network's θ and the distribution's own (:meth:`Policy.network_params`, σ's
ς here), the Fisher blocks the Kronecker-factored curvature needs
(:meth:`Policy.output_fisher_factors`, :meth:`Policy.extra_fisher`, asked by
:class:`~riemannopt.rl.KFAC`), and, through :meth:`Policy.linearize`, log-probabilities, the
surrogate's gradient, Fisher and connection products, KL divergences, entropies and samples.
A subclass that sets :attr:`Policy.kind` is entered in :data:`POLICIES` when it is defined, and
:func:`make_policy` and :func:`~riemannopt.rl.env_info` find it there (CONTRIBUTING.md: "a
policy distribution").
"""

import math

import numpy as np

from riemannopt._checks import check_finite, check_number
from riemannopt.errors import InputError, MethodError, NonFiniteError, ShapeError
from riemannopt.nn import MLP

__all__ = [
    "Policy",
    "GaussianPolicy",
    "CategoricalPolicy",
    "PolicyState",
    "POLICIES",
    "make_policy",
    "LOG_STD_LIMIT",
]

_LOG_2PI = math.log(2 * math.pi)

#: The largest ``|ς|`` (log σ) a Gaussian policy's products are computed at: beyond it ``σ²``,
#: ``1/σ²`` and the KL divergence's ratio ``σ²/σ′²`` of two such policies leave float64's range.
#: An update that takes ς further has diverged.
LOG_STD_LIMIT = 100.0

#: The policy distributions by :attr:`Policy.kind`, in the order :func:`~riemannopt.rl.env_info`
#: tries them on an action space.  Every subclass of :class:`Policy` that sets ``kind`` is
#: entered when it is defined.
POLICIES = {}


class Policy:
    """A policy distribution: what the Gaussian and categorical policies share (a network, a
    flat parameter vector, :meth:`linearize` for the products at one point and :meth:`sample`)
    and what a subclass answers for the rest of :mod:`riemannopt.rl` (see the module docstring).

    Parameters
    ----------
    obs_dim : int
        Length of an observation.
    hidden : sequence of int
        Widths of the hidden layers (paper App. E.2: two of 64).
    activation : str
        Hidden activation (``"tanh"``).
    n_out, output, loss :
        The output layer's width and activation and the network loss whose Fisher is the
        policy's (set by the subclasses).

    Attributes
    ----------
    kind : str
        The distribution's name, its key in :data:`POLICIES` (set by each subclass).
    action_space : str
        The action spaces it acts in, in words ("a flat Box"), for error messages.
    discrete : bool
        Its actions are integers.
    n_extra : int
        Parameters of the distribution itself, after the network's in the flat vector (the
        Gaussian policy's ς; none for the categorical policy).
    net : MLP
        The network (float64, numpy backend).
    n_params : int
        Length of the flat parameter vector (for the Gaussian policy: the network's θ and ς).
    ops : VectorOps
        The vector operations of CG on these parameter vectors (``net.backend``).
    """

    kind = None
    action_space = None
    discrete = False
    n_extra = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is None:
            return
        old = POLICIES.get(kind)
        if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
            raise TypeError(f"two policy distributions named {kind!r}: {old.__qualname__} and {cls.__qualname__}")
        POLICIES[kind] = cls

    def __init__(self, obs_dim, hidden, activation, n_out, output, loss):
        self.obs_dim = check_number(obs_dim, "obs_dim", integer=True, low=1, cls=ShapeError)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (tuple, list)):
            raise ShapeError(f"hidden must be layer widths such as (64, 64) (or () for none), got {hidden!r}")
        self.hidden = tuple(
            check_number(h, f"hidden[{i}]", integer=True, low=1, cls=ShapeError) for i, h in enumerate(hidden)
        )
        self.activation = activation
        self.net = MLP([self.obs_dim, *self.hidden, n_out], [activation] * len(self.hidden) + [output], loss)
        self.ops = self.net.backend

    def init(self, seed=0, *, out_scale=0.01):
        """Random initial parameters: Gaussian weights of standard deviation ``1/√n_in`` and an
        output layer scaled by ``out_scale``, so that the first policy is nearly independent of the
        state (a common choice for policy networks; a large initial output layer makes early
        actions saturate).  Returns a flat float64 vector."""
        theta = self.net.init(seed, scheme="gaussian")
        self.net.unflatten(theta)[-1][0][...] *= out_scale  # a view into θ
        return theta

    def check_params(self, params):
        """``params`` as a float64 vector of :attr:`n_params` finite entries, else a
        :class:`~riemannopt.errors.ShapeError` or :class:`~riemannopt.errors.NonFiniteError`."""
        params = np.asarray(params, dtype=np.float64)
        if params.shape != (self.n_params,):
            raise ShapeError(f"policy parameters must have shape ({self.n_params},), got {params.shape}")
        return check_finite(params, "policy parameters")

    def sample(self, params, obs, rng):
        """One action per row of ``obs`` drawn from ``π(· | s)``, with ``rng`` a
        :class:`numpy.random.Generator` (the only source of randomness)."""
        return self.linearize(params, obs).sample(rng)

    # -- what the rest of riemannopt.rl asks of a distribution ------------------------------------

    @classmethod
    def space_size(cls, space, spaces):
        """Whether this distribution acts in the gymnasium action space ``space`` (``spaces``
        is the module ``gymnasium.spaces``, so that this module need not import gymnasium):
        ``(n, low, high)``, its size as :func:`make_policy` takes it and the action bounds
        (None: unbounded), or None if it does not act there."""
        raise NotImplementedError

    @classmethod
    def make(cls, obs_dim, n, hidden, activation, *, log_std):
        """The policy of size ``n`` (:meth:`space_size`) for :func:`make_policy`; options a
        distribution has no use for (``log_std`` for a categorical policy) are ignored."""
        return cls(obs_dim, n, hidden, activation)

    def env_actions(self, actions, low, high):
        """``actions`` as sampled, one row per environment, as the environment takes them,
        given the action bounds of :meth:`space_size` (the Gaussian policy clips to them; by
        default they pass unchanged)."""
        return actions

    def network_params(self, params):
        """The network's θ, the first ``net.n_params`` entries of ``params`` (a view)."""
        return params[: self.net.n_params]

    def output_fisher_factors(self, params, y):
        """The Fisher of the action distribution with respect to the network's output
        pre-activation ``s_L``, per state, as a sum of outer products ``Σ_j u_j u_jᵀ``: the list of
        the ``u_j``, each of shape ``(n, n_out)``, given the network's outputs ``y`` (after the
        output activation) on the ``n`` states.  :class:`~riemannopt.rl.KFAC` carries them down the
        layers."""
        raise NotImplementedError

    def extra_fisher(self, params):
        """The Fisher of the distribution's own :attr:`n_extra` parameters, shape ``(n_extra,)``:
        the diagonal of its block, which must be diagonal and uncoupled from θ (as ς's is), so
        that :class:`~riemannopt.rl.KFAC` inverts it exactly."""
        return np.empty(0)


def _weights(weights, n):
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ShapeError(f"weights must have shape ({n},), one per state, got {w.shape}")
    return check_finite(w, "weights")


class PolicyState:
    """A policy's forward pass at fixed parameters and states, reused by every product.

    Made by :meth:`Policy.linearize`.  Parameter-space vectors have the policy's
    :attr:`~Policy.n_params` entries; every product is the mean over the states.
    """

    def log_prob(self, actions):
        """``log π(a_k | s_k)`` per row."""
        raise NotImplementedError

    def surrogate_gradient(self, actions, weights):
        """``∇ L`` of ``L = −(1/n) Σ_k w_k log π(a_k | s_k)`` (see the module docstring)."""
        raise NotImplementedError

    def fisher_vp(self, v):
        """``F v``: the Fisher of ``π(· | s)`` averaged over the states."""
        raise NotImplementedError

    def connection_vp(self, v):
        """``Γ_first(v, v)`` of the Fisher metric (Prop. 1–2)."""
        raise NotImplementedError

    def kl(self, other):
        """Mean over the states of ``KL(π_self(· | s) ‖ π_other(· | s))`` (same states)."""
        raise NotImplementedError

    def entropy(self):
        """Mean over the states of the entropy of ``π(· | s)``."""
        raise NotImplementedError

    def sample(self, rng):
        """One action per state."""
        raise NotImplementedError


class GaussianPolicy(Policy):
    """``N(μ_θ(s), σ² I)`` with a mean network and one learned log σ (see the module docstring).

    The flat parameters are the mean network's θ (in the :class:`~riemannopt.nn.MLP` layout)
    followed by ς = log σ.

    Parameters
    ----------
    obs_dim, act_dim : int
    hidden : sequence of int
        Hidden widths of the mean network (default two of 64, paper App. E.2).
    activation : str
    log_std : float
        Initial ς = log σ.
    """

    kind = "gaussian"
    action_space = "a flat Box"
    n_extra = 1

    def __init__(self, obs_dim, act_dim, hidden=(64, 64), activation="tanh", log_std=0.0):
        act_dim = check_number(act_dim, "act_dim", integer=True, low=1, cls=ShapeError)
        log_std = check_number(log_std, "log_std", low=-LOG_STD_LIMIT, high=LOG_STD_LIMIT)
        super().__init__(obs_dim, hidden, activation, act_dim, "linear", "squared")
        self.act_dim = act_dim
        self.log_std0 = log_std
        self.n_params = self.net.n_params + 1

    def __repr__(self):
        return f"GaussianPolicy(obs_dim={self.obs_dim}, act_dim={self.act_dim}, hidden={list(self.hidden)})"

    def init(self, seed=0, *, out_scale=0.01):
        return np.append(super().init(seed, out_scale=out_scale), self.log_std0)

    def linearize(self, params, obs):
        """The forward pass at ``params`` on the states ``obs`` (one per row)."""
        params = self.check_params(params)
        return GaussianState(self, params, self.net.linearize(params[:-1], obs))

    @classmethod
    def space_size(cls, space, spaces):
        """A flat Box of ``k`` dimensions: ``(k, low, high)``."""
        if isinstance(space, spaces.Box) and len(space.shape) == 1:
            return space.shape[0], space.low.astype(float), space.high.astype(float)
        return None

    @classmethod
    def make(cls, obs_dim, n, hidden, activation, *, log_std):
        return cls(obs_dim, n, hidden, activation, log_std)

    def env_actions(self, actions, low, high):
        """The actions clipped to the bounds (the sampled ones, unclipped, are what the
        log-probabilities and gradients are of)."""
        if low is None and high is None:
            return actions
        return np.clip(actions, low, high)

    def output_fisher_factors(self, params, y):
        """``u_j = e_j / σ``: the mean network's output layer is linear, and the Fisher of
        ``N(μ, σ² I)`` in μ is ``I/σ²``."""
        prec = gaussian_precision(params)
        n, k = y.shape
        return [np.broadcast_to(math.sqrt(prec) * np.eye(k)[j], (n, k)) for j in range(k)]

    def extra_fisher(self, params):
        """ς's Fisher ``2k`` (see the module docstring)."""
        return np.array([2.0 * self.act_dim])


def gaussian_precision(params):
    """``1/σ² = e^{−2ς}`` of a Gaussian policy's parameters (ς their last entry), or a
    :class:`~riemannopt.errors.NonFiniteError` if ``|ς|`` exceeds :data:`LOG_STD_LIMIT`."""
    log_std = float(params[-1])
    if not abs(log_std) <= LOG_STD_LIMIT:
        raise NonFiniteError(
            f"the policy's log σ reached {log_std:.6g}, beyond ±{LOG_STD_LIMIT:g}: σ² leaves float64's range",
            point=params,
        )
    return math.exp(-2.0 * log_std)


class GaussianState(PolicyState):
    """:class:`PolicyState` of a :class:`GaussianPolicy`; ``.mean`` (n, k) and ``.log_std``."""

    def __init__(self, policy, params, lin):
        self.policy = policy
        self.params = params
        self.lin = lin
        self.mean = lin.y
        self.log_std = float(params[-1])
        self.prec = gaussian_precision(params)

    def _actions(self, actions):
        a = np.asarray(actions, dtype=np.float64)
        if a.shape != self.mean.shape:
            raise ShapeError(f"actions must have shape {self.mean.shape}, got {a.shape}")
        return a

    def log_prob(self, actions):
        r = self._actions(actions) - self.mean
        k = self.policy.act_dim
        return -0.5 * self.prec * np.sum(r * r, axis=1) - k * self.log_std - 0.5 * k * _LOG_2PI

    def surrogate_gradient(self, actions, weights):
        a = self._actions(actions)
        w = _weights(weights, len(a))
        r = a - self.mean
        g_theta = self.lin.gradient(self.mean + w[:, None] * r)
        g_theta *= self.prec
        g_std = -np.mean(w * (self.prec * np.sum(r * r, axis=1) - self.policy.act_dim))
        return np.append(g_theta, g_std)

    def fisher_vp(self, v):
        v = np.asarray(v, dtype=np.float64)
        out = self.lin.fisher_vp(v[:-1])
        out *= self.prec
        return np.append(out, 2.0 * self.policy.act_dim * v[-1])

    def connection_vp(self, v):
        v = np.asarray(v, dtype=np.float64)
        vt, vs = v[:-1], float(v[-1])
        g1v = self.lin.fisher_vp(vt)
        out = self.lin.connection_vp(vt)
        out -= 2.0 * vs * g1v
        out *= self.prec
        return np.append(out, self.prec * float(vt @ g1v))

    def kl(self, other):
        k = self.policy.act_dim
        d = self.mean - other.mean
        ratio = other.prec / self.prec  # σ_self² / σ_other²
        per_state = k * (other.log_std - self.log_std) + 0.5 * (k * ratio + other.prec * np.sum(d * d, axis=1) - k)
        return float(np.mean(per_state))

    def entropy(self):
        k = self.policy.act_dim
        return k * (self.log_std + 0.5 * (1.0 + _LOG_2PI))

    def sample(self, rng):
        return self.mean + math.exp(self.log_std) * rng.standard_normal(self.mean.shape)


class CategoricalPolicy(Policy):
    """``softmax(z_θ(s))`` over ``n_actions`` discrete actions; the Fisher and connection are
    those of the ``softmax_ce`` loss (paper App. B.3).  The parameters are the network's θ."""

    kind = "categorical"
    action_space = "a Discrete"
    discrete = True

    def __init__(self, obs_dim, n_actions, hidden=(64, 64), activation="tanh"):
        n_actions = check_number(n_actions, "n_actions", integer=True, low=2, cls=ShapeError)
        super().__init__(obs_dim, hidden, activation, n_actions, "softmax", "softmax_ce")
        self.n_actions = n_actions
        self.n_params = self.net.n_params

    def __repr__(self):
        return f"CategoricalPolicy(obs_dim={self.obs_dim}, n_actions={self.n_actions}, hidden={list(self.hidden)})"

    def linearize(self, params, obs):
        """The forward pass at ``params`` on the states ``obs`` (one per row)."""
        params = self.check_params(params)
        return CategoricalState(self, params, self.net.linearize(params, obs))

    @classmethod
    def space_size(cls, space, spaces):
        """A Discrete space of ``m`` actions: ``(m, None, None)``."""
        if isinstance(space, spaces.Discrete):
            return int(space.n), None, None
        return None

    def output_fisher_factors(self, params, y):
        """``u_j = √y_j (e_j − y)``: the Fisher of ``softmax(s)`` in the logits ``s`` is
        ``diag(y) − y yᵀ = Σ_j y_j (e_j − y)(e_j − y)ᵀ``."""
        m = y.shape[1]
        return [np.sqrt(y[:, [j]]) * (np.eye(m)[j] - y) for j in range(m)]


class CategoricalState(PolicyState):
    """:class:`PolicyState` of a :class:`CategoricalPolicy`; ``.probs`` (n, n_actions)."""

    def __init__(self, policy, params, lin):
        self.policy = policy
        self.params = params
        self.lin = lin
        self.probs = lin.y
        # log 0 would turn a ratio into nan; probabilities this small never carry a sampled action.
        self.log_probs = np.log(np.maximum(self.probs, np.finfo(np.float64).tiny))

    def _actions(self, actions):
        a = np.asarray(actions)
        if a.shape != (len(self.probs),) or not np.issubdtype(a.dtype, np.integer):
            raise ShapeError(f"actions must be {len(self.probs)} integers, got an array of shape {a.shape} ({a.dtype})")
        if len(a) and (a.min() < 0 or a.max() >= self.policy.n_actions):
            raise InputError(f"actions must lie in [0, {self.policy.n_actions}), got [{a.min()}, {a.max()}]")
        return a

    def log_prob(self, actions):
        a = self._actions(actions)
        return self.log_probs[np.arange(len(a)), a]

    def surrogate_gradient(self, actions, weights):
        a = self._actions(actions)
        w = _weights(weights, len(a))
        scale = float(np.max(np.abs(w))) if len(w) else 0.0
        grad = np.zeros(self.policy.n_params)
        if scale == 0.0:
            return grad
        onehot = np.zeros_like(self.probs)
        onehot[np.arange(len(a)), a] = 1.0
        for sign, part in ((1.0, np.maximum(w, 0.0)), (-1.0, np.maximum(-w, 0.0))):
            if part.any():
                lam = (part / scale)[:, None]
                # (1/n) Σ λ_k J_kᵀ (y_k − e_{a_k}) = ∇ of −(1/n) Σ λ_k log π(a_k | s_k).
                grad += sign * scale * self.lin.gradient(lam * onehot + (1.0 - lam) * self.probs)
        return grad

    def fisher_vp(self, v):
        return self.lin.fisher_vp(v)

    def connection_vp(self, v):
        return self.lin.connection_vp(v)

    def kl(self, other):
        return float(np.mean(np.sum(self.probs * (self.log_probs - other.log_probs), axis=1)))

    def entropy(self):
        return float(-np.mean(np.sum(self.probs * self.log_probs, axis=1)))

    def sample(self, rng):
        u = rng.random((len(self.probs), 1))
        a = (np.cumsum(self.probs, axis=1) < u).sum(axis=1)
        return np.minimum(a, self.policy.n_actions - 1)  # u beyond a rounded-down total


def make_policy(kind, obs_dim, n, hidden=(64, 64), activation="tanh", log_std=0.0):
    """The policy of the distribution ``kind`` (a key of :data:`POLICIES`) of size ``n``: a
    :class:`GaussianPolicy` (``kind="gaussian"``, ``n`` action dimensions) or a
    :class:`CategoricalPolicy` (``kind="categorical"``, ``n`` actions); ``log_std`` is the
    Gaussian policy's initial log σ."""
    if not isinstance(kind, str) or kind not in POLICIES:
        raise MethodError(f"unknown policy kind {kind!r}; expected one of {', '.join(map(repr, POLICIES))}")
    return POLICIES[kind].make(obs_dim, n, hidden, activation, log_std=log_std)
