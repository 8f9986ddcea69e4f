r"""Output-layer signals, element-wise backward kernels and bias reductions.

Every product starts its backward pass at the output pre-activation ``s`` with a signal
``D(s)`` (one row per example, already divided by the number of examples ``n``), computed in
the stable forms of :mod:`riemannopt.nn.losses`, which cancel the ``1/(y(1−y))`` and ``1/y²``
of ``c1``, ``c2`` analytically.  The kernels are built for one loss class from its compiled
forms (:func:`loss_kernels`), and know no loss by name.  For an element-wise loss
(:meth:`~riemannopt.nn.losses.Loss.scalar`; ``g = φ'(s)``, ``k = φ''(s)/φ'(s)`` of the output
activation, ``c = signal_scale / n``) one thread per entry computes:

=====================  =====================================================================
signal (``kind``)      ``D`` (and ``R(D)``)
=====================  =====================================================================
:data:`GRAD`           ``grad(y, t, g, c)``
:data:`FISHER`         ``fisher(y, R(s), g, c)``
:data:`CONNECTION`     ``fisher(y, h, g, c)``: ``h = connection(y, R(s), g, k) + S(s)``;
                       ``part`` 1 (Algorithm 1) ``h = k R(s)² + S(s)``; ``part`` 2
                       (Algorithm 2) ``h = term2(y, R(s), g, k)``
:data:`PERTURB`        GRAD + FISHER
:data:`TERM3`          ``μ = natural(y, R(s), g, 1/σ²)`` or ``λ g R(s)``; ``D = g μ / n``,
                       ``R(D) = φ'' R(s) μ / n``
=====================  =====================================================================

A row-wise loss (:meth:`~riemannopt.nn.losses.Loss.rows`: ``softmax_ce``) needs row sums, so its
:func:`row kernel <_rows_kernel>` runs one thread per example and calls the loss's row functions
for every kind.  The empirical-Fisher signal ``δ ⟨δ, R(s)⟩`` (``δ`` the GRAD signal times
``1/σ²``) is a row kernel for every loss.  The loss itself is summed by :func:`_value_kernel`.

The backward pass then needs, per layer, ``D(b) = Σ_rows D(s)`` (:func:`column sums
<_colsum_kernels>`, in a fixed order across blocks), ``D(s_{i−1}) = φ'(a) ⊙ D(a)``
(:data:`vjp <_vjp_kernel>`, fused into the own NN GEMM otherwise) and, for the R-operator of
Algorithm 3, ``R(D(s)) = φ' ⊙ R(D(a)) + φ'' ⊙ R(s) ⊙ D(a)`` (:func:`_rvjp_kernel`).
"""

import functools
import math

import numpy as np
from numba import cuda, float64, from_dtype, int64

from riemannopt.nn.backends.cuda.config import sm_count
from riemannopt.nn.backends.cuda.device import device, device_functions
from riemannopt.nn.backends.cuda.vectors import partial_sum_kernel, view

__all__ = [
    "GRAD",
    "FISHER",
    "CONNECTION",
    "PERTURB",
    "TERM3",
    "EMPIRICAL",
    "ROW_ERROR",
    "ROW_GAP",
    "Signals",
    "signal_kernels",
    "signal_signatures",
    "loss_kernels",
    "loss_signatures",
    "activation_kernels",
    "activation_signatures",
]

GRAD, FISHER, CONNECTION, PERTURB, TERM3, EMPIRICAL = 0, 1, 2, 3, 4, 5
#: Row statistics: misclassification, ``|Σ_j t_j − 1|``.
ROW_ERROR, ROW_GAP = 1, 2


def _compiled_forms(forms):
    """Each function of a compiled-forms namespace as a device function."""
    return type(forms)(**{name: device(fn) for name, fn in vars(forms).items()})


def _entry_kernel(dtype, forms):
    """The signals of an element-wise loss, one thread per entry (module table)."""
    f = device_functions(dtype)
    d1, curv = f.d1, f.curv
    grad, fisher, connection, term2, natural = forms.grad, forms.fisher, forms.connection, forms.term2, forms.natural

    def signal(kind, act, y, T, RS, SS, lam, D, D2, scale, prec, inv_n, part, has_lam):
        """``D`` and, for TERM3, ``D2 = R(D)``.  Arrays a kind does not use may be any array of
        the dtype; ``lam`` is broadcast from shape ``(1 or n, 1 or n_out)``."""
        m = y.shape[1]
        for e in range(cuda.grid(1), y.size, cuda.gridsize(1)):
            r = e // m
            c = e - r * m
            v = y[r, c]
            g = d1(act, v)
            if kind == GRAD:
                d = grad(v, T[r, c], g, scale)
            elif kind == FISHER:
                d = fisher(v, RS[r, c], g, scale)
            elif kind == PERTURB:
                d = fisher(v, RS[r, c], g, scale) + grad(v, T[r, c], g, scale)
            elif kind == CONNECTION:
                rs = RS[r, c]
                k = curv(act, v)
                if part == 0:
                    h = connection(v, rs, g, k) + SS[r, c]
                elif part == 1:
                    h = k * rs * rs + SS[r, c]
                else:
                    h = term2(v, rs, g, k)
                d = fisher(v, h, g, scale)
            else:  # TERM3
                rs = RS[r, c]
                if has_lam:
                    mu = lam[r if lam.shape[0] > 1 else 0, c if lam.shape[1] > 1 else 0] * g * rs
                else:
                    mu = natural(v, rs, g, prec)
                d = g * mu * inv_n
                D2[r, c] = g * curv(act, v) * rs * mu * inv_n
            D[r, c] = d

    return signal


def _rows_kernel(dtype, forms, rowwise):
    """One thread per example: every signal of a row-wise loss, EMPIRICAL of an element-wise one
    (same arguments as the element-wise kernel)."""
    f = device_functions(dtype)
    zero, d1 = f.zero, f.d1
    grad = forms.grad

    if rowwise:
        fisher, connection, term3 = forms.fisher, forms.connection, forms.term3

        def rows(kind, act, y, T, RS, SS, lam, D, D2, scale, prec, inv_n, part, has_lam):
            m = y.shape[1]
            for r in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
                if kind == GRAD:
                    grad(y, T, r, scale, D)
                elif kind == FISHER:
                    fisher(y, RS, r, scale, D)
                elif kind == PERTURB:
                    fisher(y, RS, r, scale, D)
                    grad(y, T, r, scale, D2)
                    for c in range(m):
                        D[r, c] += D2[r, c]
                elif kind == CONNECTION:
                    connection(y, RS, SS, 1, part, r, scale, D)
                elif kind == TERM3:
                    term3(y, RS, lam, has_lam, r, prec, inv_n, D, D2)
                else:  # EMPIRICAL: δ ⟨δ, R(s)⟩ / n
                    grad(y, T, r, prec, D)
                    dot = zero
                    for c in range(m):
                        dot += D[r, c] * RS[r, c]
                    for c in range(m):
                        D[r, c] = D[r, c] * dot * inv_n

        return rows

    def rows(kind, act, y, T, RS, SS, lam, D, D2, scale, prec, inv_n, part, has_lam):
        m = y.shape[1]
        for r in range(cuda.grid(1), y.shape[0], cuda.gridsize(1)):
            dot = zero
            for c in range(m):
                v = y[r, c]
                delta = grad(v, T[r, c], d1(act, v), prec)
                D[r, c] = delta
                dot += delta * RS[r, c]
            for c in range(m):
                D[r, c] = D[r, c] * dot * inv_n

    return rows


def _value_kernel(dtype, threads, forms64, forms, rowwise):
    """The loss over :attr:`~riemannopt.nn.losses.Loss.value_scale`: per row into ``out``
    (row-wise), or partial sums over blocks of the entries in float64 (element-wise: then
    :func:`~riemannopt.nn.backends.cuda.vectors.partial_sum_kernel` of the loss's ``value``)."""
    if not rowwise:
        return partial_sum_kernel(threads, forms64.value)
    value = forms.value

    def row_values(s, y, T, out):
        for r in range(cuda.grid(1), T.shape[0], cuda.gridsize(1)):
            out[r] = value(s, y, T, r)

    return row_values


def _activate_rows_kernel(dtype, forms):
    value = forms.value

    def activate_rows(s, y):
        """``y = φ(s)`` per row (a row-wise output activation: the softmax)."""
        for r in range(cuda.grid(1), s.shape[0], cuda.gridsize(1)):
            value(s, y, r)

    return activate_rows


def _row_stats_kernel(dtype):
    zero, one = device_functions(dtype).zero, device_functions(dtype).one

    def row_stats(kind, y, T, out):
        """Per example: ROW_ERROR 1 if the first largest output is not at the first largest
        target, else 0; ROW_GAP ``|Σ_j t_j − 1|``."""
        m = T.shape[1]
        for r in range(cuda.grid(1), T.shape[0], cuda.gridsize(1)):
            if kind == ROW_GAP:
                total = zero
                for c in range(m):
                    total += T[r, c]
                out[r] = abs(total - one)
            else:
                iy = 0
                it = 0
                for c in range(1, m):
                    if y[r, c] > y[r, iy]:
                        iy = c
                    if T[r, c] > T[r, it]:
                        it = c
                out[r] = one if iy != it else zero

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
    """The CUDA dispatchers of this module that serve every loss, for ``dtype`` and ``tuning``."""
    dtype = np.dtype(dtype)
    partial, final = _colsum_kernels(dtype, tuning.threads)
    makers = {
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
    return {
        "row_stats": (int64, m2, m2, v),
        "vjp": (m2, m2, int64),
        "rvjp": (m2, m2, m2, m2, int64),
        "square": (m2, m2),
        "colsum_partial": (m2, m3, int64),
        "colsum_final": (m3, v, v, t, int64),
    }


@functools.lru_cache(maxsize=None)
def loss_kernels(dtype, tuning, loss):
    """The CUDA dispatchers of the loss class ``loss`` (:mod:`riemannopt.nn.losses`) for
    ``dtype`` and ``tuning``: ``"rows"`` (the row kernel), ``"value"`` (its sum) and, for an
    element-wise loss, ``"signal"`` (the entry kernel)."""
    dtype = np.dtype(dtype)
    if loss.rowwise:
        forms = _compiled_forms(loss.rows(dtype.type))
        forms64 = None
    else:
        forms = _compiled_forms(loss.scalar(dtype.type))
        forms64 = _compiled_forms(loss.scalar(np.float64))
    kernels = {
        "rows": cuda.jit(_rows_kernel(dtype, forms, loss.rowwise)),
        "value": cuda.jit(_value_kernel(dtype, tuning.threads, forms64, forms, loss.rowwise)),
    }
    if not loss.rowwise:
        kernels["signal"] = cuda.jit(_entry_kernel(dtype, forms))
    return kernels


def loss_signatures(dtype, loss):
    """Argument types of :func:`loss_kernels`' kernels, for PTX tests."""
    t = from_dtype(np.dtype(dtype))
    m2, v = t[:, ::1], t[::1]
    sig = (int64, int64, m2, m2, m2, m2, m2, m2, m2, t, t, t, int64, int64)
    out = {"rows": sig}
    if loss.rowwise:
        out["value"] = (m2, m2, m2, v)
    else:
        out["signal"] = sig
        out["value"] = (v, v, v, float64[:, ::1])
    return out


@functools.lru_cache(maxsize=None)
def activation_kernels(dtype, tuning, act):
    """``{"activate_rows"}`` → the CUDA dispatcher applying the row-wise activation class ``act``
    (:meth:`riemannopt.nn.activations.Softmax.rows`) for ``dtype``."""
    dtype = np.dtype(dtype)
    return {"activate_rows": cuda.jit(_activate_rows_kernel(dtype, _compiled_forms(act.rows(dtype.type))))}


def activation_signatures(dtype, act):
    """Argument types of :func:`activation_kernels`' kernels, for PTX tests."""
    m2 = from_dtype(np.dtype(dtype))[:, ::1]
    return {"activate_rows": (m2, m2)}


class Signals:
    """Launches this module's kernels with the geometry of one tuning.

    Parameters
    ----------
    dtype : numpy.dtype
    tuning : Tuning
    loss : riemannopt.nn.losses.Loss, optional
        The loss (bound to its output activation) whose signals and value :meth:`output` and
        :meth:`value` compute, and whose row-wise output activation :meth:`activate_rows`
        applies.
    """

    def __init__(self, dtype, tuning, loss=None):
        self.dtype = np.dtype(dtype)
        self.tuning = tuning
        self.kernels = dict(signal_kernels(self.dtype, tuning))
        self.loss = loss
        if loss is not None:
            self.kernels.update(loss_kernels(self.dtype, tuning, type(loss)))
            if not loss.act.elementwise:
                self.kernels.update(activation_kernels(self.dtype, tuning, type(loss.act)))
        self._cap = tuning.max_blocks * sm_count()

    def _grid(self, work):
        threads = self.tuning.threads
        return min(max(1, math.ceil(work / threads)), self._cap), threads

    def output(self, kind, act, y, T, RS, SS, lam, D, D2, scale, prec, inv_n, part=0):
        """Write the output signal ``kind`` (module table) into ``D`` (and ``D2``, also scratch
        of PERTURB for a row-wise loss); arrays a kind does not read may be ``None``.  ``act``
        is the output activation's code, ``prec`` the loss's ``signal_scale``, ``scale`` that
        over the number of examples and ``inv_n`` one over it."""
        t = self.dtype.type
        fill = y
        args = (T, RS, SS)
        T, RS, SS = (fill if a is None else a for a in args)
        has_lam = lam is not None
        lam = fill if lam is None else lam
        D2 = D if D2 is None else D2
        rows = self.loss.rowwise or kind == EMPIRICAL
        name = "rows" if rows else "signal"
        grid = self._grid(y.shape[0] if rows else y.size)
        self.kernels[name][grid](kind, act, y, T, RS, SS, lam, D, D2, t(scale), t(prec), t(inv_n), part, int(has_lam))

    def row_values(self, s, y, T, out):
        """``out[i]`` = the row-wise loss's compiled ``value`` of example ``i``."""
        self.kernels["value"][self._grid(T.shape[0])](s, y, T, out)

    def activate_rows(self, s, y):
        """``y = φ(s)`` per row for the row-wise output activation."""
        self.kernels["activate_rows"][self._grid(s.shape[0])](s, y)

    def row_stats(self, kind, y, T, out):
        self.kernels["row_stats"][self._grid(T.shape[0])](kind, y, T, out)

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
