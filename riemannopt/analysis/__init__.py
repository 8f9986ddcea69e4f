"""Convergence-order and invariance-order studies (paper Theorem 1)."""

from riemannopt.analysis.orders import ConvergenceStudy, InvarianceStudy, convergence_order, fit_order, invariance_order

__all__ = ["convergence_order", "invariance_order", "fit_order", "ConvergenceStudy", "InvarianceStudy"]
