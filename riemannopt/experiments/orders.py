"""Theorem-1 and invariance-order tables on the catalogue's problems (``riemannopt orders`` and
``riemannopt invariance``)."""

from dataclasses import dataclass

import numpy as np

from .. import models
from ..analysis import convergence_order, invariance_order
from ..errors import MethodError
from ..progress import progress

__all__ = ["STUDY_PROBLEMS", "THEOREM1_PAIRS", "INVARIANCE_ORDERS", "study_problem", "theorem1_table", "invariance_table"]

#: ``(method, reference, expected order)``: Theorem 1 (paper Appendix A) and the higher-order
#: methods beyond the paper.
THEOREM1_PAIRS = (
    ("ng", "exact", 1),
    ("mid", "exact", 2),
    ("re", "exact", 1),
    ("ng", "re", 1),
    ("geo", "re", 2),
    ("geof", "re", 2),
    ("geo3", "re", 3),
    ("rk4", "exact", 4),
)

#: Expected order of invariance of each method (None: exactly invariant, gap at round-off).
INVARIANCE_ORDERS = {"ng": 1, "mid": 2, "geo": 2, "geof": 2, "geo3": 3, "rk4": 4, "re": None, "exact": None}


@dataclass(frozen=True)
class StudyProblem:
    """A catalogue problem with a start point and its named reparameterizations."""

    make: object
    x0: tuple
    reparams: dict


#: Problems the commands know, with the start point used by default.
STUDY_PROBLEMS = {
    "gamma": StudyProblem(lambda: models.gamma_mle(models.gamma_data()), (1.0, 1.0), models.GAMMA_REPARAMS),
    "gaussian": StudyProblem(lambda: models.gaussian_mle(models.gaussian_data()), (0.0, 1.0), models.GAUSSIAN_REPARAMS),
    "polar": StudyProblem(models.polar_plane, (1.5, 2.0), models.POLAR_REPARAMS),
}


def study_problem(name, reparam="identity"):
    """``(problem, x0)``: the catalogue problem ``name`` in the parameterization ``reparam``, with
    the default start point given in that parameterization's own coordinates."""
    if name not in STUDY_PROBLEMS:
        raise MethodError(f"unknown problem {name!r}; choose one of {', '.join(STUDY_PROBLEMS)}")
    sp_ = STUDY_PROBLEMS[name]
    if reparam not in sp_.reparams:
        raise MethodError(f"unknown reparameterization {reparam!r} of {name}; choose one of {', '.join(sp_.reparams)}")
    base = sp_.make()
    if reparam == "identity":
        return base, np.array(sp_.x0)
    return base.reparameterize(*sp_.reparams[reparam], name=f"{name}/{reparam}"), np.array(sp_.x0)


def _mark(fitted, expected, tol):
    return "pass" if abs(fitted - expected) <= tol else "FAIL"


def theorem1_table(problem, x0, T=2.0, steps_list=(16, 32, 64, 128), pairs=THEOREM1_PAIRS, tol=0.15, show_progress=None):
    """Run every ``(method, reference)`` pair; returns ``(studies, text)``.

    ``text`` lists fitted and expected orders with a pass mark (``|fitted − expected| ≤ tol``).
    Runs are shared between pairs (each reference is computed once per step count).
    """
    memo = {}
    studies = [
        convergence_order(problem, m, r, x0, T, steps_list, memo=memo, show_progress=False)
        for m, r, _ in progress(pairs, desc="Theorem 1", enable=show_progress)
    ]
    lines = [f"{'method → reference':<20}{'fitted':>8}{'expected':>10}{'':>6}   errors at h = " + ", ".join(f"{h:.3g}" for h in studies[0].h)]
    for st, (_, _, expected) in zip(studies, pairs):
        errs = ", ".join(f"{e:.2e}" for e in st.error)
        lines.append(f"{st.method + ' → ' + st.reference:<20}{st.order:>8.3f}{expected:>10d}{_mark(st.order, expected, tol):>6}   {errs}")
    return studies, "\n".join(lines)


def invariance_table(problem, reparam, x0, T=2.0, steps_list=(16, 32, 64, 128), methods=tuple(INVARIANCE_ORDERS), tol=0.15, roundoff=1e-9, show_progress=None):
    """The order of invariance of each method under ``reparam``; returns ``(studies, text)``.

    Exactly invariant methods pass when the largest gap is below ``roundoff``.
    """
    memo = {}
    studies = [
        invariance_order(problem, reparam, m, x0, T, steps_list, memo=memo, show_progress=False)
        for m in progress(methods, desc="invariance", enable=show_progress)
    ]
    lines = [f"{'method':<8}{'order':>8}{'expected':>10}{'':>6}   gaps at h = " + ", ".join(f"{h:.3g}" for h in studies[0].h)]
    for st in studies:
        expected = INVARIANCE_ORDERS.get(st.method)
        gaps = ", ".join(f"{g:.2e}" for g in st.gap)
        if expected is None:
            mark = "pass" if st.gap.max() <= roundoff else "FAIL"
            lines.append(f"{st.method:<8}{'—':>8}{'exact':>10}{mark:>6}   {gaps}")
        else:
            lines.append(f"{st.method:<8}{st.order:>8.3f}{expected:>10d}{_mark(st.order, expected, tol):>6}   {gaps}")
    return studies, "\n".join(lines)
