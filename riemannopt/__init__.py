"""riemannopt: the geometry of natural-gradient optimization, computable, checkable and fast.

Implements *Accelerating Natural Gradient with Higher-Order Invariance* (Song, Song & Ermon,
ICML 2018).  See ``docs/`` for the mathematics and tutorials.
"""

from . import errors, experiments, models, nn
from .analysis import convergence_order, invariance_order
from .codegen import CompiledProblem
from .integrators import METHODS, Geodesic, Trajectory, exp_map, geodesic, optimize
from .symbolic import Metric, Problem, fisher_metric

__version__ = "0.1.0"

__all__ = [
    "Metric",
    "Problem",
    "CompiledProblem",
    "fisher_metric",
    "optimize",
    "METHODS",
    "Trajectory",
    "exp_map",
    "geodesic",
    "Geodesic",
    "models",
    "errors",
    "experiments",
    "nn",
    "convergence_order",
    "invariance_order",
]
