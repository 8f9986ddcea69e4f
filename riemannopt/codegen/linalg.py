"""Small dense linear algebra for generated code: the metric of a problem with data is averaged
over the rows numerically, so its inverse and the solves with it are numerical too.

Compiled once per machine (numba's cache) and called by every generated module of a problem with
data.  Explicit loops: the matrices are ``n × n`` with ``n`` the manifold's dimension (a handful),
where a loop beats a LAPACK call.
"""

import math

from numba import njit

__all__ = ["cholesky", "chol_solve", "chol_inverse"]

_jit = njit(cache=True, error_model="numpy")


@_jit
def cholesky(G, L):
    """``G = L Lᵀ`` into the lower triangle of ``L``; False if ``G`` is not (numerically) positive
    definite."""
    n = G.shape[0]
    for j in range(n):
        s = G[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, n):
            s = G[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / L[j, j]
    return True


@_jit
def chol_solve(L, b, out):
    """``out = (L Lᵀ)^{-1} b`` (``out`` may be ``b``)."""
    n = L.shape[0]
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * out[k]
        out[i] = s / L[i, i]
    for i in range(n - 1, -1, -1):
        s = out[i]
        for k in range(i + 1, n):
            s -= L[k, i] * out[k]
        out[i] = s / L[i, i]


@_jit
def chol_inverse(L, out):
    """``out = (L Lᵀ)^{-1}``, one column at a time."""
    n = L.shape[0]
    for j in range(n):
        for i in range(n):
            out[i, j] = 1.0 if i == j else 0.0
        chol_solve(L, out[:, j], out[:, j])
