"""Fully connected networks: the object that validates inputs and dispatches to a backend."""

import numpy as np

from riemannopt._checks import check_finite, check_number
from riemannopt.errors import InputError, MethodError, ShapeError
from riemannopt.nn.activations import get_activation
from riemannopt.nn.backends import get_backend
from riemannopt.nn.layout import Layout
from riemannopt.nn.losses import LOSSES, make_loss

__all__ = ["MLP", "Linearization", "float_dtype", "check_seed"]


def float_dtype(dtype, name="dtype"):
    """``dtype`` as ``numpy.dtype`` float32 or float64, else a MethodError naming ``name`` (also
    for what numpy cannot read as a type, e.g. ``"float99"``)."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dtype is None or dt not in (np.float32, np.float64):
        raise MethodError(f"{name} must be float32 or float64, got {dtype if dt is None else dt!r}")
    return dt


def check_seed(seed, name="seed"):
    """A seed of :func:`numpy.random.default_rng`: an integer >= 0 (returned as an int) or a
    ``numpy.random.Generator`` (returned as it is); else an InputError naming ``name``."""
    if isinstance(seed, np.random.Generator):
        return seed
    return check_number(seed, name, integer=True, low=0)


class MLP:
    """A fully connected network with a probabilistic loss (paper §5).

    Layer ``i`` computes ``s_i = a_{i−1} @ W_iᵀ + b_i`` and ``a_i = φ_i(s_i)`` with ``a_0 = X``;
    rows of ``X`` are examples.  The outputs ``y = a_l`` parameterize ``p(t | y)`` and the loss is
    the mean over examples of ``−log p(t | y)``; its Fisher information is the generalized
    Gauss-Newton matrix (Martens, *New perspectives on the natural gradient method*, §8), and
    :meth:`connection_vp` gives the Levi-Civita connection product ``Γ_first(v, v)`` of
    Proposition 2.

    θ is one flat vector holding, layer after layer, ``W_i`` (shape ``(n_out, n_in)``, row-major)
    then ``b_i`` (:class:`~riemannopt.nn.layout.Layout`).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[n_0, n_1, ..., n_l]`` (input width first), at least two.
    activations : sequence of str
        ``l`` keys of :data:`riemannopt.nn.activations.ACTIVATIONS`: ``"sigmoid"``, ``"tanh"``,
        ``"linear"``, ``"softmax"`` (output only, like every activation that is not element-wise).
    loss : str
        A key of :data:`riemannopt.nn.losses.LOSSES`: ``squared``: ``½‖t − y‖²/σ²`` (any
        element-wise output); ``bce``: binary cross-entropy (output sigmoid); ``softmax_ce``:
        multi-class cross-entropy (output softmax).
    sigma : float, optional
        σ of the ``squared`` loss (default 1).
    backend : str, optional
        Where the products are computed, a key of :data:`riemannopt.nn.backends.BACKENDS`:
        ``"numpy"`` (default) or ``"cuda"``.  Arrays passed in are converted once to the
        backend's memory; products return arrays of the backend's type (numpy arrays for
        ``"numpy"``, device arrays for ``"cuda"``; ``net.backend.to_numpy(a)`` copies one to the
        host).
    dtype : {numpy.float64, numpy.float32}, optional
        Floating-point type of θ and of every computation (float32 for speed).
    backend_options : dict, optional
        Options of the backend (see its class).

    Attributes
    ----------
    layout : Layout
        Where each layer's ``W`` and ``b`` sit in θ.
    backend : riemannopt.nn.backends.base.Backend
        The backend instance computing this network's products.
    n_params : int
        Length of θ.

    Raises
    ------
    ShapeError
        Bad ``sizes`` or a number of activations other than ``len(sizes) − 1``.
    MethodError
        Unknown activation, loss, backend or dtype; softmax on a hidden layer; an output
        activation the loss does not allow.
    BackendUnavailableError
        A known backend that cannot run here (its message names what is missing).
    """

    def __init__(self, sizes, activations, loss, *, sigma=1.0, backend="numpy", dtype=np.float64, backend_options=None):
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise ShapeError(f"sizes must be at least two positive integers, got {sizes!r}") from None
        if len(sizes) < 2:
            raise ShapeError(f"sizes must be at least two positive integers, got {sizes!r}")
        for i, n in enumerate(sizes):
            check_number(n, f"sizes[{i}]", integer=True, low=1, cls=ShapeError)
        if isinstance(activations, str) or not hasattr(activations, "__len__") or len(activations) != len(sizes) - 1:
            raise ShapeError(
                f"need one activation name per layer ({len(sizes) - 1} for sizes {sizes}), got {activations!r}"
            )
        acts = [get_activation(name) for name in activations]
        for i, act in enumerate(acts[:-1]):
            if not act.elementwise:
                raise MethodError(f"{act.name} is allowed on the output layer only (layer {i + 1})")
        dtype = float_dtype(dtype)
        sigma = check_number(sigma, "sigma", low=0, strict=True, cls=MethodError)
        make_loss(loss, acts[-1], sigma)  # validates the loss and its output activation
        self.sizes = tuple(int(n) for n in sizes)
        self.activations = tuple(act.name for act in acts)
        self.loss_name = loss
        self.sigma = float(sigma)
        self.dtype = dtype
        self.layout = Layout(self.sizes)
        self.shapes = self.layout.shapes
        self.n_params = self.layout.n_params
        if backend_options is not None and not isinstance(backend_options, dict):
            raise MethodError(f"backend_options must be a dict of the backend's options, got {backend_options!r}")
        self.backend_options = dict(backend_options or {})
        self.backend = get_backend(backend)(
            self.layout, self.activations, loss, self.sigma, dtype, **self.backend_options
        )

    def __repr__(self):
        return (
            f"MLP(sizes={list(self.sizes)}, activations={list(self.activations)}, "
            f"loss={self.loss_name!r}, backend={self.backend.name!r}, dtype={self.dtype.name})"
        )

    def replace(self, **changes):
        """The same architecture with some constructor arguments changed, e.g.
        ``net.replace(dtype=np.float32, backend="cuda")``."""
        args = dict(
            sigma=self.sigma,
            backend=self.backend.name,
            dtype=self.dtype,
            backend_options=self.backend_options,
        )
        args.update(changes)
        return MLP(self.sizes, self.activations, self.loss_name, **args)

    # -- parameters ---------------------------------------------------------------------------

    def unflatten(self, theta):
        """``[(W_1, b_1), ..., (W_l, b_l)]`` as views into ``theta`` (no copy; a numpy or a
        backend array).

        Raises
        ------
        ShapeError
            If ``theta`` is not a vector of length :attr:`n_params`.
        """
        return self.layout.views(self.vector(theta, "theta", finite=False))

    def flatten(self, params):
        """The flat numpy vector of ``params = [(W_1, b_1), ...]`` (inverse of :meth:`unflatten`).

        Raises
        ------
        ShapeError
            If the number of layers or any block's shape does not match the network.
        """
        params = list(params)
        if len(params) != len(self.shapes):
            raise ShapeError(f"expected {len(self.shapes)} (W, b) pairs, got {len(params)}")
        theta = np.empty(self.n_params, dtype=self.dtype)
        for i, ((W, b), (gW, gb), shapes) in enumerate(zip(params, self.layout.views(theta), self.shapes)):
            for name, block, view, shape in (("W", W, gW, shapes[0]), ("b", b, gb, shapes[1])):
                block = np.asarray(block)
                if block.shape != shape:
                    raise ShapeError(f"layer {i + 1}: {name} has shape {block.shape}, expected {shape}")
                view[...] = block
        return theta

    def init(self, seed=0, scheme="sparse", *, n_nonzero=15, scale=None):
        """Random initial parameters (a numpy array on the host).

        Parameters
        ----------
        seed : int or numpy.random.Generator
            An integer >= 0, or a generator to draw from.
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

        Raises
        ------
        InputError
            A seed that is not an integer >= 0 or a generator, ``n_nonzero`` not an integer >= 1,
            ``scale`` not a finite number >= 0.
        MethodError
            An unknown scheme.
        """
        rng = np.random.default_rng(check_seed(seed))
        n_nonzero = check_number(n_nonzero, "n_nonzero", integer=True, low=1)
        if scale is not None:
            scale = check_number(scale, "scale", low=0)
        if scheme not in ("sparse", "gaussian"):
            raise MethodError(f"unknown init scheme {scheme!r}; expected 'sparse' or 'gaussian'")
        theta = np.zeros(self.n_params, dtype=self.dtype)
        for W, _ in self.layout.views(theta):
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
            With ``.loss(T)``, ``.gradient(T)``, ``.fisher_vp(v)``, ``.connection_vp(v)``, ... and
            the outputs ``.y``.
        """
        # A copy, so that updating θ in place cannot desynchronize the stored forward pass.
        theta = self.backend.copy(self.vector(theta, "theta"))
        return Linearization(self, theta, self.inputs(X))

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

    def finite(self, a, name):
        """``a`` (a backend array) if every entry is finite; else an InputError naming ``name`` and
        the first offending entry."""
        if not self.backend.all_finite(a):
            check_finite(self.backend.to_numpy(a), name)  # names the first offending entry
        return a

    def vector(self, x, name="v", finite=True):
        """``x`` as a backend vector of length :attr:`n_params`.

        Raises
        ------
        ShapeError
            For any other shape.
        InputError
            If ``x`` is not numeric, or (with ``finite``) holds a NaN or an infinity.
        """
        x = self.backend.asarray(x, name)
        if tuple(x.shape) != (self.n_params,):
            raise ShapeError(f"{name} must have shape ({self.n_params},) for {self!r}, got {tuple(x.shape)}")
        return self.finite(x, name) if finite else x

    def inputs(self, X):
        """``X`` as a backend array of shape ``(n ≥ 1, n_0)``, checked finite."""
        X = self.backend.asarray(X, "X")
        if X.ndim != 2 or X.shape[1] != self.sizes[0] or X.shape[0] == 0:
            raise ShapeError(
                f"X must have shape (n_examples >= 1, {self.sizes[0]}) (one example per row), got {tuple(X.shape)}"
            )
        return self.finite(X, "X")

    def targets(self, T, n):
        """Targets for ``n`` examples as a backend array of the outputs' shape, checked.

        A loss with ``labels`` (``softmax_ce``) also takes ``n`` integer labels.  Raises
        :class:`ShapeError` for a wrong shape and :class:`InputError` for non-finite targets,
        targets outside ``[0, 1]`` for a loss whose ``targets`` are ``"unit"`` (``bce``) and
        rows that are not distributions for ``"distribution"`` (``softmax_ce``).
        """
        loss = LOSSES[self.loss_name]
        n_out = self.sizes[-1]
        dtype = getattr(T, "dtype", None)
        if dtype is None:
            T = np.asarray(T)
            dtype = T.dtype
        dtype = np.dtype(dtype)
        if not (np.issubdtype(dtype, np.number) or dtype.kind == "b"):
            raise InputError(f"targets T must be numeric, got an array of dtype {dtype}")
        if loss.labels and len(T.shape) == 1 and np.issubdtype(dtype, np.integer):
            labels = np.asarray(self.backend.to_numpy(T) if hasattr(T, "__cuda_array_interface__") else T)
            if labels.shape[0] != n:
                raise ShapeError(f"got {labels.shape[0]} integer labels for {n} examples")
            if labels.min() < 0 or labels.max() >= n_out:
                raise ShapeError(f"integer labels must lie in [0, {n_out}), got [{labels.min()}, {labels.max()}]")
            return self.backend.one_hot(labels, n_out)
        if tuple(T.shape) != (n, n_out):
            accepted = f"({n}, {n_out})"
            if loss.labels:
                accepted += f" or integer labels ({n},)"
            raise ShapeError(f"targets T must have shape {accepted} for loss {self.loss_name!r}, got {tuple(T.shape)}")
        T = self.finite(self.backend.asarray(T, "T"), "T")
        if loss.targets != "real":
            lo, hi, row_gap = self.backend.target_stats(T)
            if loss.targets == "unit" and (lo < 0 or hi > 1):
                host = self.backend.to_numpy(T)
                bad = np.unravel_index(np.argmax((host < 0) | (host > 1)), host.shape)
                raise InputError(
                    f"{self.loss_name} targets T must lie in [0, 1], but T[{bad[0]}, {bad[1]}] = {host[bad]}"
                )
            if loss.targets == "distribution" and (lo < 0 or row_gap > np.sqrt(np.finfo(self.dtype).eps) * n_out):
                host = self.backend.to_numpy(T)
                sums = host.sum(axis=1)
                i = int(
                    np.flatnonzero(
                        (host < 0).any(axis=1) | (np.abs(sums - 1) > np.sqrt(np.finfo(self.dtype).eps) * n_out)
                    )[0]
                )
                raise InputError(
                    f"{self.loss_name} targets T must be distributions (rows >= 0 summing to 1), "
                    f"but row {i} = {host[i]} sums to {sums[i]:.6g}"
                )
        return T


class Linearization:
    """A forward pass of an :class:`MLP` at fixed (θ, X), reused by every product.

    Truncated CG calls the Fisher-vector product many times at one θ; each call here costs only
    the R forward pass and the backward pass.  Made by :meth:`MLP.linearize`, which keeps a copy
    of θ but not of ``X`` (do not modify ``X`` in place while the linearization is in use).
    Every product returns an array of the network's backend (see :class:`MLP`).

    Attributes
    ----------
    net : MLP
    theta : array
        The parameters (a private copy, in the backend's memory).
    n : int
        The number of examples (rows of ``X``).
    """

    def __init__(self, net, theta, X):
        self.net = net
        self.theta = theta
        self.n = int(X.shape[0])
        self.forward = net.backend.forward(theta, X)

    @property
    def y(self):
        """The network outputs, one row per example."""
        return self.net.backend.outputs(self.forward)

    def _targets(self, T):
        return self.net.targets(T, self.n)

    def loss(self, T):
        """Mean ``−log p(t | y)`` over the examples."""
        return self.net.backend.loss(self.forward, self._targets(T))

    def error(self, T, kind="squared"):
        """The paper's reported error: ``"squared"`` (mean over examples of ``‖y − t‖²``) or
        ``"classification"`` (fraction of examples whose largest output is not at the largest
        target)."""
        if kind not in ("squared", "classification"):
            raise MethodError(f"unknown error kind {kind!r}; expected 'squared' or 'classification'")
        return self.net.backend.error(self.forward, self._targets(T), kind)

    def gradient(self, T):
        """Gradient of :meth:`loss` with respect to θ (flat)."""
        return self.net.backend.gradient(self.forward, self._targets(T))

    def gradient_and_diag(self, T):
        """``(gradient, diag of the empirical Fisher)`` from one backward pass (the diagonal is
        the mean of the squared per-example gradients, Martens 2010's preconditioner)."""
        return self.net.backend.gradient_and_diag(self.forward, self._targets(T))

    def fisher_vp(self, v):
        """``F v`` with ``F = E_x J_sᵀ F_s J_s`` the Fisher (= generalized Gauss-Newton) matrix."""
        return self.net.backend.fisher_vp(self.forward, self.net.vector(v))

    def empirical_fisher_vp(self, v, T):
        """``(1/n) Σ_k g_k g_kᵀ v`` with the per-example gradients ``g_k`` (Martens, *New
        perspectives*, §7): the empirical Fisher, for comparison with :meth:`fisher_vp`."""
        return self.net.backend.empirical_fisher_vp(self.forward, self._targets(T), self.net.vector(v))

    def connection_vp(self, v):
        """``Γ_first(v, v)`` (Prop. 2): one R/S forward pass and one backward pass."""
        return self.net.backend.connection_vp(self.forward, self.net.vector(v))

    def connection_terms(self, v):
        """``(term1, term2)`` of ``Γ_first(v, v)`` (Algorithms 1 and 2); they sum to :meth:`connection_vp`."""
        return self.net.backend.connection_terms(self.forward, self.net.vector(v))

    def term3(self, v, lam=None):
        """``E_x Σ_i λ_i ∂_ν ∂_α y_i ∂_β y_i v^α v^β`` (Algorithm 3).

        Parameters
        ----------
        lam : array_like or None
            ``λ``, broadcastable to the outputs' shape ``(n_examples, n_out)``; ``None`` uses
            the loss's ``c1`` (``1/σ²``, ``1/(y(1−y))`` or ``1/y``).
        """
        backend = self.net.backend
        if lam is not None:
            lam = self.net.finite(backend.asarray(lam, "lam"), "lam")
            out_shape = (self.n, self.net.sizes[-1])
            try:
                fits = np.broadcast_shapes(tuple(lam.shape), out_shape) == out_shape
            except ValueError:
                fits = False
            if not fits:
                raise ShapeError(
                    f"lam of shape {tuple(lam.shape)} does not broadcast to the outputs' shape {out_shape}"
                )
        return backend.term3(self.forward, self.net.vector(v), lam)

    def perturb_vp(self, v, T):
        """The bracket of the small-curvature correction, paper Appendix F eq. (20): with
        ``A = F + λD``, the update is ``δθ₁ + δθ₂``, ``δθ₂ = −A⁻¹ perturb_vp(δθ₁)``; see
        :meth:`riemannopt.nn.backends.base.Backend.perturb_vp`."""
        return self.net.backend.perturb_vp(self.forward, self._targets(T), self.net.vector(v))
