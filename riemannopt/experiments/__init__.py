"""The paper's experiments as functions."""

from .gamma import GAMMA_METHODS, GammaResult, gamma_figure

__all__ = ["gamma_figure", "GammaResult", "GAMMA_METHODS"]
