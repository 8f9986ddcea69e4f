"""The contract of a compute backend of :class:`riemannopt.nn.MLP`.

A backend computes, for one network architecture, a forward pass and every product the paper
needs (§5, Propositions 1–2, Appendix C, Appendix F), plus the few vector operations with which
truncated CG (:func:`riemannopt.nn.solve_damped`) and training run on its arrays without
copying them to the host.  :class:`~riemannopt.nn.MLP` validates inputs and hands everything
else to its backend; :class:`~riemannopt.nn.Linearization` holds one :meth:`Backend.forward`
and calls the products on it.

Conventions shared by every method:

* ``theta``, ``v`` and every returned parameter-space vector are flat one-dimensional arrays of
  length ``layout.n_params`` and type ``dtype``, in the backend's own array type ("a backend
  array": a numpy array for ``numpy``, a device array for ``cuda``); the layer views come from
  :meth:`riemannopt.nn.layout.Layout.views`.
* ``X`` has one example per row, shape ``(n, n_0)``; targets ``T`` have the outputs' shape
  ``(n, n_l)`` and are already validated (finite; in ``[0, 1]`` for ``bce``; distributions for
  ``softmax_ce``; integer labels already one-hot).
* Every product is the **mean** over the rows of ``X``; the loss is the mean of
  ``−log p(t | y)``.  Methods ending in ``_`` write into an argument and return it; the others
  return new arrays and never modify their arguments.
* Scalars (losses, dot products) come back as Python floats: that is all that crosses from a
  device per operation.

A backend is one subclass of :class:`Backend`, registered by name in
:data:`riemannopt.nn.backends.BACKENDS`; ``tests/nn/test_backend_conformance.py`` runs every
product of every available backend against the numpy backend, for every activation and loss of
the registries.  A backend names no activation or loss: it takes each from its class — the
array methods, or the compiled forms (:meth:`~riemannopt.nn.activations.Activation.scalar`,
:meth:`~riemannopt.nn.losses.Loss.scalar` or :meth:`~riemannopt.nn.losses.Loss.rows`) compiled
into its own kernels — so that a new activation or loss class runs on every backend.
"""

from abc import ABC, abstractmethod

__all__ = ["VectorOps", "Backend"]


class VectorOps(ABC):
    """Arrays and the vector operations of truncated CG and training, on one kind of memory.

    :func:`riemannopt.nn.solve_damped` and the trainer touch vectors only through these, so that
    on a device the vectors stay there and only scalars cross to the host.

    Parameters
    ----------
    dtype : numpy.dtype
        ``float32`` or ``float64``: the type of every array made or converted.
    """

    def __init__(self, dtype):
        self.dtype = dtype

    # -- arrays ------------------------------------------------------------------------------

    @abstractmethod
    def asarray(self, x, name):
        """``x`` as a backend array of :attr:`dtype`, keeping its shape.

        Accepts numpy arrays and nested sequences (copied once to the backend's memory) and,
        where the backend lives on a device, device arrays (numba, CuPy or anything with
        ``__cuda_array_interface__``; used in place when they already have the right type and
        layout).  Raises :class:`~riemannopt.errors.InputError` naming ``name`` if ``x`` is
        not numeric.
        """

    @abstractmethod
    def to_numpy(self, a):
        """A host numpy array with the values of the backend array ``a``."""

    @abstractmethod
    def zeros(self, n):
        """A backend vector of ``n`` zeros of :attr:`dtype`."""

    @abstractmethod
    def all_finite(self, a):
        """Whether every entry of the backend array ``a`` is finite (a bool)."""

    # -- vector operations (CG and training) -------------------------------------------------

    @abstractmethod
    def min_max(self, a):
        """``(minimum, maximum)`` of the entries of the backend array ``a`` (two floats)."""

    @abstractmethod
    def dot(self, x, y):
        """``xᵀy`` (a float) of two backend vectors."""

    @abstractmethod
    def axpby(self, a, x, b, y):
        """The new vector ``a·x + b·y`` (``a``, ``b`` floats)."""

    @abstractmethod
    def axpy_(self, a, x, y):
        """``y += a·x`` in place; returns ``y``."""

    @abstractmethod
    def scale_(self, a, x):
        """``x *= a`` in place; returns ``x``."""

    @abstractmethod
    def multiply(self, x, y):
        """The new vector ``x ⊙ y``."""

    @abstractmethod
    def divide(self, x, y):
        """The new vector ``x ⊘ y``."""

    @abstractmethod
    def damped_power(self, d, lam, p):
        """The new vector ``(d + lam)^p`` (elementwise; ``d ≥ 0``, ``lam > 0``)."""

    @abstractmethod
    def copy(self, x):
        """A new backend vector equal to ``x``."""

    @abstractmethod
    def adam_(self, theta, g, m, s, t, lr, beta1, beta2, eps):
        """One Adam step (Kingma & Ba 2015) in place on ``theta``, ``m`` (first moment) and
        ``s`` (second moment) for the gradient ``g`` at step ``t ≥ 1``::

            m = β₁m + (1 − β₁)g;  s = β₂s + (1 − β₂)g²
            θ −= lr · (m / (1 − β₁ᵗ)) / (√(s / (1 − β₂ᵗ)) + ε)

        Returns ``theta``.
        """


class Backend(VectorOps):
    """Products and vector operations of one network architecture.

    Parameters
    ----------
    layout : riemannopt.nn.layout.Layout
        The architecture's widths and flat-θ layout.
    activations : tuple of str
        One key of :data:`riemannopt.nn.activations.ACTIVATIONS` per layer (one that is not
        element-wise, ``softmax``, last only).
    loss : str
        A key of :data:`riemannopt.nn.losses.LOSSES`, already checked against the output
        activation by :class:`~riemannopt.nn.MLP`.
    sigma : float
        σ of the ``squared`` loss.
    dtype : numpy.dtype
        ``float32`` or ``float64``: of θ, of the data once converted, and of every computation.
    **options
        Backend-specific options (documented by each backend).
    """

    #: Registry name.
    name = ""

    def __init__(self, layout, activations, loss, sigma, dtype, **options):
        super().__init__(dtype)
        self.layout = layout
        self.activations = tuple(activations)
        self.loss_name = loss
        self.sigma = float(sigma)

    @classmethod
    def check_available(cls):
        """Raise :class:`~riemannopt.errors.BackendUnavailableError` naming what is missing
        (a package, a GPU); return None when the backend can run here."""

    def __repr__(self):
        return f"<{self.name} backend, {self.dtype.name}>"

    @abstractmethod
    def target_stats(self, T):
        """``(minimum, maximum, largest |row sum − 1|)`` of the targets ``T`` (three floats), for
        :class:`~riemannopt.nn.MLP` to check ``bce`` and ``softmax_ce`` targets without moving
        them to the host."""

    @abstractmethod
    def one_hot(self, labels, n_classes):
        """One-hot targets of shape ``(n, n_classes)`` from integer labels of shape ``(n,)``
        (already checked to lie in ``[0, n_classes)``)."""

    # -- forward pass and products -----------------------------------------------------------

    @abstractmethod
    def forward(self, theta, X):
        """Forward pass (paper eq. 18–19) keeping what the products need.

        ``theta`` and ``X`` are backend arrays; the backend may keep references to them (the
        caller does not modify them while the result is in use).  Returns an opaque object
        that the product methods take as ``fwd``.
        """

    @abstractmethod
    def outputs(self, fwd):
        """The network outputs ``y`` (after the final activation), shape ``(n, n_l)``."""

    @abstractmethod
    def loss(self, fwd, T):
        """Mean over examples of ``−log p(t | y)`` (a float)."""

    @abstractmethod
    def error(self, fwd, T, kind):
        """The error reported in the paper's figures (a float).

        ``kind="squared"``: mean over examples of ``‖y − t‖²`` (the squared reconstruction
        error of §7.2); ``kind="classification"``: the fraction of examples whose largest
        output is not at the largest target.
        """

    @abstractmethod
    def gradient(self, fwd, T):
        """``∇_θ`` of :meth:`loss`."""

    @abstractmethod
    def gradient_and_diag(self, fwd, T):
        """``(∇_θ L, diag(F_emp))``: the gradient and, from the same backward pass, the diagonal
        of the empirical Fisher ``(1/n) Σ_k g_k ⊙ g_k`` of the per-example gradients ``g_k``
        (Martens 2010's preconditioner is ``(diag(F_emp) + λ)^¾``)."""

    @abstractmethod
    def fisher_vp(self, fwd, v):
        """Fisher-vector product ``E_x J_sᵀ F_s J_s v`` (= the generalized Gauss-Newton product,
        Martens, *New perspectives*, §8), ``J_s`` the Jacobian of the output pre-activation."""

    @abstractmethod
    def empirical_fisher_vp(self, fwd, T, v):
        """``(1/n) Σ_k g_k (g_kᵀ v)`` with the per-example gradients ``g_k`` (the empirical Fisher
        of Martens, *New perspectives*, §7; for comparison only)."""

    @abstractmethod
    def connection_vp(self, fwd, v):
        """``Γ_first(v, v)`` of Proposition 2: one R/S forward pass and one backward pass from
        the signal ``c1 ⊙ S_v(y) + c2 ⊙ R_v(y)²``, in the stable forms of
        :mod:`riemannopt.nn.losses`."""

    @abstractmethod
    def connection_terms(self, fwd, v):
        """``(term1, term2)``: Algorithms 1 and 2 separately; they sum to :meth:`connection_vp`."""

    @abstractmethod
    def term3(self, fwd, v, lam=None):
        """``E_x Σ_i λ_i ∂_ν ∂_α y_i ∂_β y_i v^α v^β`` (Algorithm 3, Appendix F).

        ``lam`` is a backend array broadcastable to the outputs' shape, or ``None`` for
        ``λ = c1`` (``1/σ²``, ``1/(y(1−y))``, ``1/y``).
        """

    @abstractmethod
    def perturb_vp(self, fwd, T, v):
        """The bracket of the small-curvature update of Appendix F, eq. (20):

        ``R_v(J_sᵀ)(∂L/∂s + H_s R_v(s)) + ½ J_sᵀ H_s S_v(s)``,

        with ``s`` the output pre-activation, ``H_s = ∂²L/∂s²`` (= ``F_s``), ``R_v``/``S_v``
        first and second directional derivatives along ``v``, and ``R_v(J_sᵀ) w`` the
        R-operator of the backward pass with the signal ``w`` held fixed.  The perturbative
        correction is ``δθ₂ = −(F + λD)⁻¹ perturb_vp(v)`` with ``v = δθ₁``.  Averaged over the
        rows like every product.
        """
