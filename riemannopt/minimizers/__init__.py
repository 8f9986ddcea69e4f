"""Minimizers with line searches: natural gradient, natural and Riemannian conjugate gradient.

:func:`minimize` (exported as ``riemannopt.minimize``) runs one of :data:`MINIMIZERS` (the
registry, :mod:`riemannopt.minimizers.registry`) as one jitted loop
(:mod:`riemannopt.minimizers.kernels`); :mod:`riemannopt.minimizers.api` describes the methods.
"""

from riemannopt.minimizers.api import minimize
from riemannopt.minimizers.registry import BETAS, MINIMIZERS, Minimizer, get_minimizer

__all__ = ["minimize", "MINIMIZERS", "Minimizer", "get_minimizer", "BETAS"]
