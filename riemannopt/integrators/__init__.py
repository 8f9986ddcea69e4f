"""Integrators of the natural-gradient flow (paper eq. 5–9), the exponential map, the exact flow.

Numerical core: the jitted kernels in ``_kernels.py``, linked per problem.  Thin Python edges:
:func:`optimize`, :func:`exp_map`, :func:`geodesic`.  This package never imports sympy.
"""

from riemannopt.integrators.expmap import Geodesic, exp_map, geodesic, parallel_transport
from riemannopt.integrators.methods import Method
from riemannopt.integrators.optimize import METHODS, optimize
from riemannopt.integrators.trajectory import Trajectory, TrajectoryBatch

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
