"""Pascanu & Bengio's methods on a network (issue 25): natural conjugate gradient (NCG-F, NCG-L
with its two searches), minibatch natural gradient at a fixed rate (NGD) and SGD, each against a
dense transcription of its definition (tiny networks, exact CG: see test_nn_paper_loop.py)."""

import math

import numpy as np
import pytest
from dense_hf import LAM, WD, bce, fisher, tiny_bce

from riemannopt.nn.curvature import Curvature
from riemannopt.nn.damping import levenberg_marquardt
from riemannopt.nn.ncg import NaturalConjugateGradient
from riemannopt.nn.ngd import MinibatchNaturalGradient
from riemannopt.nn.objective import Objective
from riemannopt.nn.sgd import SGD


def problem(seed=0, n=12):
    net, X, T, theta = tiny_bce(seed, n)
    obj = Objective(net, X, T, WD, 0, decay_biases=True, decay_in_curvature=False)
    return net, obj, theta


def dense(net, obj):
    X, T = np.asarray(obj.X), np.asarray(obj.T)

    def f(th):
        return bce(net, th, X, T) + 0.5 * WD * th @ th

    def grad(th):
        return net.gradient(th, X, T) + WD * th

    def A(th, lam):
        return fisher(net, th, X) + lam * np.eye(net.n_params)

    return f, grad, A


def armijo(f, f0, slope, start):
    r = start
    for _ in range(60):
        if f(r) <= f0 + 1e-2 * r * min(slope, 0.0):
            return r
        r *= 0.8
    return 0.0


def ratio(f, theta, u, g, A0):
    actual = f(theta + u) - f(theta)
    return -math.inf if actual > 0 else actual / (g @ u + 0.5 * u @ A0 @ u)


def options():
    return dict(damping=LAM, threshold=np.inf, max_cg=5, cg=dict(eps=0, tol=1e-13))


@pytest.mark.parametrize("seed", [0, 3])
def test_ncg_f_iterations(seed):
    """Iteration 1: the restart, Armijo along N₁ from α₀ = −∇fᵀN/NᵀAN.  Then PR+
    β = max(0, rᵀ(N_t − N_{t−1})/r_{t−1}ᵀN_{t−1}), d = N_t + βd_{t−1}, Armijo along d from its
    α₀ (or the restart when β = 0 or d is not a descent direction)."""
    net, obj, theta = problem(seed)
    f, grad, A = dense(net, obj)
    opt = NaturalConjugateGradient(obj, Curvature(obj), variant="f", **options())
    ev = obj.evaluate(theta)
    lam, th, th_prev, d_prev, N_prev = LAM, theta.copy(), None, None, None
    conjugated = []
    for k in range(1, 7):
        up = opt.step(k, ev)
        g, Am = grad(th), A(th, lam)
        N = np.linalg.solve(Am, -g)
        d, conjugate = N, False
        if d_prev is not None:
            beta = max(0.0, -g @ (N - N_prev) / (-grad(th_prev) @ N_prev))
            if beta > 0 and g @ (N + beta * d_prev) < 0:
                d, conjugate = N + beta * d_prev, True
        a = armijo(lambda r: f(th + r * d), f(th), g @ d, -(g @ d) / (d @ Am @ d))
        rho = ratio(f, th, a * d, g, Am - lam * np.eye(5))
        th_prev, N_prev, d_prev = th, N, d
        th = th + a * d
        lam = levenberg_marquardt(lam, rho)
        np.testing.assert_allclose(up.theta, th, rtol=1e-8, atol=1e-12)
        assert opt.damping == pytest.approx(lam) and up.record["corrected"] is conjugate
        conjugated.append(conjugate)
        ev = obj.evaluate(up.theta)
    assert not conjugated[0] and any(conjugated), conjugated  # some iterations are conjugate steps


def test_ncg_l_model_search_second_iteration():
    """The 2-D search on the damped model: (α, β) = Q⁻¹b with Q the model's Gram matrix of
    (N, d₁) and b = −(∇fᵀN, ∇fᵀd₁), then Armijo on the scale of αN + βd₁."""
    net, obj, theta = problem(1)
    f, grad, A = dense(net, obj)
    opt = NaturalConjugateGradient(obj, Curvature(obj), variant="l", search="model", **options())
    up1 = opt.step(1, obj.evaluate(theta))
    th1, lam1 = up1.theta, opt.damping
    d1 = np.asarray(opt.direction)
    up2 = opt.step(2, obj.evaluate(th1))
    g, Am = grad(th1), A(th1, lam1)
    N = np.linalg.solve(Am, -g)
    B = np.column_stack([N, d1])
    ab = np.linalg.solve(B.T @ Am @ B, -B.T @ g)
    u = B @ ab
    s = armijo(lambda r: f(th1 + r * u), f(th1), g @ u, 1.0)
    assert up2.record["corrected"] and s > 0
    np.testing.assert_allclose(up2.theta, th1 + s * u, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(np.asarray(opt.direction), N + (ab[1] / ab[0]) * d1, rtol=1e-8)


def test_ncg_l_cobyla_search_is_no_worse_than_its_start():
    """COBYLA starts at (α, β) = (1, 0), so the step it takes is at least as good as θ + N."""
    net, obj, theta = problem(2)
    f, grad, A = dense(net, obj)
    opt = NaturalConjugateGradient(obj, Curvature(obj), variant="l", **options())
    th1 = opt.step(1, obj.evaluate(theta)).theta
    lam1 = opt.damping
    up = opt.step(2, obj.evaluate(th1))
    N = np.linalg.solve(A(th1, lam1), -grad(th1))
    assert f(up.theta) <= f(th1 + N) + 1e-12 and f(up.theta) < f(th1)


def test_minibatch_ng_at_a_fixed_rate():
    """NGD: x = −(F_c + λI)⁻¹∇f_b with the gradient on minibatch 0 and the Fisher on minibatch 1
    of the shuffled data, θ ← θ + r·x."""
    net, obj, theta = problem(n=16)
    opt = MinibatchNaturalGradient(obj, Curvature(obj), batch=8, rate=0.7, **options())
    up = opt.step(1, obj.evaluate(theta))
    X, T = np.asarray(obj.X), np.asarray(obj.T)
    g = net.gradient(theta, X[:8], T[:8]) + WD * theta
    F = np.column_stack([net.fisher_vp(theta, X[8:], e) for e in np.eye(5)])
    np.testing.assert_allclose(up.theta, theta - 0.7 * np.linalg.solve(F + LAM * np.eye(5), g), rtol=1e-9)
    assert up.evaluation is None and up.record["rate"] == 0.7


def test_sgd_epoch():
    """One epoch: θ ← θ − r∇f_B over the minibatches in the order drawn from (seed, k)."""
    net, obj, theta = problem(n=10)
    up = SGD(obj, lr=0.05, batch_size=4, seed=3).step(2, obj.evaluate(theta))
    X, T = np.asarray(obj.X), np.asarray(obj.T)
    batches = [(0, 4), (4, 8), (8, 10)]
    th = theta.copy()
    for b in np.random.default_rng([3, 2]).permutation(3):
        a, z = batches[b]
        th = th - 0.05 * (net.gradient(th, X[a:z], T[a:z]) + WD * th)
    np.testing.assert_allclose(up.theta, th, rtol=1e-12)
