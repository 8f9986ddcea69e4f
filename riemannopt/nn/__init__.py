"""Neural networks on the Fisher manifold: gradients, Fisher- and connection-vector products.

For a fully connected network whose outputs ``y`` parameterize ``p(t | y)`` (squared loss,
binary or multi-class cross-entropy), :class:`MLP` computes, each at the cost of a few
gradients (paper §5, Propositions 1–2, Appendix C):

* the gradient of the mean negative log-likelihood;
* Fisher-vector products ``F v`` (the Fisher equals the generalized Gauss-Newton matrix for
  these losses: Martens, *New perspectives on the natural gradient method*, §8);
* the connection-vector products ``Γ_first(v, v)`` that geodesic correction needs, by one
  forward pass carrying the first and second directional derivatives and one backward pass.

The products run on a backend (:mod:`riemannopt.nn.backends`: ``numpy``, ``cuda``).
:func:`solve_damped` is the truncated conjugate-gradient solver for ``(F + λD) x = b``.
:func:`train` trains a network with Hessian-free natural gradient (``ng``), its midpoint and
geodesic corrections (``mid``, ``geo``, ``geof``), the small-curvature correction of Appendix F
(``perturb``) or Adam (paper §7.2); :mod:`riemannopt.nn.datasets` generates data for it and
:data:`PRESETS` holds the paper's networks.  This package does not import sympy.
"""

from riemannopt.errors import BackendUnavailableError
from riemannopt.nn import datasets
from riemannopt.nn.backends import BACKENDS, available_backends, get_backend
from riemannopt.nn.cg import CGResult, solve_damped
from riemannopt.nn.layout import Layout
from riemannopt.nn.mlp import MLP, Linearization
from riemannopt.nn.presets import PRESETS, Preset, get_preset
from riemannopt.nn.train import HISTORY_KEYS, METHODS, TrainResult, train

__all__ = [
    "MLP",
    "Linearization",
    "Layout",
    "solve_damped",
    "CGResult",
    "BACKENDS",
    "get_backend",
    "available_backends",
    "BackendUnavailableError",
    "train",
    "TrainResult",
    "METHODS",
    "HISTORY_KEYS",
    "datasets",
    "PRESETS",
    "Preset",
    "get_preset",
]
