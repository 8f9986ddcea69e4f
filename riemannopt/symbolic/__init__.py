"""The symbolic layer: metrics, problems, Fisher metrics, reparameterization (sympy only)."""

from riemannopt.symbolic.fisher import fisher_metric
from riemannopt.symbolic.metric import Metric
from riemannopt.symbolic.problem import Problem
from riemannopt.symbolic.quadrature import QuadratureMetric

__all__ = ["Metric", "QuadratureMetric", "Problem", "fisher_metric"]
