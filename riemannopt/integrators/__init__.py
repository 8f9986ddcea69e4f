"""Integrators of the natural-gradient flow (paper eq. 5–9), the exponential map, the exact flow.

Numerical core: the jitted kernels in ``_kernels.py``, linked per problem.  Thin Python edges:
:func:`optimize`, :func:`exp_map`, :func:`geodesic`.  This package never imports sympy.
"""

from .expmap import Geodesic, exp_map, geodesic, parallel_transport
from .methods import Method
from .optimize import METHODS, optimize
from .trajectory import Trajectory, TrajectoryBatch

__all__ = [
    "optimize",
    "METHODS",
    "Method",
    "exp_map",
    "parallel_transport",
    "geodesic",
    "Geodesic",
    "Trajectory",
    "TrajectoryBatch",
]
