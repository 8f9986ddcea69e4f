"""riemannopt: the geometry of natural-gradient optimization, computable, checkable and fast.

Implements *Accelerating Natural Gradient with Higher-Order Invariance* (Song, Song & Ermon,
ICML 2018).  See ``docs/`` for the mathematics and tutorials.

The subpackages that most scripts do not need (``nn``, ``rl``, ``experiments``, ``plot``) are
imported on first use, so that ``import riemannopt`` stays quick.
"""

import importlib

from riemannopt import errors, models
from riemannopt._threads import blas_threads
from riemannopt.analysis import convergence_order, invariance_order
from riemannopt.codegen import CompiledProblem
from riemannopt.integrators import (
    METHODS,
    Geodesic,
    Method,
    Trajectory,
    TrajectoryBatch,
    exp_map,
    geodesic,
    optimize,
    parallel_transport,
)
from riemannopt.minimizers import MINIMIZERS, minimize
from riemannopt.symbolic import Metric, Problem, QuadratureMetric, fisher_metric

__version__ = "0.1.0"

_LAZY = ("nn", "rl", "experiments", "plot")

__all__ = [
    "Metric",
    "Problem",
    "CompiledProblem",
    "fisher_metric",
    "QuadratureMetric",
    "optimize",
    "METHODS",
    "Method",
    "Trajectory",
    "TrajectoryBatch",
    "exp_map",
    "parallel_transport",
    "geodesic",
    "Geodesic",
    "models",
    "errors",
    "experiments",
    "nn",
    "convergence_order",
    "invariance_order",
    "minimize",
    "MINIMIZERS",
    "blas_threads",
]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
