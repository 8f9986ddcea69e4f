"""One exception hierarchy for riemannopt.

Every error names what was wrong and where (which method, which step, which point), so a failed
run can be diagnosed without a debugger.  Errors raised by an optimizer that fails mid-run carry
the partial trajectory it computed in ``.trajectory``.
"""

__all__ = [
    "RiemannOptError",
    "MetricError",
    "SymbolicError",
    "ShapeError",
    "InputError",
    "DomainError",
    "NotPositiveDefiniteError",
    "NonFiniteError",
    "ExpMapError",
    "SingularHessianError",
    "MethodError",
    "BackendUnavailableError",
    "CompileError",
    "OptimizationError",
    "TrainingError",
    "CacheWarning",
]


class RiemannOptError(Exception):
    """Base class of every riemannopt error."""


class SymbolicError(RiemannOptError, ValueError):
    """A symbolic input is malformed (unknown free symbols, wrong coordinates, ...)."""


class MetricError(SymbolicError):
    """A metric is not square, not symmetric, or singular as an expression."""


class ShapeError(RiemannOptError, ValueError):
    """An array argument has the wrong shape."""


class InputError(RiemannOptError, ValueError):
    """An argument has an invalid value: not a number, not finite, or outside its allowed range
    (the message names the argument and, for arrays, the first offending entry)."""


class MethodError(RiemannOptError, ValueError):
    """An unknown method name or a bad option for a method."""


class BackendUnavailableError(MethodError, NotImplementedError):
    """A known compute backend that cannot be used (not implemented yet, or its dependencies
    are missing)."""


class CompileError(RiemannOptError):
    """Code generation or just-in-time compilation failed."""


class OptimizationError(RiemannOptError):
    """An optimizer failed mid-run.

    Attributes
    ----------
    method : str or None
        The method that failed.
    step : int or None
        The step (1-based index of the iterate being computed) at which it failed.
    point : ndarray or None
        The offending point.
    trajectory : Trajectory or None
        What was computed before the failure (``trajectory.x[0]`` is the start point).
    index : int or None
        In a batch run, the row of the member that failed.
    batch : TrajectoryBatch or None
        In a batch run of :func:`~riemannopt.optimize`, every member's result.
    result : ndarray or None
        In a batch of :func:`~riemannopt.exp_map` or :func:`~riemannopt.parallel_transport`,
        every member's result (NaN rows for the members that failed).
    """

    def __init__(self, message, *, method=None, step=None, point=None, trajectory=None, index=None, result=None):
        super().__init__(message)
        self.method = method
        self.step = step
        self.point = point
        self.trajectory = trajectory
        self.index = index
        self.batch = None
        self.result = result


class DomainError(OptimizationError, ValueError):
    """A point lies outside the model's domain."""


class NotPositiveDefiniteError(OptimizationError, ValueError):
    """The metric is singular or not positive definite at a point."""


class SingularHessianError(OptimizationError, ValueError):
    """The Hessian of the loss is singular at a point (``newton``)."""


class NonFiniteError(OptimizationError, FloatingPointError):
    """An iterate or a value became NaN or infinite."""


class ExpMapError(OptimizationError):
    """The ODE solver could not finish an exponential map, a geodesic or the exact flow.

    Besides the attributes of :class:`OptimizationError` (``point`` is the last state the solver
    reached):

    Attributes
    ----------
    t : float or None
        How far the solver got: the time of ``point`` along the geodesic (``1`` would have been
        the end of an exponential map) or along the flow.
    geodesic : Geodesic or None
        From :func:`riemannopt.geodesic`: the samples computed before the failure.
    """

    def __init__(self, message, *, t=None, geodesic=None, **context):
        super().__init__(message, **context)
        self.t = t
        self.geodesic = geodesic


class CacheWarning(RiemannOptError, RuntimeWarning):
    """The compiled-code cache directory cannot be written, so a private temporary cache is used
    for this process (issued once per directory).  Compiled problems still work; they are
    compiled again in the next process.  Point ``RIEMANNOPT_CACHE_DIR`` at a writable directory
    to keep them.  Also issued (once per module) when numba's cache files of a module were damaged
    and have been deleted, so that its functions are compiled afresh
    (:func:`riemannopt._numba_cache.heal_numba_cache`)."""


class TrainingError(RiemannOptError):
    """A training run (:func:`riemannopt.nn.train`, natural policy gradient) diverged or met a
    non-finite value.

    Attributes
    ----------
    iteration : int or None
        The iteration that failed.
    result : object or None
        What was computed before the failure (a ``TrainResult`` with ``.theta`` and
        ``.history``, or the reinforcement-learning equivalent).
    """

    def __init__(self, message, *, iteration=None, result=None):
        super().__init__(message)
        self.iteration = iteration
        self.result = result
