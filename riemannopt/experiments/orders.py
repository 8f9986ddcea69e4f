"""Theorem-1 and invariance-order tables on the catalogue's problems (``riemannopt orders`` and
``riemannopt invariance``)."""

from dataclasses import dataclass

import numpy as np

from riemannopt import models
from riemannopt.analysis import convergence_order, invariance_order
from riemannopt.errors import MethodError
from riemannopt.integrators.methods import METHODS, invariance_methods, theorem1_pairs
from riemannopt.progress import progress

__all__ = [
    "STUDY_PROBLEMS",
    "THEOREM1_PAIRS",
    "INVARIANCE_ORDERS",
    "OrderTable",
    "study_problem",
    "theorem1_table",
    "invariance_table",
]

#: ``(method, reference, expected order)``: Theorem 1 (paper Appendix A) and the methods beyond
#: the paper, as the registry (:mod:`riemannopt.integrators.methods`) declares them.
THEOREM1_PAIRS = theorem1_pairs()

#: Expected order of invariance of each method of the registry (None: exactly invariant, a gap
#: at round-off), the contrast methods (gd, newton) included.
INVARIANCE_ORDERS = {name: m.invariance for name, m in METHODS.items()}


@dataclass(frozen=True)
class StudyProblem:
    """A catalogue problem with a start point and its named reparameterizations.

    Attributes
    ----------
    make : callable
        Builds the problem in its base coordinates.
    x0 : tuple
        Default start point (read in whichever parameterization is run).
    reparams : dict
        ``{name: (new_coords, phi)}``, ``"identity"`` included.
    default_reparam : str
        The nonlinear reparameterization the commands use when none is named.
    orders_steps, invariance_steps : tuple of int
        The step counts ``riemannopt orders`` and ``riemannopt invariance`` use when none are
        named: fine enough that every registered method's fitted order is in its asymptotic
        regime (coarser steps fit pre-asymptotic slopes, see the orders tutorial), coarse enough
        that the errors stay well above the reference's tolerance.
    """

    make: object
    x0: tuple
    reparams: dict
    default_reparam: str
    orders_steps: tuple = (16, 32, 64, 128)
    invariance_steps: tuple = (32, 64, 128, 256)


#: Problems the commands know, with the start point and reparameterization used by default.
STUDY_PROBLEMS = {
    "gamma": StudyProblem(lambda: models.gamma_mle(models.gamma_data()), (1.0, 1.0), models.GAMMA_REPARAMS, "squares"),
    # Under log σ, rk4's gap of invariance has a small η⁴ term: its fitted order stays above 4.6
    # down to round-off; under σ² every method fits its order from 64 steps.
    "gaussian": StudyProblem(
        lambda: models.gaussian_mle(models.gaussian_data()),
        (0.0, 1.0),
        models.GAUSSIAN_REPARAMS,
        "variance",
        orders_steps=(64, 128, 256, 512),
        invariance_steps=(64, 128, 256, 512),
    ),
    "polar": StudyProblem(models.polar_plane, (1.5, 2.0), models.POLAR_REPARAMS, "log_r"),
    "half-plane": StudyProblem(
        models.poincare_half_plane,
        (0.0, 1.0),
        models.HALF_PLANE_REPARAMS,
        "log_y",
        orders_steps=(128, 256, 512, 1024),
    ),
    # Maximum-likelihood logistic regression (intercept and one feature, 200 rows of
    # models.logistic_data): a statistical manifold whose metric and loss are means over a data
    # set; every method fits its order from the default step counts.
    "logistic": StudyProblem(
        lambda: models.logistic_regression(*models.logistic_data()),
        (0.5, 0.5),
        models.LOGISTIC_REPARAMS,
        "cubic",
    ),
    # Maximum-likelihood Weibull fit (200 rows of models.weibull_data): a family outside the
    # exponential families, whose Fisher metric compiled code computes by quadrature.
    "weibull": StudyProblem(
        lambda: models.weibull_mle(models.weibull_data()), (1.0, 1.0), models.WEIBULL_REPARAMS, "squares"
    ),
}


def check_study_problem(name, reparam=None):
    """Validate a catalogue problem name and one of its reparameterizations (``None``: the
    problem's default); returns ``(StudyProblem, reparam)``."""
    if name not in STUDY_PROBLEMS:
        raise MethodError(f"unknown problem {name!r}; choose one of {', '.join(STUDY_PROBLEMS)}")
    entry = STUDY_PROBLEMS[name]
    reparam = entry.default_reparam if reparam is None else reparam
    if reparam not in entry.reparams:
        raise MethodError(
            f"unknown reparameterization {reparam!r} of {name}; choose one of {', '.join(entry.reparams)}"
        )
    return entry, reparam


def study_problem(name, reparam="identity"):
    """``(problem, x0)``: the catalogue problem ``name`` in the parameterization ``reparam``, with
    the default start point given in that parameterization's own coordinates."""
    sp_, reparam = check_study_problem(name, reparam)
    base = sp_.make()
    if reparam == "identity":
        return base, np.array(sp_.x0)
    return base.reparameterize(*sp_.reparams[reparam], name=f"{name}/{reparam}"), np.array(sp_.x0)


@dataclass
class OrderTable:
    """Fitted orders of several studies against the orders theory expects.

    Attributes
    ----------
    studies : list of ConvergenceStudy or InvarianceStudy
    expected : list
        The expected order of each study (``None``: exactly invariant, a gap at round-off).
    marks : list of bool
        Whether each study met its expectation.
    text : str
        The printed table, one row per study with a pass mark.
    """

    studies: list
    expected: list
    marks: list
    text: str

    @property
    def passed(self):
        """Whether every study met its expectation."""
        return all(self.marks)


def _mark(ok):
    return "pass" if ok else "FAIL"


def theorem1_table(
    problem, x0, T=2.0, steps_list=(16, 32, 64, 128), pairs=THEOREM1_PAIRS, tol=0.15, show_progress=None
):
    """Run every ``(method, reference, expected order)`` of ``pairs``; returns an :class:`OrderTable`.

    A pair passes when ``|fitted − expected| ≤ tol``.  Runs are shared between pairs (each
    reference is computed once per step count).
    """
    memo = {}
    studies = [
        convergence_order(problem, m, r, x0, T, steps_list, memo=memo, show_progress=False)
        for m, r, _ in progress(pairs, desc="Theorem 1", enable=show_progress)
    ]
    expected = [e for _, _, e in pairs]
    marks = [bool(abs(st.order - e) <= tol) for st, e in zip(studies, expected)]
    lines = [
        f"{'method → reference':<20}{'fitted':>8}{'expected':>10}{'':>6}   errors at h = "
        + ", ".join(f"{h:.3g}" for h in studies[0].h)
    ]
    for st, e, ok in zip(studies, expected, marks):
        errs = ", ".join(f"{x:.2e}" for x in st.error)
        lines.append(f"{st.method + ' → ' + st.reference:<20}{st.order:>8.3f}{e:>10d}{_mark(ok):>6}   {errs}")
    return OrderTable(studies, expected, marks, "\n".join(lines))


def invariance_table(
    problem,
    reparam,
    x0,
    T=2.0,
    steps_list=(16, 32, 64, 128),
    methods=invariance_methods(),
    tol=0.15,
    roundoff=1e-9,
    show_progress=None,
):
    """The order of invariance of each method under ``reparam``; returns an :class:`OrderTable`.

    A method passes when its fitted order is within ``tol`` of :data:`INVARIANCE_ORDERS`; an
    exactly invariant one when its largest gap is below ``roundoff``.
    """
    memo = {}
    studies = [
        invariance_order(problem, reparam, m, x0, T, steps_list, memo=memo, show_progress=False)
        for m in progress(methods, desc="invariance", enable=show_progress)
    ]
    expected = [INVARIANCE_ORDERS.get(st.method) for st in studies]
    marks = [
        bool(st.gap.max() <= roundoff) if e is None else bool(abs(st.order - e) <= tol)
        for st, e in zip(studies, expected)
    ]
    lines = [
        f"{'method':<8}{'order':>8}{'expected':>10}{'':>6}   gaps at h = " + ", ".join(f"{h:.3g}" for h in studies[0].h)
    ]
    for st, e, ok in zip(studies, expected, marks):
        gaps = ", ".join(f"{g:.2e}" for g in st.gap)
        if e is None:
            lines.append(f"{st.method:<8}{'—':>8}{'exact':>10}{_mark(ok):>6}   {gaps}")
        else:
            lines.append(f"{st.method:<8}{st.order:>8.3f}{e:>10d}{_mark(ok):>6}   {gaps}")
    return OrderTable(studies, expected, marks, "\n".join(lines))
