"""The outcome vocabulary of the integrators: one definition of every code the kernels return.

The jitted kernels (:mod:`riemannopt.integrators.kernels`) never raise: a step rule, a point check
or an ODE solve returns a *status* (``OK`` or what failed), and an ODE solve that stopped short
also says *why* (a ``WHY_*`` code).  Both sides read this module:

* the kernels, the plain ints below (numba freezes them into the machine code it caches) and
  :func:`why_failed`, inlined into the Runge–Kutta loop;
* the Python side, :data:`STATUS_TEXT` (the exception class and the texts of each failure status)
  and :data:`WHY_TEXT`, which turn a code into the error that carries what was computed
  (:mod:`riemannopt.integrators.common`), and :func:`why_failed` for scipy's solver
  (:mod:`riemannopt.integrators.flows`).

numba's cache sees edits of ``kernels.py`` only: :data:`VOCABULARY` (the codes and the mapping of
:func:`why_failed`, as data) is folded into the layout digest that ``kernels.py`` records
(``binding.LAYOUT``), so changing a code here makes that file be edited and its cached kernels
recompiled.  ``tests/integrators/test_outcomes.py`` produces every code and checks its class and
text.
"""

from typing import NamedTuple

from riemannopt import errors

__all__ = [
    "OK",
    "OUT_OF_DOMAIN",
    "NOT_PD",
    "NON_FINITE",
    "EXPMAP_FAILED",
    "SINGULAR",
    "STATUSES",
    "WHY_TOLERANCE",
    "WHY_DOMAIN",
    "WHY_NON_FINITE",
    "WHY_STEP_CAP",
    "WHY_NOT_PD",
    "WHYS",
    "why_failed",
    "Failure",
    "STATUS_TEXT",
    "WHY_TEXT",
    "VOCABULARY",
]

# Status of a step rule, a point check or an ODE solve.
OK = 0
OUT_OF_DOMAIN = 1  # a point outside the problem's domain
NOT_PD = 2  # a metric that is not (numerically) positive definite
NON_FINITE = 3  # a point, a loss or an intermediate value that is not finite
EXPMAP_FAILED = 4  # an ODE solve (an exponential map, a transport, exact's flow) stopped short
SINGULAR = 5  # the Hessian of the loss is singular (newton)

#: Every status by name.
STATUSES = {
    "OK": OK,
    "OUT_OF_DOMAIN": OUT_OF_DOMAIN,
    "NOT_PD": NOT_PD,
    "NON_FINITE": NON_FINITE,
    "EXPMAP_FAILED": EXPMAP_FAILED,
    "SINGULAR": SINGULAR,
}

# Why an ODE solve stopped short (reported with EXPMAP_FAILED): every trial step was rejected by
# the error control until the step size vanished, or the trial points left the domain, or they
# were not finite; or the step cap was used up; or (the flow, whose field needs it) the metric at
# the trial points was not positive definite.
WHY_TOLERANCE = 0
WHY_DOMAIN = 1
WHY_NON_FINITE = 2
WHY_STEP_CAP = 3
WHY_NOT_PD = 4

#: Every stop reason by name.
WHYS = {
    "WHY_TOLERANCE": WHY_TOLERANCE,
    "WHY_DOMAIN": WHY_DOMAIN,
    "WHY_NON_FINITE": WHY_NON_FINITE,
    "WHY_STEP_CAP": WHY_STEP_CAP,
    "WHY_NOT_PD": WHY_NOT_PD,
}


def why_failed(status):
    """The ``WHY_*`` code of a solve whose right-hand side, or a state it checked, failed with the
    status ``status`` (plain Python, compiled into the kernels as it is)."""
    if status == NOT_PD:
        return WHY_NOT_PD
    if status == OUT_OF_DOMAIN:
        return WHY_DOMAIN
    return WHY_NON_FINITE


class Failure(NamedTuple):
    """How a failure status is reported."""

    #: The exception class raised.
    exception: type
    #: What is wrong with a point (follows "x_k = [...]").
    point: str
    #: What went wrong when an intermediate quantity of a step failed.
    during: str


#: Every failure status → its :class:`Failure` (``OK`` has none).
STATUS_TEXT = {
    OUT_OF_DOMAIN: Failure(
        errors.DomainError,
        "is outside the domain",
        "an intermediate point (such as the midpoint's half step) is outside the domain",
    ),
    NOT_PD: Failure(
        errors.NotPositiveDefiniteError,
        "has a metric that is singular or not positive definite",
        "the metric at an intermediate point is singular or not positive definite",
    ),
    NON_FINITE: Failure(
        errors.NonFiniteError,
        "is not finite (or its loss is not)",
        "an intermediate value (the natural direction or a correction) is not finite",
    ),
    EXPMAP_FAILED: Failure(
        errors.ExpMapError,
        "is where the ODE solver could not continue",
        "the geodesic ODE solver could not finish the exponential map",
    ),
    SINGULAR: Failure(
        errors.SingularHessianError,
        "has a singular Hessian of the loss",
        "the Hessian of the loss is singular there",
    ),
}

#: Every stop reason → why the solve stopped (``{max_steps}`` is filled in).
WHY_TEXT = {
    WHY_TOLERANCE: "every trial step was rejected by the error control until the step size vanished (a singularity?)",
    WHY_DOMAIN: "it ran out of the domain",
    WHY_NON_FINITE: "its values stopped being finite",
    WHY_STEP_CAP: "the step cap max_steps = {max_steps} was used up",
    WHY_NOT_PD: "the metric stopped being positive definite",
}

#: What the kernels' machine code takes from here, as data: the codes by name and the mapping of
#: :func:`why_failed` (folded into ``binding.LAYOUT``).
VOCABULARY = (
    tuple(STATUSES.items()),
    tuple(WHYS.items()),
    tuple((status, why_failed(status)) for status in STATUSES.values()),
)
