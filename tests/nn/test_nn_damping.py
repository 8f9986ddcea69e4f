"""Levenberg–Marquardt damping (riemannopt.nn.damping) against reduction ratios known in closed
form, and inside the trainer on a problem whose quadratic model is exact."""

import math

import numpy as np
import pytest

from riemannopt.nn import MLP, train
from riemannopt.nn.damping import levenberg_marquardt, reduction_ratio


@pytest.mark.parametrize(
    "h_over_b, rho, factor", [(1.0, 1.0, 2 / 3), (1.5, 0.5, 1.0), (1.9, 0.1, 1.5), (0.4, 1.6, 2 / 3)]
)
def test_rule_on_a_quadratic_with_known_rho(h_over_b, rho, factor):
    """f(x) = ½ h x² + g x, model q(p) = g p + ½ b p², step p = −g/b (the model's minimizer):
    f(x + p) − f(x) = −g²/b + ½ h g²/b² and q(p) = −½ g²/b, so ρ = 2 − h/b exactly."""
    b, g, lam = 3.0, 0.7, 45.0
    h = h_over_b * b
    p = -g / b
    actual = g * p + 0.5 * h * p * p
    predicted = g * p + 0.5 * b * p * p
    got = reduction_ratio(actual, predicted)
    assert got == pytest.approx(rho, rel=1e-12)
    assert levenberg_marquardt(lam, got) == pytest.approx(lam * factor, rel=1e-15)


def test_thresholds_and_failed_steps():
    """ρ exactly at ¼ or ¾ keeps λ; a rise of the objective, a NaN or an infinity boosts it."""
    assert levenberg_marquardt(2.0, 0.25) == 2.0 and levenberg_marquardt(2.0, 0.75) == 2.0
    assert reduction_ratio(0.1, -1.0) == -math.inf
    assert reduction_ratio(float("nan"), -1.0) == -math.inf
    assert reduction_ratio(float("inf"), -1.0) == -math.inf
    assert levenberg_marquardt(2.0, -math.inf) == 3.0 and levenberg_marquardt(2.0, float("nan")) == 3.0
    # A decrease the model did not predict: trust it more.
    assert reduction_ratio(-0.1, 0.0) == math.inf and levenberg_marquardt(3.0, math.inf) == 2.0


def test_trainer_damping_when_the_model_is_exact():
    """Linear regression (one linear layer, squared loss, no weight decay, curvature on all the
    data): the Gauss-Newton matrix is the Hessian and the loss is quadratic, so the model
    predicts every step exactly, ρ = 1, and λ shrinks by ⅔ after every iteration: iteration k
    uses λ = 45·(⅔)^(k−1) (the history's entry 0 holds the initial 45)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    T = X @ rng.standard_normal((3, 2)) + 0.1 * rng.standard_normal((40, 2))
    net = MLP([3, 2], ["linear"], "squared")
    res = train(net, X, T, "ng", 6, weight_decay=0.0, chunks=1, dtype=np.float64, theta0=np.zeros(net.n_params))
    h = res.history
    np.testing.assert_allclose(h["rho"][1:], 1.0, rtol=1e-9)
    np.testing.assert_allclose(h["damping"][1:], 45.0 * (2 / 3) ** np.arange(6), rtol=1e-12)
    assert h["damping"][0] == 45.0
    assert np.all(h["rate"][1:] == 1.0)
