"""The Butcher tableaus of the jitted ODE solvers, as data, checked against their order conditions.

The one adaptive Runge–Kutta loop of :mod:`riemannopt.integrators.kernels` (``_adaptive``, compiled
as ``dopri`` and ``dop853``) reads everything that distinguishes a solver from a :class:`Tableau`:
the coefficients, how the error is estimated, whether the last stage is the next step's first
(FSAL), and the step-size control.  numba freezes the tableaus into the kernels' machine code;
their digest is part of ``binding.LAYOUT``, which ``kernels.py`` records, so that changing one
recompiles the kernels.

Each tableau is checked on import: the nodes are the row sums of ``A`` (``c_i = Σ_j a_ij``), and
the propagated and the embedded solutions satisfy the quadrature conditions
``Σ_i b_i c_i^(k-1) = 1/k`` up to their orders (the conditions of the bushy trees).
"""

import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["Tableau", "EMBEDDED", "DOP853_NORM", "DOPRI5", "DOP853", "TABLEAUS", "check", "embedded_weights", "DIGEST"]

# How the error of a step is estimated from the rows of Tableau.e.
EMBEDDED = 0  # e[0] are the weights of an embedded solution: err = RMS of h·(b − e[0])·k / sc
DOP853_NORM = 1  # e[0], e[1] are b − b̂5 and b − b̂3: DOP853's combined norm of the two differences


class Tableau(NamedTuple):
    """An explicit embedded Runge–Kutta pair with its error estimator and step-size control.

    Attributes
    ----------
    c : ndarray, shape (s,)
        The nodes (checked; the loop does not need them: the problems are autonomous).
    A : ndarray, shape (s, s)
        Strictly lower triangular stage coefficients.
    b : ndarray, shape (s,)
        Weights of the solution that propagates, of order ``order``.
    order : int
    e : ndarray, shape (r, s)
        Weights of the error estimate, read as ``estimator`` says.
    e_orders : tuple of int
        The order of the embedded solution of each row of ``e``.
    estimator : int
        :data:`EMBEDDED` or :data:`DOP853_NORM`.
    fsal : bool
        First same as last: the last stage is evaluated at the new point (``A[-1] = b``), so it is
        the next step's first.  Otherwise f at the new point is evaluated, and checked, before a
        step is accepted.
    exponent : float
        The step size is multiplied by ``0.9·err^exponent``, within ``[0.2, max_factor]``:
        ``−1/(q+1)``, ``q`` the order of the error estimate (4 for Dormand–Prince 5(4), 7 for
        DOP853's combined estimate, as in scipy).
    max_factor : float
    """

    c: np.ndarray
    A: np.ndarray
    b: np.ndarray
    order: int
    e: np.ndarray
    e_orders: tuple
    estimator: int
    fsal: bool
    exponent: float
    max_factor: float


def _array(rows):
    a = np.ascontiguousarray(rows, dtype=np.float64)
    a.flags.writeable = False
    return a


#: Dormand–Prince 5(4) (Dormand & Prince 1980); the 5th-order solution propagates, the 4th-order
#: one estimates the error.
DOPRI5 = Tableau(
    c=_array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0]),
    A=_array(
        [
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [1 / 5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [3 / 40, 9 / 40, 0.0, 0.0, 0.0, 0.0, 0.0],
            [44 / 45, -56 / 15, 32 / 9, 0.0, 0.0, 0.0, 0.0],
            [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0.0, 0.0, 0.0],
            [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0.0, 0.0],
            [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0],
        ]
    ),
    b=_array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0]),
    order=5,
    e=_array([[5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40]]),
    e_orders=(4,),
    estimator=EMBEDDED,
    fsal=True,
    exponent=-0.2,
    max_factor=5.0,
)


def _dop853_coefficients():
    """scipy's table module, read on its own: importing it through ``scipy.integrate`` would cost
    a third of a second of every process that runs a kernel."""
    import importlib.util

    import scipy

    path = Path(scipy.__file__).parent / "integrate" / "_ivp" / "dop853_coefficients.py"
    if not path.is_file():  # scipy moved it: the import costs time, not correctness
        from scipy.integrate._ivp import dop853_coefficients

        return dop853_coefficients
    spec = importlib.util.spec_from_file_location("_riemannopt_dop853_coefficients", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dop853():
    """Dormand–Prince 8(5,3) (Hairer, Nørsett & Wanner, the DOP853 code), the published numbers as
    scipy ships them: 12 stages; the 8th-order solution propagates, and the error is estimated by
    the combined differences E5, E3 from the 5th- and 3rd-order solutions.  Row 12 of scipy's
    extended A equals B: the 13th "stage" is f at the new point, which DOP853 evaluates only
    before accepting a step and reuses as the next first stage (E5[12] = E3[12] = 0, so the error
    estimate needs only the 12 stages)."""
    d = _dop853_coefficients()
    s = d.N_STAGES
    return Tableau(
        c=_array(d.C[:s]),
        A=_array(d.A[:s, :s]),
        b=_array(d.B[:s]),
        order=8,
        e=_array([d.E5[:s], d.E3[:s]]),
        e_orders=(5, 3),
        estimator=DOP853_NORM,
        fsal=False,
        exponent=-0.125,
        max_factor=10.0,
    )


#: Dormand–Prince 8(5,3), the solver of every exponential map, transport and exact flow.
DOP853 = _dop853()

#: Every tableau by name.
TABLEAUS = {"dopri5": DOPRI5, "dop853": DOP853}

# Coefficients are rounded to doubles (DOP853's third-order weights to 15 digits).
_TOL = 1e-13


def embedded_weights(tableau):
    """The weights of the embedded solutions, one row per row of ``e``."""
    if tableau.estimator == EMBEDDED:
        return tableau.e
    return tableau.b - tableau.e


def check(tableau, name="tableau"):
    """Raise a ValueError unless ``tableau`` is consistent: shapes, ``A`` strictly lower
    triangular, ``c_i = Σ_j a_ij``, ``Σ_i b_i c_i^(k-1) = 1/k`` for ``k ≤ order`` and the same for
    each embedded solution up to its order, and for FSAL a last row of ``A`` equal to ``b``."""
    c, A, b = tableau.c, tableau.A, tableau.b
    s = b.size
    problems = []
    if A.shape != (s, s) or c.shape != (s,) or tableau.e.shape != (len(tableau.e_orders), s):
        raise ValueError(f"{name}: inconsistent shapes c {c.shape}, A {A.shape}, b {b.shape}, e {tableau.e.shape}")
    if np.any(np.triu(A) != 0):
        problems.append("A is not strictly lower triangular")
    row_sums = A.sum(axis=1)
    if not np.allclose(row_sums, c, rtol=0, atol=_TOL):
        problems.append(f"c ≠ row sums of A (largest gap {np.abs(row_sums - c).max():.2e})")
    solutions = [("b", b, tableau.order)]
    solutions += [
        (f"embedded solution {i}", w, q) for i, (w, q) in enumerate(zip(embedded_weights(tableau), tableau.e_orders))
    ]
    for what, w, order in solutions:
        for k in range(1, order + 1):
            gap = float(w @ c ** (k - 1)) - 1 / k
            if abs(gap) > _TOL:
                problems.append(f"{what}: Σ w c^{k - 1} − 1/{k} = {gap:.2e} (declared order {order})")
    if tableau.fsal and not (np.array_equal(A[-1], b) and b[-1] == 0 and c[-1] == 1):
        problems.append("FSAL, but the last row of A is not b (with b[-1] = 0 and c[-1] = 1)")
    if problems:
        raise ValueError(f"{name} fails its order conditions: " + "; ".join(problems))


for _name, _tableau in TABLEAUS.items():
    check(_tableau, _name)


def _digest():
    h = hashlib.sha256()
    for name, t in TABLEAUS.items():
        h.update(name.encode())
        for field, value in zip(Tableau._fields, t):
            h.update(field.encode())
            if isinstance(value, np.ndarray):
                h.update(repr(value.shape).encode())
                value = value.astype("<f8").tobytes()
            else:
                value = repr(value).encode()
            h.update(value)
    return h.hexdigest()[:12]


#: A digest of every tableau's data (folded into ``binding.LAYOUT``).
DIGEST = _digest()
