"""The symbolic layer: metrics, problems, Fisher metrics, reparameterization (sympy only)."""

from riemannopt.symbolic.fisher import fisher_metric
from riemannopt.symbolic.metric import Metric
from riemannopt.symbolic.problem import Problem

__all__ = ["Metric", "Problem", "fisher_metric"]
