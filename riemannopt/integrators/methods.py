"""The registry of step rules: every method :func:`~riemannopt.optimize` runs is one entry here.

Each entry declares what theory says of it — the flow it converges to and at which order
(Theorem 1, paper Appendix A), its order of invariance under nonlinear reparameterizations, and
whether it is exactly invariant — so that the command line, the Theorem-1 and invariance tables,
the figures' colours, the documentation's method table and the tests all read them from one place
(the way ``scipy.integrate.solve_ivp`` keeps its methods behind a name and each ``diffrax`` solver
declares its own order).

How to add a method
-------------------
1. Write its step rule in ``kernels.py`` as a jitted function
   ``step_<name>(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad) -> status`` that
   writes ``x_{k+1}`` into ``out`` and returns ``OK`` or the status of what failed, a code of
   ``outcomes.py`` (never raises; see the module docstring there).  ``here`` holds the facts at
   ``x`` that the check of ``x`` computed in one call of the problem's ``state`` (the loss, the
   gradient and, for a method that uses the metric, the metric's Cholesky factor): take the
   gradient, the natural direction and solves with the metric at ``x`` from it
   (``grad_here``, ``nat_dir_here``, ``natural_here``, ``chol_here``) rather than evaluating them
   again, since on a problem with data every evaluation is a pass over the rows.  It may call any
   of the problem's functions as ``F.<name>(...)`` (``riemannopt.codegen.emit.FUNCTIONS``), and
   ``nat_dir`` at other points; a new geometric quantity is derived symbolically in
   ``riemannopt/codegen/emit.py`` (with its numba signature in ``binding.py``, a wrapper in
   ``CompiledProblem`` and a test against a closed form or finite differences in
   ``tests/codegen``).
2. Register a :class:`Method` in :data:`METHODS` below: a one-line description with the paper's
   equation, what it converges to and at which order, its order of invariance, and a colour.  A
   method whose ODE solves are not exponential maps names how their failure is reported
   (``solve_stop``); one that runs through a Python driver for some exponential map names it
   (``drivers``).  :func:`~riemannopt.optimize` reads these; it branches on no method's name.
3. Transcribe the update independently (plain numpy, from the formula) in
   ``tests/integrators/test_optimize.py``.  ``tests/integrators/test_registry.py`` then fits its
   declared convergence and invariance orders on two problems; the CLI, the order tables, the
   figures and the docs pick the method up from the registry.
"""

from dataclasses import dataclass

from riemannopt.errors import MethodError

__all__ = ["Method", "METHODS", "get_method", "theorem1_pairs", "invariance_methods"]


@dataclass(frozen=True)
class Method:
    """One step rule of :func:`~riemannopt.optimize`.

    Attributes
    ----------
    name : str
        The registry key (the paper's abbreviation where it has one).
    description : str
        One line: the update, with the paper's equation.
    converges_to : tuple of (str or None, int)
        ``(reference, order)`` pairs: the global error at fixed time ``T`` against the method
        ``reference`` shrinks like ``ηᵒʳᵈᵉʳ`` (Theorem 1).  ``None`` as the reference: the
        method's own flow, which no other method follows (checked against the method itself
        with finer steps).
    invariance : int or None
        Order of invariance under nonlinear reparameterizations: the gap between the runs in two
        coordinate systems shrinks like ``ηⁱⁿᵛᵃʳⁱᵃⁿᶜᵉ`` (0: it does not shrink); ``None`` when the
        method is exactly invariant (a gap at the ODE solver's tolerance).
    affine_invariant : bool
        Whether the trajectory is exactly invariant, at any ``η``, under affine
        reparameterizations ``x = Aξ + b``.
    kernel : str
        Name of the jitted step rule in ``kernels.py``.
    uses_metric : bool
        Whether it needs the metric (its iterates are then checked to have a positive definite one).
    contrast : bool
        A method shown for contrast (not an integrator of the natural-gradient flow): left out of
        the default tables.
    color : str
        Its colour in every figure.
    solve_stop : str
        The function of ``common.py`` that raises the error of one of its ODE solves that stopped
        short (status ``EXPMAP_FAILED``): ``"raise_expmap_stop"`` (an exponential map, the
        default) or ``"raise_flow_stop"`` (the flow ``ẋ = d(x)`` over a step, ``exact``).
    drivers : tuple of (str, str)
        ``(expmap, function of drivers.py)`` pairs: given that exponential map,
        :func:`~riemannopt.optimize` runs the method through the Python driver instead of the
        jitted loop (``re`` with scipy's ``solve_ivp``).
    """

    name: str
    description: str
    converges_to: tuple
    invariance: int | None
    kernel: str
    color: str
    affine_invariant: bool = True
    uses_metric: bool = True
    contrast: bool = False
    solve_stop: str = "raise_expmap_stop"
    drivers: tuple = ()

    def driver(self, expmap):
        """The name of the function of ``drivers.py`` that runs the method with the exponential map
        ``expmap``, or None (the jitted loop)."""
        return dict(self.drivers).get(expmap)

    @property
    def exactly_invariant(self):
        """Whether the trajectory is invariant to any smooth reparameterization (up to the ODE
        solver's tolerance)."""
        return self.invariance is None

    @property
    def order(self):
        """The convergence order against its first reference (None for the exact flow)."""
        return self.converges_to[0][1] if self.converges_to else None

    @property
    def reference(self):
        """The first reference it converges to (None: its own flow, or no reference)."""
        return self.converges_to[0][0] if self.converges_to else None


def _entries(*methods):
    return {m.name: m for m in methods}


#: Every method :func:`~riemannopt.optimize` knows, by name (iterating gives the names).
METHODS = _entries(
    Method(
        "gd",
        "gradient descent x − η∇L (not invariant; for contrast)",
        converges_to=((None, 1),),
        invariance=0,
        affine_invariant=False,
        uses_metric=False,
        contrast=True,
        kernel="step_gd",
        color="#7f7f7f",
    ),
    Method(
        "ng",
        "natural gradient, forward Euler on the flow: x + η d(x), d = −g⁻¹∇L (eq. 5)",
        converges_to=(("exact", 1), ("re", 1)),
        invariance=1,
        kernel="step_ng",
        color="#1f77b4",
    ),
    Method(
        "mid",
        "midpoint integrator x + η d(x + η/2 · d(x)) (§3)",
        converges_to=(("exact", 2),),
        invariance=2,
        kernel="step_mid",
        color="#ff7f0e",
    ),
    Method(
        "geo",
        "geodesic correction x + η d − ½η² Γ(d, d) (eq. 7)",
        converges_to=(("re", 2),),
        invariance=2,
        kernel="step_geo",
        color="#2ca02c",
    ),
    Method(
        "geof",
        "faster geodesic correction x + η g⁻¹(−∇L − ½η Γ_first(v_k, v_k)), v_k the last step's velocity (eq. 8–9)",
        converges_to=(("re", 2),),
        invariance=2,
        kernel="step_geof",
        color="#d62728",
    ),
    Method(
        "re",
        "Riemannian Euler Exp_x(η d(x)) (eq. 6), exactly invariant",
        converges_to=(("exact", 1),),
        invariance=None,
        kernel="step_re",
        color="#9467bd",
        drivers=(("solve_ivp", "re_ivp"),),
    ),
    Method(
        "exact",
        "the flow ẋ = d(x) (eq. 5) solved by DOP853 over each step, sampled at t_k = kη",
        converges_to=(),
        invariance=None,
        kernel="step_exact",
        color="#000000",
        solve_stop="raise_flow_stop",
    ),
    Method(
        "rk4",
        "classical Runge–Kutta on the flow ẋ = d(x)",
        converges_to=(("exact", 4),),
        invariance=4,
        kernel="step_rk4",
        color="#8c564b",
    ),
    Method(
        "geo3",
        "third-order geodesic correction: geo + η³/6 · γ⃛(0), γ⃛ = −∂Γ(d,d,d) + 2Γ(Γ(d,d), d)",
        converges_to=(("re", 3),),
        invariance=3,
        kernel="step_geo3",
        color="#e377c2",
    ),
    Method(
        "rmid",
        "Riemannian midpoint Exp_x(η P(d(x½))), x½ = Exp_x(η/2 · d), P: parallel transport back to x",
        converges_to=(("exact", 2),),
        invariance=None,
        kernel="step_rmid",
        color="#008080",
    ),
    Method(
        "rtaylor",
        "Riemannian second-order Taylor step Exp_x(η d + ½η² ∇_d d), one exponential map",
        converges_to=(("exact", 2),),
        invariance=None,
        kernel="step_rtaylor",
        color="#6b8e23",
    ),
    Method(
        "newton",
        "Newton's method x − η H⁻¹∇L, H the coordinate Hessian (Martens §10; for contrast)",
        converges_to=((None, 1),),
        invariance=0,
        uses_metric=False,
        contrast=True,
        kernel="step_newton",
        color="#a0522d",
    ),
)


def get_method(name):
    """The registered :class:`Method` called ``name``, or a MethodError listing them."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise MethodError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}") from None


def theorem1_pairs(include_contrast=False):
    """``(method, reference, order)`` for every declared convergence to another method: Theorem 1
    and the higher-order methods beyond the paper."""
    return tuple(
        (m.name, ref, order)
        for m in METHODS.values()
        if include_contrast or not m.contrast
        for ref, order in m.converges_to
        if ref is not None
    )


def invariance_methods(include_contrast=False):
    """The names of the methods of the invariance table (all but the contrast ones by default)."""
    return tuple(name for name, m in METHODS.items() if include_contrast or not m.contrast)
