"""Integrators of the natural-gradient flow (paper eq. 5–9), the exponential map, parallel
transport, the exact flow.

The methods are entries of one registry (:mod:`.methods`).  Numerical core: the jitted step rules,
ODE solvers (one adaptive Runge–Kutta loop over the tableaus of :mod:`.tableaus`) and trajectory
loop in :mod:`.kernels`, compiled once per machine; a problem's generated functions reach them as
data (:mod:`.binding`), bound by :mod:`.link`.  Every outcome they report is a code of
:mod:`.outcomes`, which also says what error each one raises.  Thin Python edges: :func:`optimize`, :func:`exp_map`,
:func:`parallel_transport`, :func:`geodesic`.  This package never imports sympy.
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
