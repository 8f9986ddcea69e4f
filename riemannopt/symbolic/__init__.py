"""The symbolic layer: metrics, problems, Fisher metrics, reparameterization (sympy only)."""

from .fisher import fisher_metric
from .metric import Metric
from .problem import Problem

__all__ = ["Metric", "Problem", "fisher_metric"]
