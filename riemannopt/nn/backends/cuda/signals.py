r"""Output-layer signals, element-wise backward kernels and bias reductions.

Every product starts its backward pass at the output pre-activation ``s`` with a signal
``D(s)`` (one row per example, already divided by the number of examples ``n``), computed here
in the stable forms of :mod:`riemannopt.nn.losses`, which cancel the ``1/(y(1−y))`` and
``1/y²`` of ``c1``, ``c2`` analytically:

=====================  =================================  ===================================
signal (``kind``)      ``bce`` (sigmoid output)           ``squared`` (``g = φ'(s)``, ``P = 1/σ²``)
=====================  =================================  ===================================
:data:`GRAD`           ``y − t``                          ``g (y − t) P``
:data:`FISHER`         ``p R(s)``, ``p = y(1 − y)``       ``g² R(s) P``
:data:`CONNECTION`     ``p (S(s) + (½ − y) R(s)²)``       ``g² ((φ''/φ') R(s)² + S(s)) P``
:data:`PERTURB`        GRAD + FISHER                      GRAD + FISHER
:data:`TERM3`          ``μ = R(s)`` or ``λ p R(s)``;      ``μ = g R(s) P`` or ``λ g R(s)``;
                       ``D = p μ``, ``R(D) = φ'' R(s) μ``  ``D = g μ``, ``R(D) = φ'' R(s) μ``
=====================  =================================  ===================================

(term 1 and term 2 of the connection, ``part`` 1 and 2: ``p(S(s) + (1 − 2y)R(s)²)`` and
``p(y − ½)R(s)²`` for ``bce``; everything and zero for ``squared``.)  ``softmax_ce`` signals
need row sums, so :func:`row kernel <_row_signal_kernel>` runs one thread per example: with
``r̃ = R(s) − ⟨y, R(s)⟩`` and ``J h = y ⊙ (h − ⟨y, h⟩)``, GRAD is ``y Σt − t``, FISHER ``J R(s)``,
CONNECTION ``J(S(s) + ½ r̃²)`` (parts: ``J(S(s) + r̃²)``, ``J(−½ r̃²)``).  The empirical-Fisher
signal ``δ ⟨δ, R(s)⟩`` (``δ`` the GRAD signal) is a row kernel for every loss.

The backward pass then needs, per layer, ``D(b) = Σ_rows D(s)`` (:func:`column sums
<_colsum_kernels>`, in a fixed order across blocks), ``D(s_{i−1}) = φ'(a) ⊙ D(a)``
(:data:`vjp <_vjp_kernel>`, fused into the own NN GEMM otherwise) and, for the R-operator of
Algorithm 3, ``R(D(s)) = φ' ⊙ R(D(a)) + φ'' ⊙ R(s) ⊙ D(a)`` (:func:`_rvjp_kernel`).
"""

import functools
import math

import numpy as np
from numba import cuda, from_dtype, int64

from riemannopt.nn.backends.cuda.config import sm_count
from riemannopt.nn.backends.cuda.device import device_functions
from riemannopt.nn.backends.cuda.vectors import view

__all__ = [
    "SQUARED",
    "BCE",
    "SOFTMAX_CE",
    "LOSS_CODES",
    "GRAD",
    "FISHER",
    "CONNECTION",
    "PERTURB",
    "TERM3",
    "EMPIRICAL",
    "ROW_LOSS",
    "ROW_ERROR",
    "ROW_GAP",
    "Signals",
    "signal_kernels",
    "signal_signatures",
]

SQUARED, BCE, SOFTMAX_CE = 0, 1, 2
#: Loss name → kernel code.
LOSS_CODES = {"squared": SQUARED, "bce": BCE, "softmax_ce": SOFTMAX_CE}
GRAD, FISHER, CONNECTION, PERTURB, TERM3, EMPIRICAL = 0, 1, 2, 3, 4, 5
#: Row statistics: softmax cross-entropy per example, misclassification, ``|Σ_j t_j − 1|``.
ROW_LOSS, ROW_ERROR, ROW_GAP = 0, 1, 2


def _pieces(dtype):
    """Device functions of the signals shared by the element-wise and row kernels."""
    f = device_functions(dtype)
    zero, half, one, two, d1, curv, d2 = f.zero, f.half, f.one, f.two, f.d1, f.curv, f.d2

    @cuda.jit(device=True, inline=True)
    def lam_at(lam, r, c):
        # λ broadcast from shape (1 or n, 1 or n_out).
        return lam[r if lam.shape[0] > 1 else 0, c if lam.shape[1] > 1 else 0]

    @cuda.jit(device=True, inline=True)
    def grad(loss, act, y, t, prec, tsum):
        if loss == SQUARED:
            return d1(act, y) * (y - t) * prec
        if loss == BCE:
            return y - t
        return y * tsum - t

    @cuda.jit(device=True, inline=True)
    def elementwise(kind, loss, act, y, t, rs, ss, lam, prec, part, has_lam):
        """``(D, R(D))`` at one entry for ``squared`` and ``bce`` (module table)."""
        g = d1(act, y)
        if kind == GRAD:
            return grad(loss, act, y, t, prec, zero), zero
        if kind == FISHER or kind == PERTURB:
            fisher = g * g * rs * prec if loss == SQUARED else g * rs
            if kind == PERTURB:
                fisher += grad(loss, act, y, t, prec, zero)
            return fisher, zero
        if kind == CONNECTION:
            r2 = rs * rs
            if loss == SQUARED:
                if part == 2:
                    return zero, zero
                return g * g * (curv(act, y) * r2 + ss) * prec, zero
            if part == 1:
                return g * ((one - two * y) * r2 + ss), zero
            if part == 2:
                return g * (y - half) * r2, zero
            return g * ((half - y) * r2 + ss), zero
        # TERM3
        if has_lam:
            mu = lam * g * rs
        elif loss == SQUARED:
            mu = g * rs * prec
        else:
            mu = rs
        return g * mu, d2(act, y) * rs * mu

    return lam_at, grad, elementwise


def _signal_kernel(dtype):
    lam_at, _, elementwise = _pieces(dtype)

    def signal(kind, loss, act, y, T, RS, SS, lam, D, D2, prec, inv_n, part, has_lam):
        """Element-wise signals (``squared``, ``bce``): ``D`` and, for TERM3, ``D2 = R(D)``,
        both times ``inv_n``.  Arrays a kind does not use may be any array of the dtype."""
        m = y.shape[1]
        for e in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            r = e // m
            c = e - r * m
            t = T[r, c] if kind == GRAD or kind == PERTURB else y[r, c]
            rs = RS[r, c] if kind != GRAD else y[r, c]
            ss = SS[r, c] if kind == CONNECTION else y[r, c]
            lv = lam_at(lam, r, c) if has_lam else y[r, c]
            d, rd = elementwise(kind, loss, act, y[r, c], t, rs, ss, lv, prec, part, has_lam)
            D[r, c] = d * inv_n
            if kind == TERM3:
                D2[r, c] = rd * inv_n

    return signal


def _row_signal_kernel(dtype):
    f = device_functions(dtype)
    zero, half = f.zero, f.half
    lam_at, grad, _ = _pieces(dtype)

    def row_signal(kind, loss, act, y, T, RS, SS, lam, D, D2, prec, inv_n, part, has_lam):
        """Row signals, one thread per example: every ``softmax_ce`` signal, and EMPIRICAL for
        every loss (same arguments as the element-wise kernel)."""
        m = y.shape[1]
        for r in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
            tsum = zero
            if kind == GRAD or kind == PERTURB or kind == EMPIRICAL:
                for c in range(m):
                    tsum += T[r, c]
            if kind == EMPIRICAL:
                dot = zero
                for c in range(m):
                    dot += grad(loss, act, y[r, c], T[r, c], prec, tsum) * RS[r, c]
                for c in range(m):
                    D[r, c] = grad(loss, act, y[r, c], T[r, c], prec, tsum) * dot * inv_n
                continue
            # softmax_ce: ⟨y, R(s)⟩, then the vector h to which J = diag(y) − y yᵀ applies.
            yr = zero
            if kind != GRAD:
                for c in range(m):
                    yr += y[r, c] * RS[r, c]
            if kind == GRAD:
                for c in range(m):
                    D[r, c] = (y[r, c] * tsum - T[r, c]) * inv_n
                continue
            if kind == TERM3:
                # μ = r̃ or λ y r̃ (r̃ = R(s) − ⟨y, R(s)⟩); D = J μ; R(D) = R(J) μ with
                # R(J) μ = R(y) ⊙ (μ − ⟨y, μ⟩) − y ⟨R(y), μ⟩, R(y) = y r̃.
                ymu = zero
                rymu = zero
                for c in range(m):
                    rt = RS[r, c] - yr
                    mu = lam_at(lam, r, c) * y[r, c] * rt if has_lam else rt
                    ymu += y[r, c] * mu
                    rymu += y[r, c] * rt * mu
                for c in range(m):
                    rt = RS[r, c] - yr
                    mu = lam_at(lam, r, c) * y[r, c] * rt if has_lam else rt
                    D[r, c] = y[r, c] * (mu - ymu) * inv_n
                    D2[r, c] = (y[r, c] * rt * (mu - ymu) - y[r, c] * rymu) * inv_n
                continue
            # FISHER, PERTURB: h = R(s); CONNECTION: h = S(s) + ½ r̃² (parts: S(s) + r̃², −½ r̃²).
            yh = zero
            for c in range(m):
                h = RS[r, c]
                if kind == CONNECTION:
                    rt = h - yr
                    if part == 0:
                        h = SS[r, c] + half * rt * rt
                    elif part == 1:
                        h = SS[r, c] + rt * rt
                    else:
                        h = -half * rt * rt
                yh += y[r, c] * h
            for c in range(m):
                h = RS[r, c]
                if kind == CONNECTION:
                    rt = h - yr
                    if part == 0:
                        h = SS[r, c] + half * rt * rt
                    elif part == 1:
                        h = SS[r, c] + rt * rt
                    else:
                        h = -half * rt * rt
                d = y[r, c] * (h - yh)
                if kind == PERTURB:
                    d += y[r, c] * tsum - T[r, c]
                D[r, c] = d * inv_n

    return row_signal


def _softmax_kernel(dtype):
    zero = device_functions(dtype).zero

    def softmax(s, y):
        """``y = softmax(s)`` per row, the row maximum subtracted first."""
        m = s.shape[1]
        for r in range(cuda.grid(1), s.shape[0], cuda.gridsize(1)):
            top = s[r, 0]
            for c in range(1, m):
                top = max(top, s[r, c])
            total = zero
            for c in range(m):
                e = math.exp(s[r, c] - top)
                y[r, c] = e
                total += e
            for c in range(m):
                y[r, c] /= total

    return softmax


def _row_stats_kernel(dtype):
    zero, one = device_functions(dtype).zero, device_functions(dtype).one

    def row_stats(kind, s, y, T, out):
        """Per example: ROW_LOSS ``(Σt)·logsumexp(s) − ⟨t, s⟩``; ROW_ERROR 1 if the first
        largest output is not at the first largest target, else 0; ROW_GAP ``|Σ_j t_j − 1|``."""
        m = T.shape[1]
        for r in range(cuda.grid(1), T.shape[0], cuda.gridsize(1)):
            if kind == ROW_GAP:
                total = zero
                for c in range(m):
                    total += T[r, c]
                out[r] = abs(total - one)
            elif kind == ROW_ERROR:
                iy = 0
                it = 0
                for c in range(1, m):
                    if y[r, c] > y[r, iy]:
                        iy = c
                    if T[r, c] > T[r, it]:
                        it = c
                out[r] = one if iy != it else zero
            else:
                top = s[r, 0]
                for c in range(1, m):
                    top = max(top, s[r, c])
                total = zero
                tsum = zero
                ts = zero
                for c in range(m):
                    total += math.exp(s[r, c] - top)
                    tsum += T[r, c]
                    ts += T[r, c] * s[r, c]
                out[r] = tsum * (top + math.log(total)) - ts

    return row_stats


def _vjp_kernel(dtype):
    d1 = device_functions(dtype).d1

    def vjp(G, A, act):
        """``G *= φ'(A)`` in place (``A`` the layer's output)."""
        m = G.shape[1]
        for e in range(cuda.grid(1), G.size, cuda.gridsize(1)):
            r = e // m
            c = e - r * m
            G[r, c] *= d1(act, A[r, c])

    return vjp


def _rvjp_kernel(dtype):
    f = device_functions(dtype)
    d1, d2 = f.d1, f.d2

    def rvjp(DA, RDA, A, RS, act):
        """One step of Algorithm 3 below a layer, in place: ``RDA = φ' RDA + φ'' R(s) DA`` and
        ``DA = φ' DA`` (the new ``R(D(s))`` and ``D(s)``)."""
        m = DA.shape[1]
        for e in range(cuda.grid(1), DA.size, cuda.gridsize(1)):
            r = e // m
            c = e - r * m
            a = A[r, c]
            g = d1(act, a)
            da = DA[r, c]
            RDA[r, c] = g * RDA[r, c] + d2(act, a) * RS[r, c] * da
            DA[r, c] = g * da

    return rvjp


def _square_kernel(dtype):
    def square(X, Y):
        """``Y = X ⊙ X`` (2-D)."""
        m = X.shape[1]
        for e in range(cuda.grid(1), X.size, cuda.gridsize(1)):
            r = e // m
            c = e - r * m
            Y[r, c] = X[r, c] * X[r, c]

    return square


def _colsum_kernels(dtype, threads):
    """Column sums of an ``n × m`` matrix (and of its squares), deterministic.

    Stage 1: blocks of ``cw × ch`` threads, ``cw`` consecutive columns (coalesced rows) by
    ``ch`` row lanes; ``gridDim.y`` blocks share the rows, interleaved, and each writes its
    partial sums to ``P[:, blockIdx.y, :]``.  Stage 2 adds the partials in order.
    """
    cw = min(32, threads)
    ch = threads // cw
    nbt = from_dtype(dtype)
    zero = device_functions(dtype).zero

    def colsum_partial(D, P, squares):
        n = D.shape[0]
        m = D.shape[1]
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        c = cuda.blockIdx.x * cw + tx
        s = zero
        q = zero
        if c < m:
            for r in range(cuda.blockIdx.y * ch + ty, n, cuda.gridDim.y * ch):
                v = D[r, c]
                s += v
                if squares:
                    q += v * v
        sh = cuda.shared.array((2, ch, cw), nbt)
        sh[0, ty, tx] = s
        sh[1, ty, tx] = q
        cuda.syncthreads()
        if ty == 0 and c < m:
            for y in range(1, ch):
                s += sh[0, y, tx]
                q += sh[1, y, tx]
            P[0, cuda.blockIdx.y, c] = s
            P[1, cuda.blockIdx.y, c] = q

    def colsum_final(P, out, out_sq, scale, squares):
        """``out = Σ_b P[0, b]``; with ``squares`` also ``out_sq = scale · Σ_b P[1, b]``."""
        for c in range(cuda.grid(1), P.shape[2], cuda.gridsize(1)):
            s = zero
            q = zero
            for b in range(P.shape[1]):
                s += P[0, b, c]
                q += P[1, b, c]
            out[c] = s
            if squares:
                out_sq[c] = scale * q

    return colsum_partial, colsum_final


@functools.lru_cache(maxsize=None)
def signal_kernels(dtype, tuning):
    """The CUDA dispatchers of this module for ``dtype`` and ``tuning``."""
    dtype = np.dtype(dtype)
    partial, final = _colsum_kernels(dtype, tuning.threads)
    makers = {
        "signal": _signal_kernel,
        "row_signal": _row_signal_kernel,
        "softmax": _softmax_kernel,
        "row_stats": _row_stats_kernel,
        "vjp": _vjp_kernel,
        "rvjp": _rvjp_kernel,
        "square": _square_kernel,
    }
    kernels = {name: cuda.jit(make(dtype)) for name, make in makers.items()}
    kernels["colsum_partial"] = cuda.jit(partial)
    kernels["colsum_final"] = cuda.jit(final)
    return kernels


def signal_signatures(dtype):
    """Argument types of :func:`signal_kernels`' kernels, for PTX tests."""
    t = from_dtype(np.dtype(dtype))
    m2, m3, v = t[:, ::1], t[:, :, ::1], t[::1]
    sig = (int64, int64, int64, m2, m2, m2, m2, m2, m2, m2, t, t, int64, int64)
    return {
        "signal": sig,
        "row_signal": sig,
        "softmax": (m2, m2),
        "row_stats": (int64, m2, m2, m2, v),
        "vjp": (m2, m2, int64),
        "rvjp": (m2, m2, m2, m2, int64),
        "square": (m2, m2),
        "colsum_partial": (m2, m3, int64),
        "colsum_final": (m3, v, v, t, int64),
    }


class Signals:
    """Launches this module's kernels with the geometry of one tuning.

    Parameters
    ----------
    dtype : numpy.dtype
    tuning : Tuning
    """

    def __init__(self, dtype, tuning):
        self.dtype = np.dtype(dtype)
        self.tuning = tuning
        self.kernels = signal_kernels(self.dtype, tuning)
        self._cap = tuning.max_blocks * sm_count()

    def _grid(self, work):
        threads = self.tuning.threads
        return min(max(1, math.ceil(work / threads)), self._cap), threads

    def output(self, kind, loss, act, y, T, RS, SS, lam, D, D2, prec, inv_n, part=0):
        """Write the output signal ``kind`` (module table) into ``D`` (and ``D2``); arrays a
        kind does not read may be ``None``."""
        t = self.dtype.type
        fill = y
        args = (T, RS, SS)
        T, RS, SS = (fill if a is None else a for a in args)
        has_lam = lam is not None
        lam = fill if lam is None else lam
        D2 = D if D2 is None else D2
        rows = loss == SOFTMAX_CE or kind == EMPIRICAL
        name = "row_signal" if rows else "signal"
        grid = self._grid(y.shape[0] if rows else y.size)
        self.kernels[name][grid](kind, loss, act, y, T, RS, SS, lam, D, D2, t(prec), t(inv_n), part, int(has_lam))

    def softmax(self, s, y):
        self.kernels["softmax"][self._grid(s.shape[0])](s, y)

    def row_stats(self, kind, s, y, T, out):
        self.kernels["row_stats"][self._grid(T.shape[0])](kind, s, y, T, out)

    def vjp(self, G, A, act):
        self.kernels["vjp"][self._grid(G.size)](G, A, act)

    def rvjp(self, DA, RDA, A, RS, act):
        self.kernels["rvjp"][self._grid(DA.size)](DA, RDA, A, RS, act)

    def square(self, X, Y):
        self.kernels["square"][self._grid(X.size)](X, Y)

    def colsum(self, D, out, P, out_sq=None, scale=1.0):
        """``out = Σ_rows D``; with ``out_sq``, also ``out_sq = scale · Σ_rows D²``.

        ``P`` is scratch of at least ``2 · blocks · m`` entries (:meth:`colsum_scratch`).
        """
        n, m = D.shape
        blocks = self.colsum_blocks(n)
        cw = min(32, self.tuning.threads)
        ch = self.tuning.threads // cw
        P = view(P, 0, (2, blocks, m))
        squares = int(out_sq is not None)
        self.kernels["colsum_partial"][(math.ceil(m / cw), blocks), (cw, ch)](D, P, squares)
        out_sq = out if out_sq is None else out_sq
        self.kernels["colsum_final"][self._grid(m)](P, out, out_sq, self.dtype.type(scale), squares)

    def colsum_blocks(self, n):
        """Row blocks of :meth:`colsum`: each row lane sums about eight rows, at most 128 blocks."""
        ch = self.tuning.threads // min(32, self.tuning.threads)
        return max(1, min(math.ceil(n / (8 * ch)), 128))
