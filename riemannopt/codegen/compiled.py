"""The compiled form of a problem: numba functions plus the parameter values."""

import numpy as np
from numba import types

from riemannopt._checks import as_float_array
from riemannopt._io import deferred_interrupt
from riemannopt.codegen.emit import FUNCTIONS
from riemannopt.errors import DomainError, NotPositiveDefiniteError, ShapeError

__all__ = ["CompiledProblem", "SIGNATURES"]

_f8 = types.float64
# Inputs of any layout (the integrators pass slices of their state vectors), read-only (so that
# read-only arrays may be passed too).
_X = types.Array(_f8, 1, "A", readonly=True)
# Inputs that are matrices (gamma_vv_chol's Cholesky factor).
_MATRICES = {"chol": types.Array(_f8, 2, "A", readonly=True)}
_SCALARS = {"loss": _f8, "in_domain": types.boolean}
# The number of axes of ``out`` of each array-valued function.
_AXES = {
    "metric": 2,
    "inverse_metric": 2,
    "christoffel": 3,
    "christoffel_first": 3,
    "gamma_vv": 1,
    "gamma_uv": 1,
    "gamma_first_vv": 1,
    "dgamma_vvv": 1,
    "grad": 1,
    "hessian": 2,
    "direction": 1,
    "state": 1,
    "gamma_vv_chol": 1,
}
assert _AXES.keys() | _SCALARS.keys() == FUNCTIONS.keys(), "every generated function needs its type here"


def _signature(name):
    args = FUNCTIONS[name]
    if name in _SCALARS:
        return _SCALARS[name](*(_MATRICES.get(a, _X) for a in args))
    return types.none(*(_MATRICES.get(a, _X) for a in args[:-1]), types.Array(_f8, _AXES[name], "A"))


#: The one numba signature each generated function is compiled with, whoever calls it: jitted
#: kernels through its address (riemannopt.integrators.binding) or Python.
SIGNATURES = {name: _signature(name) for name in FUNCTIONS}


class CompiledProblem:
    """Fast float64 evaluation of everything the integrators need.

    Made by :meth:`Problem.compile`.  Each method takes a point ``x`` of shape ``(n,)`` (and a
    tangent vector ``v``) and returns float64 arrays; the underlying ``@njit`` functions, which
    also take the parameter vector, are returned by :meth:`function`.  Each is compiled when it is
    first used (or loaded from numba's disk cache), so a run compiles only what it calls.

    Attributes
    ----------
    problem : Problem
        The symbolic problem it was compiled from.
    module : module
        The generated numba module (functions ``metric(x, p)``, ``gamma_vv(x, v, p)``, ...).
    p : ndarray
        The parameter values, in ``problem.param_symbols`` order, followed (for a problem with
        data) by the data columns in ``problem.data_symbols`` order
        (:attr:`Problem.runtime_values <riemannopt.symbolic.Problem.runtime_values>`).
    from_cache : bool
        Whether the generated source came from the cache (no symbolic derivation was done).
    cache_dir : path or None
        The cache directory it was compiled with (None: the default).
    """

    def __init__(self, problem, module, from_cache=False, cache_dir=None):
        self.problem = problem
        self.cache_dir = cache_dir
        self.module = module
        self.n = problem.n
        self.key = problem.key
        self.from_cache = from_cache
        self.p = problem.runtime_values

    def function(self, name):
        """The jitted function ``name`` (a key of :data:`SIGNATURES`, such as ``"metric"``),
        compiled with its signature: it then converts any float64 arrays it is given instead of
        compiling again for their layout.  Its arguments are those of
        :data:`~riemannopt.codegen.emit.FUNCTIONS` (``f(x, p, out)`` for an array-valued one)."""
        f = getattr(self.module, name)
        signature = SIGNATURES[name]
        if signature.args not in f.overloads:
            with deferred_interrupt():  # an interrupted compilation breaks numba's cache write
                f.compile(signature)
            f.disable_compile()
        return f

    def _evaluate(self, name, *args):
        out = np.empty((self.n,) * _AXES[name])
        self.function(name)(*args, self.p, out)
        return out

    def __repr__(self):
        return f"CompiledProblem({self.problem!r}, key={self.key})"

    def with_params(self, **values):
        """The same compiled code with other parameter values (by symbol name): no recompilation."""
        problem = self.problem.with_params(**values)
        return CompiledProblem(problem, self.module, self.from_cache, self.cache_dir)

    @property
    def has_data(self):
        """Whether the loss or the metric is a mean over data rows (see ``Problem(data=...)``)."""
        return bool(self.problem.data)

    def with_data(self, data=None, **columns):
        """The same compiled code with another data set (see :meth:`Problem.with_data
        <riemannopt.symbolic.Problem.with_data>`): no recompilation, whatever its number of rows."""
        problem = self.problem.with_data(data, **columns)
        return CompiledProblem(problem, self.module, self.from_cache, self.cache_dir)

    def vector(self, v, what="v"):
        """``v`` as a contiguous float64 array of shape ``(n,)``, or a ShapeError (an InputError if
        it is not numeric)."""
        a = np.ascontiguousarray(as_float_array(v, what))
        if a.shape != (self.n,):
            raise ShapeError(f"{what} must have shape ({self.n},) for this problem, got {np.shape(v)}")
        return a

    def point(self, x, what="x"):
        """``x`` as a float64 point of this problem, or a ShapeError / DomainError."""
        a = self.vector(x, what)
        if not self.function("in_domain")(a, self.p):
            conds = ", ".join(map(str, self.problem.domain))
            raise DomainError(f"{what} = {a} is outside the domain ({conds})", point=a)
        return a

    def in_domain(self, x):
        """Whether ``x`` satisfies the problem's domain conditions."""
        return bool(self.function("in_domain")(self.vector(x, "x"), self.p))

    def metric(self, x):
        """``g_ij(x)``, shape (n, n)."""
        return self._evaluate("metric", self.point(x))

    def inverse_metric(self, x):
        """``g^ij(x)``, shape (n, n)."""
        return self._evaluate("inverse_metric", self.point(x))

    def christoffel(self, x):
        """``Γ^m_ij(x)`` as ``[m, i, j]``, shape (n, n, n)."""
        return self._evaluate("christoffel", self.point(x))

    def christoffel_first(self, x):
        """``Γ_kij(x)`` as ``[k, i, j]``, shape (n, n, n)."""
        return self._evaluate("christoffel_first", self.point(x))

    def gamma_vv(self, x, v):
        """``Γ(v, v)^m = Γ^m_ij v^i v^j``, shape (n,)."""
        return self._evaluate("gamma_vv", self.point(x), self.vector(v))

    def gamma_uv(self, x, u, v):
        """``Γ(u, v)^m = Γ^m_ij u^i v^j``, shape (n,)."""
        return self._evaluate("gamma_uv", self.point(x), self.vector(u, "u"), self.vector(v))

    def gamma_first_vv(self, x, v):
        """``Γ_first(v, v)_k = Γ_kij v^i v^j``, shape (n,)."""
        return self._evaluate("gamma_first_vv", self.point(x), self.vector(v))

    def dgamma_vvv(self, x, v):
        """``∂_k Γ^m_ij v^k v^i v^j``, shape (n,)."""
        return self._evaluate("dgamma_vvv", self.point(x), self.vector(v))

    def grad(self, x):
        """``∂_i L(x)``, shape (n,)."""
        return self._evaluate("grad", self.point(x))

    def hessian(self, x):
        """The coordinate Hessian ``∂_i ∂_j L(x)`` (not the Riemannian one), shape (n, n)."""
        return self._evaluate("hessian", self.point(x))

    def direction(self, x):
        """The natural direction ``d(x) = -g(x)^{-1} ∇L(x)`` (paper eq. 5), shape (n,)."""
        return self._evaluate("direction", self.point(x))

    def loss(self, x):
        """``L(x)`` as a float."""
        return float(self.function("loss")(self.point(x), self.p))

    def state(self, x):
        """``(L(x), ∇L(x), g(x))`` from one call of the generated ``state``: for a problem with
        data, one pass over the rows (what the integrators' kernels evaluate at each iterate).

        Returns
        -------
        loss : float
        grad : ndarray, shape (n,)
        metric : ndarray, shape (n, n)
        """
        n = self.n
        out = np.empty(1 + n + n * n)
        self.function("state")(self.point(x), self.p, out)
        return float(out[0]), out[1 : 1 + n], out[1 + n :].reshape(n, n)

    def gamma_vv_chol(self, x, v):
        """``Γ(v, v)^m`` (as :meth:`gamma_vv`) from the Cholesky factor of the metric at ``x``,
        shape (n,): a metric summed over data rows or quadrature nodes then needs the sums of
        ``Γ_first(v, v)`` only.

        Raises
        ------
        NotPositiveDefiniteError
            If the metric at ``x`` is not positive definite (it has no Cholesky factor).
        """
        a = self.point(x)
        try:
            chol = np.linalg.cholesky(self.metric(a))
        except np.linalg.LinAlgError:
            raise NotPositiveDefiniteError(f"x = {a}: the metric there is not positive definite", point=a) from None
        out = np.empty(self.n)
        self.function("gamma_vv_chol")(a, self.vector(v), chol, self.p, out)
        return out


missing = set(FUNCTIONS) - set(vars(CompiledProblem))
assert not missing, f"CompiledProblem lacks wrappers for {missing}"
del missing
