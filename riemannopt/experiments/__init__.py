"""The paper's experiments as functions."""

from riemannopt.experiments.gamma import GAMMA_METHODS, GammaResult, gamma_figure
from riemannopt.experiments.nn import STUDY_CLOCKS, NNStudy, nn_study
from riemannopt.experiments.orders import (
    INVARIANCE_ORDERS,
    STUDY_PROBLEMS,
    THEOREM1_PAIRS,
    OrderTable,
    check_study_problem,
    invariance_table,
    study_problem,
    theorem1_table,
)

__all__ = [
    "gamma_figure",
    "GammaResult",
    "GAMMA_METHODS",
    "theorem1_table",
    "invariance_table",
    "study_problem",
    "STUDY_PROBLEMS",
    "THEOREM1_PAIRS",
    "INVARIANCE_ORDERS",
    "OrderTable",
    "check_study_problem",
    "nn_study",
    "NNStudy",
    "STUDY_CLOCKS",
]
