"""The registry of minimizers: every method :func:`~riemannopt.minimize` runs is one entry here.

Each entry declares what theory says of it — whether its iterates are invariant to a smooth
reparameterization, whether its directions are conjugate (and so it terminates in ``n`` steps on
a quadratic loss with a constant metric), along which curve it searches — so that the tests and
the documentation read them from one place (as :mod:`riemannopt.integrators.methods` does for the
integrators).

How to add a minimizer: give it a method code in ``kernels.py`` and its direction rule in
``kernels._minimize_loop`` (a new search curve needs a new search function there), register a
:class:`Minimizer` below, and ``tests/test_minimize.py`` checks its declared properties (the
minimisers of three problems, invariance or its absence, conjugacy) over the registry.
"""

from dataclasses import dataclass

from riemannopt.errors import MethodError
from riemannopt.minimizers import kernels

__all__ = ["Minimizer", "MINIMIZERS", "get_minimizer", "BETAS"]

#: The β rules of the conjugate-gradient recurrences: name → (kernel code, formula).
BETAS = {
    "pr+": (kernels.BETA_PR_PLUS, "Polak–Ribière clipped at 0, max(0, ⟨ξ₊, ξ₊ − P ξ⟩ / ⟨ξ, ξ⟩)"),
    "pr": (kernels.BETA_PR, "Polak–Ribière, ⟨ξ₊, ξ₊ − P ξ⟩ / ⟨ξ, ξ⟩"),
    "fr": (kernels.BETA_FR, "Fletcher–Reeves, ⟨ξ₊, ξ₊⟩ / ⟨ξ, ξ⟩"),
}


@dataclass(frozen=True)
class Minimizer:
    """One method of :func:`~riemannopt.minimize`.

    Attributes
    ----------
    name : str
        The registry key (the source's abbreviation, lower case).
    description : str
        One line: the direction and the search, with the source.
    invariant : bool
        Whether its iterates are invariant to any smooth reparameterization (mapped back, they
        agree to the line search's and the geodesic solver's tolerances): every quantity it uses
        is geometric (Riemannian inner products, geodesics, parallel transport).
    conjugate : bool
        Whether its directions are conjugate on a quadratic loss with a constant metric, where it
        then terminates in at most ``n`` iterations (exact line searches).
    curve : str
        Where it searches: ``"geodesic"`` (``Exp_x(αd)``), ``"line"`` (``x + αd``) or ``"plane"``
        (``x + α u + β w``).
    betas : tuple of str
        The β rules it accepts (keys of :data:`BETAS`), the default first; empty: none.
    uses_hessian : bool
        Whether it evaluates the coordinate Hessian of the loss.
    code : int
        Its method code in :mod:`riemannopt.minimizers.kernels`.
    """

    name: str
    description: str
    invariant: bool
    conjugate: bool
    curve: str
    code: int
    betas: tuple = ()
    uses_hessian: bool = False

    def beta(self, rule):
        """The kernel code of the β rule ``rule`` (None: the default), or a MethodError."""
        if not self.betas:
            if rule is not None:
                raise MethodError(f"method {self.name!r} takes no beta rule, got beta={rule!r}")
            return kernels.BETA_NONE
        rule = self.betas[0] if rule is None else rule
        if rule not in self.betas:
            raise MethodError(
                f"method {self.name!r}: unknown beta rule {rule!r}; choose one of {', '.join(self.betas)}"
            )
        return BETAS[rule][0]


def _entries(*methods):
    return {m.name: m for m in methods}


#: Every minimizer :func:`~riemannopt.minimize` knows, by name.
MINIMIZERS = _entries(
    Minimizer(
        "ng-ls",
        "natural gradient with an exact line search along the geodesic Exp_x(−α g⁻¹∇L) "
        "(Pascanu & Bengio 2014's NGD-L, searched along the geodesic so that it is invariant)",
        invariant=True,
        conjugate=False,
        curve="geodesic",
        code=kernels.NG_LS,
    ),
    Minimizer(
        "ncg-f",
        "natural conjugate gradient: d = −g⁻¹∇L + β d₋ with Polak–Ribière in the metric at the current "
        "point, ignoring its change, exact line search along x + αd "
        "(Pascanu & Bengio 2014 §9–10's NCG-F, after Gonzalez & Dorronsoro 2006)",
        invariant=False,
        conjugate=True,
        curve="line",
        code=kernels.NCG_F,
        betas=("pr+", "pr", "fr"),
    ),
    Minimizer(
        "ncg-l",
        "natural conjugate gradient with the two-dimensional search min over (α, β) of "
        "L(x − α g⁻¹∇L + β d₋), d = −g⁻¹∇L + (β/α) d₋ (Pascanu & Bengio 2014 eq. 21–22), "
        "solved by Newton's method on the plane",
        invariant=False,
        conjugate=True,
        curve="plane",
        code=kernels.NCG_L,
        uses_hessian=True,
    ),
    Minimizer(
        "rcg",
        "Riemannian conjugate gradient: d = −grad L + β P(d₋), P the parallel transport along the last "
        "geodesic, β by Polak–Ribière+ or Fletcher–Reeves in the metric at the new point, exact line "
        "search along the geodesic Exp_x(αd) (Absil, Mahony & Sepulchre 2008, §8.3)",
        invariant=True,
        conjugate=True,
        curve="geodesic",
        code=kernels.RCG,
        betas=("pr+", "pr", "fr"),
    ),
)


def get_minimizer(name):
    """The registered :class:`Minimizer` called ``name``, or a MethodError listing them."""
    try:
        return MINIMIZERS[name]
    except (KeyError, TypeError):
        raise MethodError(f"unknown minimizer {name!r}; choose one of {', '.join(MINIMIZERS)}") from None
