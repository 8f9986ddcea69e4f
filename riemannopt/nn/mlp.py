"""Fully connected networks: the object that validates inputs and dispatches to a backend."""

import numbers

import numpy as np

from riemannopt._checks import as_float_array, check_finite
from riemannopt.errors import InputError, MethodError, ShapeError
from riemannopt.nn.activations import get_activation
from riemannopt.nn.backends import get_backend
from riemannopt.nn.losses import make_loss

__all__ = ["MLP", "Linearization"]


class MLP:
    """A fully connected network with a probabilistic loss (paper §5).

    Layer ``i`` computes ``s_i = a_{i−1} @ W_iᵀ + b_i`` and ``a_i = φ_i(s_i)`` with ``a_0 = X``;
    rows of ``X`` are examples.  The outputs ``y = a_l`` parameterize ``p(t | y)`` and the loss is
    the mean over examples of ``−log p(t | y)``; its Fisher information is the generalized
    Gauss-Newton matrix (Martens, *New perspectives on the natural gradient method*, §8), and
    :meth:`connection_vp` gives the Levi-Civita connection product ``Γ_first(v, v)`` of
    Proposition 2.

    θ is one flat vector holding, layer after layer, ``W_i`` (shape ``(n_out, n_in)``, row-major)
    then ``b_i``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[n_0, n_1, ..., n_l]`` (input width first), at least two.
    activations : sequence of str
        ``l`` names among ``"sigmoid"``, ``"tanh"``, ``"linear"``, ``"softmax"`` (output only).
    loss : {"squared", "bce", "softmax_ce"}
        ``squared``: ``½‖t − y‖²/σ²`` (output sigmoid, tanh or linear); ``bce``: binary
        cross-entropy (output sigmoid); ``softmax_ce``: multi-class cross-entropy (output softmax).
    sigma : float, optional
        σ of the ``squared`` loss (default 1).
    backend : {"numpy", "cuda"}, optional
        Where the products are computed.  ``"cuda"`` is not available yet.
    dtype : {numpy.float64, numpy.float32}, optional
        Floating-point type of θ and of every computation (float32 for speed).

    Raises
    ------
    ShapeError
        Bad ``sizes`` or a number of activations other than ``len(sizes) − 1``.
    MethodError
        Unknown activation, loss, backend or dtype; softmax on a hidden layer; an output
        activation the loss does not allow.
    """

    def __init__(self, sizes, activations, loss, *, sigma=1.0, backend="numpy", dtype=np.float64):
        sizes = tuple(sizes)
        if len(sizes) < 2 or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in sizes
        ):
            raise ShapeError(f"sizes must be at least two positive integers, got {sizes!r}")
        if isinstance(activations, str) or len(activations) != len(sizes) - 1:
            raise ShapeError(
                f"need one activation name per layer ({len(sizes) - 1} for sizes {sizes}), "
                f"got {activations!r}"
            )
        acts = [get_activation(name) for name in activations]
        for i, act in enumerate(acts[:-1]):
            if not act.elementwise:
                raise MethodError(f"{act.name} is allowed on the output layer only (layer {i + 1})")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise MethodError(f"dtype must be float32 or float64, got {dtype}")
        self._loss = make_loss(loss, acts[-1], sigma)
        self._backend = get_backend(backend)
        self._acts = acts
        self.sizes = tuple(int(n) for n in sizes)
        self.activations = tuple(act.name for act in acts)
        self.loss_name = loss
        self.sigma = float(sigma)
        self.backend = backend
        self.dtype = dtype
        self.shapes = [((n_out, n_in), (n_out,)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.n_params = sum(n_out * n_in + n_out for (n_out, n_in), _ in self.shapes)

    def __repr__(self):
        return (
            f"MLP(sizes={list(self.sizes)}, activations={list(self.activations)}, "
            f"loss={self.loss_name!r}, backend={self.backend!r}, dtype={self.dtype.name})"
        )

    # -- parameters ---------------------------------------------------------------------------

    def unflatten(self, theta):
        """``[(W_1, b_1), ..., (W_l, b_l)]`` as views into ``theta`` (no copy).

        Raises
        ------
        ShapeError
            If ``theta`` is not a vector of length :attr:`n_params`.
        """
        return self._views(self._vector(theta, "theta", finite=False))

    def flatten(self, params):
        """The flat vector of ``params = [(W_1, b_1), ...]`` (inverse of :meth:`unflatten`).

        Raises
        ------
        ShapeError
            If the number of layers or any block's shape does not match the network.
        """
        params = list(params)
        if len(params) != len(self.shapes):
            raise ShapeError(f"expected {len(self.shapes)} (W, b) pairs, got {len(params)}")
        theta = np.empty(self.n_params, dtype=self.dtype)
        for i, ((W, b), (gW, gb), shapes) in enumerate(zip(params, self._views(theta), self.shapes)):
            for name, block, view, shape in (("W", W, gW, shapes[0]), ("b", b, gb, shapes[1])):
                block = np.asarray(block)
                if block.shape != shape:
                    raise ShapeError(f"layer {i + 1}: {name} has shape {block.shape}, expected {shape}")
                view[...] = block
        return theta

    def init(self, seed=0, scheme="sparse", *, n_nonzero=15, scale=None):
        """Random initial parameters.

        Parameters
        ----------
        seed : int or numpy.random.Generator
        scheme : {"sparse", "gaussian"}
            ``"sparse"`` (Martens 2010): each unit gets ``min(n_nonzero, n_in)`` non-zero
            incoming weights at random positions, drawn from ``N(0, scale²)`` (``scale``
            default 1); ``"gaussian"``: every weight from ``N(0, scale²)`` (default
            ``scale = 1/√n_in``).  Biases are 0.
        n_nonzero : int
            Non-zero incoming weights per unit of the sparse scheme.

        Returns
        -------
        ndarray
            θ, of length :attr:`n_params` and type :attr:`dtype`.
        """
        rng = np.random.default_rng(seed)
        theta = np.zeros(self.n_params, dtype=self.dtype)
        for W, _ in self._views(theta):
            n_out, n_in = W.shape
            if scheme == "sparse":
                k = min(n_nonzero, n_in)
                cols = np.argsort(rng.random((n_out, n_in)), axis=1)[:, :k]
                std = 1.0 if scale is None else scale
                W[np.arange(n_out)[:, None], cols] = rng.normal(0.0, std, (n_out, k))
            elif scheme == "gaussian":
                W[...] = rng.normal(0.0, 1.0 / np.sqrt(n_in) if scale is None else scale, W.shape)
            else:
                raise MethodError(f"unknown init scheme {scheme!r}; expected 'sparse' or 'gaussian'")
        return theta

    # -- products -----------------------------------------------------------------------------

    def linearize(self, theta, X):
        """Run the forward pass once and keep it for many products at the same (θ, X).

        Returns
        -------
        Linearization
            With ``.loss(T)``, ``.gradient(T)``, ``.fisher_vp(v)``, ``.connection_vp(v)``,
            ``.connection_terms(v)``, ``.term3(v)`` and the outputs ``.y``.
        """
        # A copy, so that updating θ in place cannot desynchronize the stored forward pass.
        params = self._views(self._vector(theta, "theta").copy())
        X = self._inputs(X)
        return Linearization(self, params, self._backend.forward(params, self._acts, X))

    def predict(self, theta, X):
        """The network outputs ``y`` (after the final activation), one row per example."""
        return self.linearize(theta, X).y

    def loss(self, theta, X, T):
        """Mean over the rows of ``X`` of ``−log p(t | y)`` (see the class docstring)."""
        return self.linearize(theta, X).loss(T)

    def gradient(self, theta, X, T):
        """Gradient of :meth:`loss` with respect to θ."""
        return self.linearize(theta, X).gradient(T)

    def fisher_vp(self, theta, X, v):
        """Fisher-vector product ``F(θ) v`` averaged over the rows of ``X`` (no targets needed)."""
        return self.linearize(theta, X).fisher_vp(v)

    def connection_vp(self, theta, X, v):
        """Connection-vector product ``Γ_first(v, v)`` (Prop. 2) averaged over the rows of ``X``."""
        return self.linearize(theta, X).connection_vp(v)

    def connection_terms(self, theta, X, v):
        """Terms 1 (Alg. 1) and 2 (Alg. 2) of ``Γ_first(v, v)``, each averaged over the rows."""
        return self.linearize(theta, X).connection_terms(v)

    def term3(self, theta, X, v, lam=None):
        """``E_x Σ_i λ_i ∂_ν ∂_α y_i ∂_β y_i v^α v^β`` (Alg. 3, Appendix F); ``λ`` defaults to ``c1``."""
        return self.linearize(theta, X).term3(v, lam)

    # -- validation ---------------------------------------------------------------------------

    def _views(self, theta):
        views, k = [], 0
        for shape_W, (n_out,) in self.shapes:
            size = shape_W[0] * shape_W[1]
            views.append((theta[k:k + size].reshape(shape_W), theta[k + size:k + size + n_out]))
            k += size + n_out
        return views

    def _vector(self, x, name, finite=True):
        x = as_float_array(x, name, self.dtype)
        if x.shape != (self.n_params,):
            raise ShapeError(f"{name} must have shape ({self.n_params},) for {self!r}, got {x.shape}")
        return check_finite(x, name) if finite else x

    def _inputs(self, X):
        X = as_float_array(X, "X", self.dtype)
        if X.ndim != 2 or X.shape[1] != self.sizes[0] or X.shape[0] == 0:
            raise ShapeError(
                f"X must have shape (n_examples >= 1, {self.sizes[0]}) (one example per row), got {X.shape}"
            )
        return check_finite(X, "X")

    def _targets(self, T, n):
        n_out = self.sizes[-1]
        T = np.asarray(T)
        if T.dtype == object or not (np.issubdtype(T.dtype, np.number) or T.dtype == bool):
            raise InputError(f"targets T must be numeric, got an array of dtype {T.dtype}")
        if self.loss_name == "softmax_ce" and T.ndim == 1 and np.issubdtype(T.dtype, np.integer):
            if T.shape[0] != n:
                raise ShapeError(f"got {T.shape[0]} integer labels for {n} examples")
            if T.min() < 0 or T.max() >= n_out:
                raise ShapeError(f"integer labels must lie in [0, {n_out}), got [{T.min()}, {T.max()}]")
            onehot = np.zeros((n, n_out), dtype=self.dtype)
            onehot[np.arange(n), T] = 1
            return onehot
        if T.shape != (n, n_out):
            accepted = f"({n}, {n_out})"
            if self.loss_name == "softmax_ce":
                accepted += f" or integer labels ({n},)"
            raise ShapeError(
                f"targets T must have shape {accepted} for loss {self.loss_name!r}, got {T.shape}"
            )
        T = check_finite(T.astype(self.dtype, copy=False), "T")
        if self.loss_name == "bce" and (T.min() < 0 or T.max() > 1):
            bad = np.unravel_index(np.argmax((T < 0) | (T > 1)), T.shape)
            raise InputError(f"bce targets T must lie in [0, 1], but T[{bad[0]}, {bad[1]}] = {T[bad]}")
        if self.loss_name == "softmax_ce":
            tol = np.sqrt(np.finfo(self.dtype).eps) * n_out
            sums = T.sum(axis=1)
            bad_rows = np.flatnonzero((T < 0).any(axis=1) | (np.abs(sums - 1) > tol))
            if bad_rows.size:
                i = int(bad_rows[0])
                raise InputError(
                    f"softmax_ce targets T must be distributions (rows >= 0 summing to 1), "
                    f"but row {i} = {T[i]} sums to {sums[i]:.6g}"
                )
        return T


class Linearization:
    """A forward pass of an :class:`MLP` at fixed (θ, X), reused by every product.

    Truncated CG calls the Fisher-vector product many times at one θ; each call here costs only
    the R forward pass and the backward pass.  Made by :meth:`MLP.linearize`, which keeps a copy
    of θ but not of ``X`` (do not modify ``X`` in place while the linearization is in use).

    Attributes
    ----------
    net : MLP
    y : ndarray
        The network outputs, one row per example.
    """

    def __init__(self, net, params, fwd):
        self.net = net
        self._params = params
        self._fwd = fwd

    @property
    def y(self):
        return self._fwd.y

    def _call(self, name, *args):
        net = self.net
        return getattr(net._backend, name)(self._params, net._acts, net._loss, self._fwd, *args)

    def _direction(self, v):
        return self.net._views(self.net._vector(v, "v"))

    def loss(self, T):
        """Mean ``−log p(t | y)`` over the examples."""
        return self._call("loss", self.net._targets(T, len(self.y)))

    def gradient(self, T):
        """Gradient of :meth:`loss` with respect to θ (flat)."""
        return self._call("gradient", self.net._targets(T, len(self.y)))

    def fisher_vp(self, v):
        """``F v`` with ``F = E_x J_sᵀ F_s J_s`` the Fisher (= generalized Gauss-Newton) matrix."""
        return self._call("fisher_vp", self._direction(v))

    def connection_vp(self, v):
        """``Γ_first(v, v)`` (Prop. 2): one R/S forward pass and one backward pass."""
        return self._call("connection_vp", self._direction(v))

    def connection_terms(self, v):
        """``(term1, term2)`` of ``Γ_first(v, v)`` (Algorithms 1 and 2); they sum to :meth:`connection_vp`."""
        return self._call("connection_terms", self._direction(v))

    def term3(self, v, lam=None):
        """``E_x Σ_i λ_i ∂_ν ∂_α y_i ∂_β y_i v^α v^β`` (Algorithm 3).

        Parameters
        ----------
        lam : array_like or None
            ``λ``, broadcastable to the outputs' shape ``(n_examples, n_out)``; ``None`` uses
            the loss's ``c1`` (``1/σ²``, ``1/(y(1−y))`` or ``1/y``).
        """
        if lam is not None:
            lam = check_finite(as_float_array(lam, "lam", self.net.dtype), "lam")
            try:
                fits = np.broadcast_shapes(lam.shape, self.y.shape) == self.y.shape
            except ValueError:
                fits = False
            if not fits:
                raise ShapeError(
                    f"lam of shape {lam.shape} does not broadcast to the outputs' shape {self.y.shape}"
                )
        return self._call("term3", self._direction(v), lam)
