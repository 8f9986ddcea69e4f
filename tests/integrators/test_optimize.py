"""optimize(): step rules against hand-written numpy formulas, invariance properties, validation."""

import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
from riemannopt.errors import MethodError, ShapeError

LOOP = ["gd", "ng", "mid", "geo", "geof", "re", "rk4", "geo3"]


@pytest.fixture(scope="module")
def gamma():
    return ro.models.gamma_mle(ro.models.gamma_data()).compile()


def numpy_step(C, method, x, xprev, lr, k):
    """One step of each method written directly from the update rules of docs/mathematics.rst with numpy (independent of the
    jitted kernels; uses only the compiled metric, gradient and Christoffel symbols)."""
    d = lambda y: -np.linalg.solve(C.metric(y), C.grad(y))  # noqa: E731
    G = C.christoffel(x)
    gvv = lambda v: np.einsum("mij,i,j->m", G, v, v)  # noqa: E731
    if method == "gd":
        return x - lr * C.grad(x)
    if method == "ng":
        return x + lr * d(x)
    if method == "mid":
        return x + lr * d(x + lr / 2 * d(x))
    if method == "geo":
        return x + lr * d(x) - lr**2 / 2 * gvv(d(x))
    if method == "geof":
        v = d(x) if k == 0 else (x - xprev) / lr
        return x + lr * d(x) - lr**2 / 2 * gvv(v)
    if method == "rk4":
        k1 = d(x)
        k2 = d(x + lr / 2 * k1)
        k3 = d(x + lr / 2 * k2)
        k4 = d(x + lr * k3)
        return x + lr / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    raise AssertionError(method)


@pytest.mark.parametrize("method", ["gd", "ng", "mid", "geo", "geof", "rk4"])
def test_loop_matches_numpy_formulas(gamma, method):
    """Each jitted trajectory equals the numpy transcription of its update rule (rtol 1e-12)."""
    traj = ro.optimize(gamma, method, [1.0, 1.0], 0.5, 6)
    assert traj.x.shape == (7, 2) and traj.loss.shape == (7,)
    np.testing.assert_array_equal(traj.x[0], [1.0, 1.0])
    np.testing.assert_allclose(traj.t, 0.5 * np.arange(7))
    for k in range(6):
        want = numpy_step(gamma, method, traj.x[k], traj.x[k - 1] if k else traj.x[0], 0.5, k)
        np.testing.assert_allclose(traj.x[k + 1], want, rtol=1e-12)
        assert traj.loss[k + 1] == pytest.approx(gamma.loss(traj.x[k + 1]), rel=1e-14)


def test_geof_one_solve_form_equals_definition(gamma):
    """eq. 8–9: x + η g⁻¹(−∇L − ½η Γ_first(v, v)) = x + η d − ½η² Γ(v, v): checked above by
    test_loop_matches_numpy_formulas through the second form; here the first step equals geo's."""
    geo = ro.optimize(gamma, "geo", [1.0, 1.0], 0.5, 1)
    geof = ro.optimize(gamma, "geof", [1.0, 1.0], 0.5, 1)
    np.testing.assert_allclose(geof.x[1], geo.x[1], rtol=1e-14)


def test_re_step_is_exp_map(gamma):
    """re: x_{k+1} = Exp_{x_k}(η d(x_k)), with either exponential map."""
    traj = ro.optimize(gamma, "re", [1.0, 1.0], 0.5, 3)
    ivp = ro.optimize(gamma, "re", [1.0, 1.0], 0.5, 3, expmap="solve_ivp")
    for k in range(3):
        want = ro.exp_map(gamma, traj.x[k], 0.5 * gamma.direction(traj.x[k]), method="solve_ivp")
        np.testing.assert_allclose(traj.x[k + 1], want, rtol=1e-10)
    np.testing.assert_allclose(ivp.x, traj.x, rtol=1e-10)


def test_exact_matches_scipy_reference(gamma):
    """exact: the flow ẋ = d(x) sampled at t_k; against scipy's Radau with a plain numpy RHS."""
    from scipy.integrate import solve_ivp

    traj = ro.optimize(gamma, "exact", [1.0, 1.0], 0.5, 4)
    ref = solve_ivp(
        lambda t, x: gamma.direction(x), (0, 2.0), [1.0, 1.0], method="Radau", t_eval=traj.t, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(traj.x, ref.y.T, rtol=1e-8)


def test_methods_accept_problem_or_compiled(gamma):
    a = ro.optimize(gamma.problem, "ng", [1.0, 1.0], 0.5, 2)
    b = ro.optimize(gamma, "ng", [1.0, 1.0], 0.5, 2)
    np.testing.assert_array_equal(a.x, b.x)


def test_natural_methods_outpace_gradient_descent(gamma):
    """Figure 2's setting: every natural-gradient method brings the NLL from ≈1.006 below 0 in
    10 steps of lr 0.5, while plain gradient descent with the same lr stays above 0.5."""
    for m in ro.METHODS:
        traj = ro.optimize(gamma, m, [1.0, 1.0], 0.5, 10)
        assert np.all(np.diff(traj.loss) < 0), m
        if m == "gd":
            assert traj.loss[-1] > 0.5
        else:
            assert traj.loss[-1] < -0.09, m


# -- invariance ------------------------------------------------------------------------------------
def test_re_and_exact_are_invariant_and_ng_is_not():
    """Paper §7.1: re and exact agree across the four parameterizations after mapping back to
    (α, β) to 1e-9 relative; ng does not (spread ≥ 1e-3 at lr 0.5)."""
    res = ro.experiments.gamma_figure(methods=("ng", "exact", "re"))
    for m in ("exact", "re"):
        ref = res.x["identity", m]
        for r in res.reparams:
            np.testing.assert_allclose(res.x[r, m], ref, rtol=1e-9)
            np.testing.assert_allclose(res.nll[r, m], res.nll["identity", m], rtol=1e-9, atol=1e-12)
    assert res.spread("ng") >= 1e-3
    spread_x = max(np.abs(res.x[r, "ng"][-1] - res.x["identity", "ng"][-1]).max() for r in res.reparams)
    assert spread_x >= 1e-3


def test_ng_invariant_under_affine_reparameterization_and_gd_not():
    """Martens §10: natural gradient is exactly invariant under affine maps (to round-off), plain
    gradient descent is not."""
    P = ro.models.gaussian_mle(np.random.default_rng(0).normal(1.5, 0.7, 500))
    a, b = sp.symbols("a b", real=True)
    Q = P.reparameterize([a, b], [2 * a + b / 3 + 0.5, 3 * b + 0.25])
    x0 = np.array([0.0, 2.0])
    xi0 = Q.from_base(x0)
    np.testing.assert_allclose(Q.to_base(xi0), x0, rtol=1e-15, atol=1e-15)
    ng_p = ro.optimize(P, "ng", x0, 0.3, 12).x
    ng_q = Q.to_base(ro.optimize(Q, "ng", xi0, 0.3, 12).x)
    np.testing.assert_allclose(ng_q, ng_p, rtol=1e-12, atol=1e-13)
    gd_p = ro.optimize(P, "gd", x0, 0.05, 12).x
    gd_q = Q.to_base(ro.optimize(Q, "gd", xi0, 0.05, 12).x)
    assert np.abs(gd_q - gd_p).max() > 1e-2


# -- validation ------------------------------------------------------------------------------------
def test_bad_arguments(gamma):
    with pytest.raises(MethodError, match="ng, mid"):
        ro.optimize(gamma, "adam", [1.0, 1.0], 0.5, 3)
    with pytest.raises(ShapeError, match=r"x0 must have shape \(2,\)"):
        ro.optimize(gamma, "ng", [1.0, 1.0, 1.0], 0.5, 3)
    with pytest.raises(MethodError, match="lr must be a finite number > 0"):
        ro.optimize(gamma, "ng", [1.0, 1.0], 0.0, 3)
    with pytest.raises(MethodError, match="lr must be a finite number > 0"):
        ro.optimize(gamma, "ng", [1.0, 1.0], -0.5, 3)
    with pytest.raises(MethodError, match="steps must be an integer"):
        ro.optimize(gamma, "ng", [1.0, 1.0], 0.5, 0)
    with pytest.raises(MethodError, match="steps must be an integer"):
        ro.optimize(gamma, "ng", [1.0, 1.0], 0.5, 2.5)
    with pytest.raises(MethodError, match="exponential map"):
        ro.optimize(gamma, "re", [1.0, 1.0], 0.5, 2, expmap="euler")
    with pytest.raises(TypeError, match="Problem"):
        ro.optimize("gamma", "ng", [1.0, 1.0], 0.5, 2)


def _fd_jacobian(f, x, h=1e-6):
    """Central-difference Jacobian of f at x."""
    cols = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))]
    return np.column_stack(cols)


def test_rmid_matches_its_definition(gamma):
    """rmid's step from the public intrinsic operations: x½ = Exp_x(η/2·d), the direction there
    transported back along the same geodesic (from x½ with velocity −γ̇(1)), then Exp_x(η·w)
    (1e-10: each ODE solve at rtol 1e-12)."""
    lr, x = 0.5, np.array([1.0, 1.0])
    traj = ro.optimize(gamma, "rmid", x, lr, 3)
    for k in range(3):
        x = traj.x[k]
        half = ro.geodesic(gamma, x, lr / 2 * gamma.direction(x), [1.0])
        w = ro.parallel_transport(gamma, half.x[0], -half.v[0], gamma.direction(half.x[0]))
        np.testing.assert_allclose(traj.x[k + 1], ro.exp_map(gamma, x, lr * w), rtol=1e-10)


@pytest.mark.parametrize("reparam", ["identity", "squares"])
def test_rtaylor_matches_its_definition(gamma, reparam):
    """rtaylor's step Exp_x(η d + ½η² ∇_d d), with the covariant derivative ∇_d d = (Dd) d +
    Γ(d, d) taken by central differences of the compiled direction (independent of the kernel's
    Hessian form g⁻¹(−H d − ½∂g(d, d))); 1e-7 for the finite differences."""
    C = gamma if reparam == "identity" else gamma.problem.reparameterize(*ro.models.GAMMA_REPARAMS[reparam]).compile()
    lr, x = 0.5, np.array([1.0, 1.0])
    traj = ro.optimize(C, "rtaylor", x, lr, 3)
    for k in range(3):
        x = traj.x[k]
        d = C.direction(x)
        cov = _fd_jacobian(C.direction, x) @ d + C.gamma_vv(x, d)
        np.testing.assert_allclose(traj.x[k + 1], ro.exp_map(C, x, lr * d + lr**2 / 2 * cov), rtol=1e-7)


def test_newton_matches_its_definition(gamma):
    """newton's step x − η H⁻¹∇L with H from central differences of the compiled gradient, in
    the squares parameterization where the Hessian is not the Fisher metric (1e-7)."""
    C = gamma.problem.reparameterize(*ro.models.GAMMA_REPARAMS["squares"]).compile()
    traj = ro.optimize(C, "newton", [1.0, 1.0], 0.25, 4)
    for k in range(4):
        x = traj.x[k]
        want = x - 0.25 * np.linalg.solve(_fd_jacobian(C.grad, x), C.grad(x))
        np.testing.assert_allclose(traj.x[k + 1], want, rtol=1e-7)
    np.testing.assert_allclose(C.hessian(traj.x[1]), _fd_jacobian(C.grad, traj.x[1]), rtol=1e-7)


def test_newton_singular_hessian_is_named():
    """A loss with a flat direction (L = x², constant in y): the Hessian is singular at the start."""
    x, y = sp.symbols("x y", real=True)
    P = ro.Problem(ro.Metric([x, y], sp.eye(2)), x**2)
    with pytest.raises(
        ro.errors.SingularHessianError,
        match=r"method 'newton' failed at step 1: while computing x_1 from x_0 = \[1\. 1\.\]: the Hessian of the loss is singular",
    ) as info:
        ro.optimize(P, "newton", [1.0, 1.0], 0.5, 3)
    np.testing.assert_array_equal(info.value.trajectory.x, [[1.0, 1.0]])


def test_rmid_is_invariant_where_mid_is_not():
    """Gamma's four parameterizations of paper §7.1 at equal η (the Figure-2 setting): the
    spread of the final loss across them is at round-off for rmid and rtaylor, and 10⁴ times
    larger for mid."""
    base = ro.models.gamma_mle(ro.models.gamma_data())
    finals = {m: [] for m in ("mid", "rmid", "rtaylor")}
    for name, reparam in ro.models.GAMMA_REPARAMS.items():
        P = base if name == "identity" else base.reparameterize(*reparam)
        xi0 = np.array([1.0, 1.0]) if name == "identity" else P.from_base([1.0, 1.0])
        for m in finals:
            finals[m].append(ro.optimize(P, m, xi0, 0.5, 20).loss[-1])
    spread = {m: np.ptp(v) for m, v in finals.items()}
    assert spread["rmid"] < 1e-9 and spread["rtaylor"] < 1e-9, spread
    assert spread["mid"] > 1e4 * max(spread["rmid"], spread["rtaylor"]), spread
