"""The paper's Hessian-free loop (issue 24), each rule against a dense transcription of its
definition: ρ on the curvature chunk (Martens 2010 §4.1), the weight decay of the paper's code
(every parameter, not in the curvature products, in the preconditioner), the paper's two-pass
midpoint, and Adam's full-batch step.

Tiny networks (5 parameters) and CG allowed n steps at a residual of 1e-13, so every solve is
exact and keeps one iterate: the transcriptions solve with ``numpy.linalg.solve`` on the Fisher
assembled column by column from ``MLP.fisher_vp`` (itself checked against complex-step Jacobians
in test_nn_products.py), and evaluate losses with ``MLP.predict``.
"""

import math

import numpy as np
import pytest
from dense_hf import LAM, WD, bce, fisher, tiny_bce

from riemannopt.nn.adam import Adam
from riemannopt.nn.curvature import Curvature
from riemannopt.nn.damping import levenberg_marquardt
from riemannopt.nn.hf import HessianFree
from riemannopt.nn.midpoint import TwoPassMidpoint
from riemannopt.nn.objective import Objective
from riemannopt.nn.rules import RULES


def exact(**kw):
    return dict(max_cg=5, cg=dict(eps=0, tol=1e-13), **kw)


def test_paper_weight_decay_every_parameter_not_in_the_curvature():
    """decay_biases=True: f = L + ½w‖θ‖² and ∇f = ∇L + wθ on every parameter;
    decay_in_curvature=False: the curvature product is F v alone, while the preconditioner's
    diagonal still carries w."""
    net, X, T, theta = tiny_bce()
    obj = Objective(net, X, T, WD, 0, decay_biases=True, decay_in_curvature=False)
    ev = obj.evaluate(theta)
    assert ev.value == pytest.approx(bce(net, theta, X, T) + 0.5 * WD * theta @ theta, rel=1e-13)
    opt = HessianFree(obj, Curvature(obj), RULES["ng"], damping=LAM, **exact())
    step = opt.context(1, ev)
    np.testing.assert_allclose(step.grad, net.gradient(theta, X, T) + WD * theta, rtol=1e-12)
    v = np.arange(1.0, 6.0)
    np.testing.assert_allclose(step.metric.fvp(v), fisher(net, theta, X) @ v, rtol=1e-12)
    per_example = np.array([net.gradient(theta, X[k : k + 1], T[k : k + 1]) for k in range(len(X))])
    np.testing.assert_allclose(step.precond, (np.mean(per_example**2, 0) + WD + LAM) ** 0.75, rtol=1e-12)


@pytest.mark.parametrize("in_curvature", [False, True])
def test_rho_on_the_curvature_chunk(in_curvature):
    """ρ = (f_c(θ + u) − f_c(θ)) / (∇fᵀu + ½uᵀF_c u): f_c the chunk's mean loss plus the decay,
    F_c the chunk's Fisher without the decay, ∇f the full gradient (Martens 2010 §4.1)."""
    net, X, T, theta = tiny_bce(n=16)
    obj = Objective(net, X, T, WD, 0, decay_biases=True, decay_in_curvature=in_curvature)
    curv = Curvature(obj, chunks=2)
    opt = HessianFree(obj, curv, RULES["ng"], damping=LAM, **exact(rho="chunk"))
    ev = obj.evaluate(theta)
    k = 2
    step = opt.context(k, ev)
    Xc, Tc = (np.asarray(a) for a in curv.chunk(k))  # the shuffled data's second half
    g = net.gradient(theta, X, T) + WD * theta
    u = -np.linalg.solve(fisher(net, theta, Xc) + LAM * np.eye(5), g)  # a descent step
    new = obj.evaluate(theta + u)

    def fc(th):
        return bce(net, th, Xc, Tc) + 0.5 * WD * th @ th

    want = _ratio(fc(theta + u) - fc(theta), g @ u + 0.5 * u @ fisher(net, theta, Xc) @ u)
    assert math.isfinite(want) and want > 0
    assert opt.ratio(k, step, ev, u, new) == pytest.approx(want, rel=1e-10)
    full = HessianFree(obj, curv, RULES["ng"], damping=LAM, **exact(rho="full"))
    Fd = fisher(net, theta, Xc) + (WD * np.eye(5) if in_curvature else 0)
    want_full = _ratio(new.value - ev.value, g @ u + 0.5 * u @ Fd @ u)
    assert full.ratio(k, full.context(k, ev), ev, u, new) == pytest.approx(want_full, rel=1e-10)


def _armijo(f, f0, slope, start):
    r = start
    for _ in range(60):
        if f(r) <= f0 + 1e-2 * r * min(slope, 0.0):
            return r
        r *= 0.8
    return 0.0


def _ratio(actual, predicted):
    if not math.isfinite(actual) or actual > 0:
        return -math.inf
    return actual / predicted


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_pass_midpoint_against_its_transcription(seed):
    """One iteration of the paper's mid, transcribed densely: pass 1 at θ (x₁, ρ of the half step,
    λ₁, Armijo on θ + r·x₁/2 → r₁), pass 2 at θ_m = θ + r₁/2·x₁ with λ₁ (x, ρ of r₁·x with the
    midpoint's gradient and curvature, λ₂, Armijo on θ + r·x from r₁ with slope ∇f(θ_m)ᵀx)."""
    net, X, T, theta = tiny_bce(seed)
    obj = Objective(net, X, T, WD, 0, decay_biases=True, decay_in_curvature=False)
    opt = TwoPassMidpoint(obj, Curvature(obj), damping=LAM, threshold=np.inf, **exact())
    up = opt.step(1, obj.evaluate(theta))

    def f(th):
        return bce(net, th, X, T) + 0.5 * WD * th @ th

    def grad(th):
        return net.gradient(th, X, T) + WD * th

    g0, F0 = grad(theta), fisher(net, theta, X)
    x1 = np.linalg.solve(F0 + LAM * np.eye(5), -g0)
    h = 0.5 * x1
    lam1 = levenberg_marquardt(LAM, _ratio(f(theta + h) - f(theta), g0 @ h + 0.5 * h @ F0 @ h))
    r1 = _armijo(lambda r: f(theta + 0.5 * r * x1), f(theta), g0 @ h, 1.0)
    assert r1 > 0
    tm = theta + 0.5 * r1 * x1
    gm, Fm = grad(tm), fisher(net, tm, X)
    x = np.linalg.solve(Fm + lam1 * np.eye(5), -gm)
    u = r1 * x
    rho = _ratio(f(theta + u) - f(theta), gm @ u + 0.5 * u @ Fm @ u)
    lam2 = levenberg_marquardt(lam1, rho)
    r = _armijo(lambda r: f(theta + r * x), f(theta), gm @ x, r1)
    np.testing.assert_allclose(up.theta, theta + r * x, rtol=1e-9, atol=1e-12)
    assert opt.damping == pytest.approx(lam2) and up.record["rho"] == pytest.approx(rho, rel=1e-8)
    assert up.record["rate"] == pytest.approx(r) and up.record["damping"] == LAM and up.record["corrected"]


def test_two_pass_midpoint_is_ng_above_the_threshold():
    net, X, T, theta = tiny_bce()
    obj = Objective(net, X, T, WD, 0)
    ev = obj.evaluate(theta)
    mid = TwoPassMidpoint(obj, Curvature(obj), damping=LAM, threshold=LAM, **exact()).step(1, ev)
    ng = HessianFree(obj, Curvature(obj), RULES["ng"], damping=LAM, threshold=LAM, **exact()).step(1, ev)
    np.testing.assert_array_equal(mid.theta, ng.theta)
    assert mid.record == ng.record


def test_adam_full_batch_is_one_step_per_iteration():
    """batch_size=None: one Adam step with the full gradient (decay included) per iteration,
    transcribed from Kingma & Ba (2015) Algorithm 1."""
    net, X, T, theta = tiny_bce()
    obj = Objective(net, X, T, WD, 0, decay_biases=True)
    opt = Adam(obj, lr=1e-2, seed=0)
    th, m, s = theta.copy(), np.zeros(5), np.zeros(5)
    ev = obj.evaluate(theta)
    for k in (1, 2, 3):
        up = opt.step(k, ev)
        g = net.gradient(th, X, T) + WD * th
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g * g
        th = th - 1e-2 * (m / (1 - 0.9**k)) / (np.sqrt(s / (1 - 0.999**k)) + 1e-8)
        np.testing.assert_allclose(up.theta, th, rtol=1e-12)
        ev = obj.evaluate(up.theta)
    assert opt.t == 3
