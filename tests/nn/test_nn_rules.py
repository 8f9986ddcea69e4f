"""Direction rules of Hessian-free training (riemannopt.nn.rules, one iteration's context from
riemannopt.nn.hf) against dense linear algebra and finite differences.

The networks have 5 parameters and each solve is allowed 5 CG steps at a relative residual of
1e-13, so CG solves exactly and keeps a single iterate (no backtracking choice); the damped
metric ``A = F + w·diag(m) + λI`` is assembled column by column from ``MLP.fisher_vp`` (checked
against complex-step Jacobians in test_nn_products.py) and solved with ``numpy.linalg.solve``.
"""

import numpy as np
import pytest

from riemannopt.errors import MethodError
from riemannopt.nn import MLP
from riemannopt.nn.curvature import Curvature
from riemannopt.nn.hf import HessianFree
from riemannopt.nn.objective import Objective
from riemannopt.nn.rules import RULES, get_rule

WD = 1e-2
LAM = 0.5


def setup(loss="bce", rule="ng", threshold=np.inf, seed=0):
    out = "sigmoid" if loss == "bce" else "linear"
    net = MLP([2, 1, 1], ["tanh", out], loss, dtype=np.float64)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((12, 2))
    T = rng.uniform(0.05, 0.95, (12, 1)) if loss == "bce" else rng.standard_normal((12, 1))
    theta = rng.standard_normal(net.n_params)
    obj = Objective(net, X, T, WD, seed=0)
    opt = HessianFree(
        obj,
        Curvature(obj),
        RULES[rule],
        damping=LAM,
        threshold=threshold,
        max_cg=net.n_params,
        cg=dict(eps=0, tol=1e-13),
    )
    return net, X, T, theta, obj, opt


def mask(net):
    m = np.zeros(net.n_params)
    for W, _ in net.layout.views(m):
        W[...] = 1
    return m


def damped(net, theta, X):
    F = np.column_stack([net.fisher_vp(theta, X, e) for e in np.eye(net.n_params)])
    return F + np.diag(WD * mask(net) + LAM)


def grad_f(net, theta, X, T):
    return net.gradient(theta, X, T) + WD * mask(net) * theta


def test_gradient_preconditioner_and_ng_direction():
    """∇f is the data gradient plus weight decay on the weights only; the preconditioner is
    (mean of squared per-example gradients + w·m + λ)^¾ with the per-example gradients taken
    one row at a time; d = −A⁻¹∇f."""
    net, X, T, theta, obj, opt = setup()
    step = opt.context(1, obj.evaluate(theta))
    g = grad_f(net, theta, X, T)
    np.testing.assert_allclose(step.grad, g, rtol=1e-12, atol=1e-15)
    per_example = np.array([net.gradient(theta, X[k : k + 1], T[k : k + 1]) for k in range(len(X))])
    want = (np.mean(per_example**2, axis=0) + WD * mask(net) + LAM) ** 0.75
    np.testing.assert_allclose(step.precond, want, rtol=1e-12)
    p = RULES["ng"].propose(step)
    np.testing.assert_allclose(p.direction, np.linalg.solve(damped(net, theta, X), -g), rtol=1e-9, atol=1e-13)
    assert p.correction is None and not p.corrected


def test_geo_correction_and_its_r_squared_scaling():
    """c = −½A⁻¹Γ_first(d, d) (eq. 7 with the damped metric), and u(r) = r·d + r²·c."""
    net, X, T, theta, obj, opt = setup(rule="geo")
    p = RULES["geo"].propose(opt.context(1, obj.evaluate(theta)))
    d = p.direction
    want = -0.5 * np.linalg.solve(damped(net, theta, X), net.connection_vp(theta, X, d))
    np.testing.assert_allclose(p.correction, want, rtol=1e-9, atol=1e-14)
    assert p.corrected and np.abs(want).max() > 1e-6
    np.testing.assert_allclose(p.update(0.6, net.backend), 0.6 * d + 0.36 * want, rtol=1e-12, atol=1e-15)


def test_geof_with_a_previous_update_and_with_zero():
    """With Δ: w = A⁻¹(−∇f − ½Γ_first(Δ, Δ)) (eq. 8–9).  With Δ = 0 (and with no Δ at all) the
    proposal is ng's, bit for bit."""
    net, X, T, theta, obj, opt = setup(rule="geof")
    ev = obj.evaluate(theta)
    delta = 0.3 * np.random.default_rng(9).standard_normal(net.n_params)
    opt.previous = delta
    p = RULES["geof"].propose(opt.context(1, ev))
    b = -grad_f(net, theta, X, T) - 0.5 * net.connection_vp(theta, X, delta)
    np.testing.assert_allclose(p.direction, np.linalg.solve(damped(net, theta, X), b), rtol=1e-9, atol=1e-13)
    assert p.corrected
    ng = RULES["ng"].propose(opt.context(1, ev))
    for previous, corrected in ((np.zeros(net.n_params), True), (None, False)):
        opt.previous = previous
        q = RULES["geof"].propose(opt.context(1, ev))
        np.testing.assert_array_equal(q.direction, ng.direction)
        assert q.corrected is corrected and q.cg_iterations == ng.cg_iterations


def test_mid_direction_is_the_natural_gradient_at_the_midpoint():
    """d = −A(θ_m)⁻¹∇f(θ_m) at θ_m = θ + ½d₁, d₁ = −A(θ)⁻¹∇f(θ), all dense."""
    net, X, T, theta, obj, opt = setup(rule="mid1")
    p = RULES["mid1"].propose(opt.context(1, obj.evaluate(theta)))
    d1 = np.linalg.solve(damped(net, theta, X), -grad_f(net, theta, X, T))
    mid = theta + 0.5 * d1
    want = np.linalg.solve(damped(net, mid, X), -grad_f(net, mid, X, T))
    np.testing.assert_allclose(p.direction, want, rtol=1e-8, atol=1e-12)
    assert p.corrected and p.correction is None and np.abs(want - d1).max() > 1e-4


def test_perturb_correction_against_finite_differences():
    """δθ₂ = −A⁻¹P(d) with P the bracket of App. F eq. (20), built here from central finite
    differences of the public outputs and gradients (squared loss, linear output, σ = 1, so
    ∂L/∂s = y − t and H_s = I): P(v) = R_v(J_sᵀ)(y − t + R_v(s)) + ½J_sᵀS_v(s), with
    J_s(θ')ᵀw = gradient(θ', X, y(θ') − w) (means over the rows)."""
    net, X, T, theta, obj, opt = setup(loss="squared", rule="perturb")
    p = RULES["perturb"].propose(opt.context(1, obj.evaluate(theta)))
    v = p.direction
    eps = 1e-4
    s = lambda th: net.predict(th, X)  # noqa: E731
    jt = lambda th, w: net.gradient(th, X, s(th) - w)  # noqa: E731
    rs = (s(theta + eps * v) - s(theta - eps * v)) / (2 * eps)
    ss = (s(theta + eps * v) - 2 * s(theta) + s(theta - eps * v)) / eps**2
    w = s(theta) - T + rs
    bracket = (jt(theta + eps * v, w) - jt(theta - eps * v, w)) / (2 * eps) + jt(theta, 0.5 * ss)
    want = -np.linalg.solve(damped(net, theta, X), bracket)
    np.testing.assert_allclose(p.correction, want, rtol=1e-5, atol=1e-9)
    assert p.corrected and np.abs(want).max() > 1e-4
    np.testing.assert_allclose(p.update(0.5, net.backend), 0.5 * v + 0.25 * p.correction, rtol=1e-12)


@pytest.mark.parametrize("rule", ["mid1", "geo", "geof", "perturb"])
def test_no_correction_at_or_above_the_threshold(rule):
    """λ = threshold: corrections off, the proposal is ng's bit for bit."""
    net, X, T, theta, obj, opt = setup(loss="squared", rule=rule, threshold=LAM)
    opt.previous = 0.1 * np.ones(net.n_params)
    ev = obj.evaluate(theta)
    step = opt.context(1, ev)
    assert not step.corrections
    p, ng = RULES[rule].propose(step), RULES["ng"].propose(opt.context(1, ev))
    np.testing.assert_array_equal(p.direction, ng.direction)
    assert p.correction is None and not p.corrected and p.cg_iterations == ng.cg_iterations


def test_registry():
    assert list(RULES) == ["ng", "mid1", "geo", "geof", "perturb"] and get_rule("geof") is RULES["geof"]
    assert [r.name for r in RULES.values() if r.needs_targets] == ["perturb"]
    with pytest.raises(MethodError, match="unknown direction rule 'adam'"):
        get_rule("adam")
