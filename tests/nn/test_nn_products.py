"""Gradient, Fisher-vector and connection-vector products of riemannopt.nn.MLP.

Every product is checked against an independent computation built here from a naive forward
pass (``ref_outputs``, complex-safe, sharing only the documented flat layout of θ with the
package): complex-step derivatives (exact to round-off), dense Fisher matrices
``E_x J_yᵀ diag(c1) J_y`` from complex-step Jacobians, and central finite differences.
Networks are tiny (≤ 40 parameters) and everything is float64 unless stated.
"""

import numpy as np
import pytest

from riemannopt.nn import MLP
from riemannopt.nn.activations import ACTIVATIONS
from riemannopt.nn.losses import LOSSES

CASES = {
    # name: (sizes, activations, loss, sigma)  -- parameters in the comment
    "squared_linear": ([3, 3, 2, 2], ["tanh", "linear", "linear"], "squared", 0.7),  # 26
    "squared_sigmoid": ([2, 4, 3], ["sigmoid", "sigmoid"], "squared", 1.0),  # 27
    "bce": ([2, 3, 3, 2], ["tanh", "sigmoid", "sigmoid"], "bce", 1.0),  # 29
    "softmax_ce": ([2, 3, 3, 3], ["tanh", "sigmoid", "softmax"], "softmax_ce", 1.0),  # 33
    "softmax_one_layer": ([3, 4], ["softmax"], "softmax_ce", 1.0),  # 16: S(s) = 0 throughout
}
# From the registries, so that a new activation or loss is checked here as soon as it is entered
# (and its formula added to the reference below): every element-wise activation in two hidden
# layers, and every loss with every output activation it allows.
CASES |= {
    f"hidden_{name}": ([2, 3, 3, 2], [name, name, "linear"], "squared", 1.0)  # 29
    for name, cls in ACTIVATIONS.items()
    if cls.elementwise
}
CASES |= {
    f"{loss}_output_{name}": ([2, 3, 3], ["tanh", name], loss, 1.0)  # 21
    for loss, cls in LOSSES.items()
    for name, act in ACTIVATIONS.items()
    if cls.allows(act)
}


# -- the independent reference -----------------------------------------------------------------


def ref_layers(theta, sizes):
    layers, k = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = theta[k : k + n_in * n_out].reshape(n_out, n_in)
        k += n_in * n_out
        layers.append((W, theta[k : k + n_out]))
        k += n_out
    assert k == len(theta)
    return layers


def ref_outputs(theta, X, sizes, acts):
    """Naive forward pass; analytic in theta, so complex steps work through it."""
    a = X
    for (W, b), name in zip(ref_layers(theta, sizes), acts):
        s = a @ W.T + b
        if name == "sigmoid":
            a = 1 / (1 + np.exp(-s))
        elif name == "tanh":
            a = np.tanh(s)
        elif name == "linear":
            a = s
        elif name == "softmax":
            e = np.exp(s - s.real.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        else:
            raise KeyError(f"no reference formula for activation {name!r}: add it to ref_outputs")
    return a


def ref_loss(theta, X, T, case):
    sizes, acts, loss, sigma = CASES[case]
    y = ref_outputs(theta, X, sizes, acts)
    if loss == "squared":
        nll = 0.5 * np.sum((T - y) ** 2) / sigma**2
    elif loss == "bce":
        nll = -np.sum(T * np.log(y) + (1 - T) * np.log(1 - y))
    elif loss == "softmax_ce":
        nll = -np.sum(T * np.log(y))
    else:
        raise KeyError(f"no reference formula for loss {loss!r}: add it to ref_loss, c1_c2 and problem")
    return nll / len(X)


def complex_step(f, theta, v, h=1e-30):
    """Directional derivative of f at theta along v, exact to round-off."""
    return f(theta + 1j * h * v).imag / h


def jac_y(theta, X, case):
    """(n, o, P) Jacobian of the outputs by complex steps along each coordinate."""
    sizes, acts, _, _ = CASES[case]
    f = lambda t: ref_outputs(t, X, sizes, acts)  # noqa: E731
    eye = np.eye(len(theta))
    return np.stack([complex_step(f, theta, e) for e in eye], axis=-1)


def c1_c2(y, case):
    """Proposition 2 coefficients in terms of the outputs (the naive, unstable form)."""
    _, _, loss, sigma = CASES[case]
    if loss == "squared":
        return np.full_like(y, 1 / sigma**2), np.zeros_like(y)
    if loss == "bce":
        return 1 / (y * (1 - y)), (2 * y - 1) / (2 * y**2 * (1 - y) ** 2)
    return 1 / y, -1 / (2 * y**2)


def dense_fisher(theta, X, case):
    """F = E_x J_yᵀ diag(c1) J_y: the Fisher of p(t | y) pulled back through y(θ) (App. B)."""
    sizes, acts, _, _ = CASES[case]
    y = ref_outputs(theta, X, sizes, acts)
    J = jac_y(theta, X, case)
    c1, _ = c1_c2(y, case)
    return np.einsum("nip,ni,niq->pq", J, c1, J) / len(X)


def second_directional(theta, X, v, case, h=1e-4):
    """S_v(y) by central differences (truncation O(h²) ≈ 1e-9, round-off ≈ 1e-8)."""
    sizes, acts, _, _ = CASES[case]
    f = lambda t: ref_outputs(t, X, sizes, acts)  # noqa: E731
    return (f(theta + h * v) - 2 * f(theta) + f(theta - h * v)) / h**2


def problem(case, seed=0, n=5):
    sizes, acts, loss, sigma = CASES[case]
    net = MLP(sizes, acts, loss, sigma=sigma)
    rng = np.random.default_rng(seed)
    theta = net.init(seed, scheme="gaussian", scale=0.8)
    theta += 0.1 * rng.standard_normal(net.n_params)  # non-zero biases too
    X = rng.standard_normal((n, sizes[0]))
    if loss == "squared":
        T = rng.standard_normal((n, sizes[-1]))
    elif loss == "bce":
        T = rng.uniform(0, 1, (n, sizes[-1]))
    else:
        T = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    v = rng.standard_normal(net.n_params)
    return net, theta, X, T, v


def assert_close(got, want, rel):
    """|got − want| ≤ rel · ‖want‖ entrywise (the products are vectors of mixed scales)."""
    np.testing.assert_allclose(got, want, rtol=0, atol=rel * np.linalg.norm(want))


# -- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_loss_and_gradient_match_complex_step(case):
    """Loss against the naive NLL (1e-12); gradient against complex-step derivatives (1e-10)."""
    net, theta, X, T, _ = problem(case)
    assert net.loss(theta, X, T) == pytest.approx(ref_loss(theta, X, T, case), rel=1e-12)
    eye = np.eye(net.n_params)
    want = np.array([complex_step(lambda t: ref_loss(t, X, T, case), theta, e) for e in eye])
    assert_close(net.gradient(theta, X, T), want, 1e-10)


@pytest.mark.parametrize("case", CASES)
def test_fisher_vp_matches_dense_fisher(case):
    """F v against E_x J_yᵀ diag(c1) J_y v with complex-step Jacobians (1e-10)."""
    net, theta, X, _, v = problem(case)
    assert_close(net.fisher_vp(theta, X, v), dense_fisher(theta, X, case) @ v, 1e-10)


def test_fisher_vp_is_symmetric_psd():
    """uᵀ F v == vᵀ F u and vᵀ F v ≥ 0 (properties of a Fisher matrix), to 1e-12."""
    net, theta, X, _, v = problem("softmax_ce")
    u = np.random.default_rng(3).standard_normal(net.n_params)
    assert u @ net.fisher_vp(theta, X, v) == pytest.approx(v @ net.fisher_vp(theta, X, u), rel=1e-12)
    assert v @ net.fisher_vp(theta, X, v) > 0


@pytest.mark.parametrize("case", CASES)
def test_connection_vp_matches_prop2_with_fd_second_derivative(case):
    """Γ_first(v, v) against Prop. 2 with exact J, R_v(y) = J v and central-difference S_v(y) (1e-6)."""
    net, theta, X, _, v = problem(case)
    sizes, acts, _, _ = CASES[case]
    y = ref_outputs(theta, X, sizes, acts)
    J = jac_y(theta, X, case)
    R = J @ v
    S = second_directional(theta, X, v, case)
    c1, c2 = c1_c2(y, case)
    want1 = np.einsum("nip,ni->p", J, c1 * S) / len(X)
    want2 = np.einsum("nip,ni->p", J, c2 * R**2) / len(X)
    term1, term2 = net.connection_terms(theta, X, v)
    assert_close(term1, want1, 1e-6)
    assert_close(term2, want2, 1e-10)
    assert_close(net.connection_vp(theta, X, v), want1 + want2, 1e-6)
    assert_close(term1 + term2, net.connection_vp(theta, X, v), 1e-13)


@pytest.mark.parametrize("case", CASES)
def test_connection_vp_matches_definition_from_dense_fisher(case):
    """Γ_first(v, v) = (D_v F) v − ½ ∇(vᵀ F v) (eq. 2), F by complex-step Jacobians,
    both derivatives by central differences with h = 1e-5 (truncation ≈ 1e-10): tolerance 1e-6."""
    net, theta, X, _, v = problem(case)
    h = 1e-5
    F = lambda t: dense_fisher(t, X, case)  # noqa: E731
    dvF = (F(theta + h * v) - F(theta - h * v)) / (2 * h)
    grad_vFv = np.array([(v @ F(theta + h * e) @ v - v @ F(theta - h * e) @ v) / (2 * h) for e in np.eye(len(theta))])
    assert_close(net.connection_vp(theta, X, v), dvF @ v - 0.5 * grad_vFv, 1e-6)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("explicit_lam", [False, True])
def test_term3_matches_finite_differences(case, explicit_lam):
    """Term 3 = ∇_θ' [E_x Σ_i μ_i R_v(y_i)(θ')] at θ' = θ with μ = λ ⊙ R_v(y)(θ) held fixed:
    R_v(y)(θ') by complex step, the outer gradient by central differences h = 1e-5 (1e-7)."""
    net, theta, X, _, v = problem(case)
    sizes, acts, _, _ = CASES[case]
    f = lambda t: ref_outputs(t, X, sizes, acts)  # noqa: E731
    y = f(theta)
    lam = np.random.default_rng(7).uniform(0.5, 2.0, y.shape) if explicit_lam else c1_c2(y, case)[0]
    mu = lam * complex_step(f, theta, v)
    g = lambda t: np.sum(mu * complex_step(f, t, v)) / len(X)  # noqa: E731
    h = 1e-5
    want = np.array([(g(theta + h * e) - g(theta - h * e)) / (2 * h) for e in np.eye(len(theta))])
    got = net.term3(theta, X, v, lam=lam if explicit_lam else None)
    assert_close(got, want, 1e-7)


@pytest.mark.parametrize("case", CASES)
def test_linearization_reuses_forward_pass(case):
    """Products of a stored linearization equal the one-shot methods bit for bit."""
    net, theta, X, T, v = problem(case)
    state = net.linearize(theta, X)
    np.testing.assert_array_equal(state.y, net.predict(theta, X))
    np.testing.assert_array_equal(state.gradient(T), net.gradient(theta, X, T))
    np.testing.assert_array_equal(state.fisher_vp(v), net.fisher_vp(theta, X, v))
    np.testing.assert_array_equal(state.connection_vp(v), net.connection_vp(theta, X, v))
    np.testing.assert_array_equal(state.term3(v), net.term3(theta, X, v))
    assert state.loss(T) == net.loss(theta, X, T)


def test_products_are_linear_in_v_and_quadratic_in_v():
    """F(2v) = 2 F v and Γ(2v, 2v) = 4 Γ(v, v) (1e-13): no stray terms independent of v."""
    net, theta, X, _, v = problem("bce")
    assert_close(net.fisher_vp(theta, X, 2 * v), 2 * net.fisher_vp(theta, X, v), 1e-13)
    assert_close(net.connection_vp(theta, X, 2 * v), 4 * net.connection_vp(theta, X, v), 1e-13)


def test_softmax_integer_labels_equal_one_hot():
    net, theta, X, T, _ = problem("softmax_ce")
    labels = T.argmax(axis=1)
    assert net.loss(theta, X, labels) == net.loss(theta, X, T)
    np.testing.assert_array_equal(net.gradient(theta, X, labels), net.gradient(theta, X, T))


@pytest.mark.parametrize("case", CASES)
def test_saturated_outputs_give_finite_products(case):
    """Weights × 300 saturate every sigmoid/softmax (outputs round to exactly 0 or 1), where the
    naive c1 = 1/(y(1−y)), c2 ∝ 1/y² are infinite; the products must stay finite without
    overflow, division by zero or invalid operations (underflow to 0 is expected)."""
    net, theta, X, T, v = problem(case)
    theta = 300 * theta
    y = net.predict(theta, X)
    if CASES[case][2] != "squared":
        assert np.any((y == 0) | (y == 1))
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        values = [
            np.array(net.loss(theta, X, T)),
            net.gradient(theta, X, T),
            net.fisher_vp(theta, X, v),
            net.connection_vp(theta, X, v),
            *net.connection_terms(theta, X, v),
            net.term3(theta, X, v),
        ]
    assert all(np.all(np.isfinite(x)) for x in values)


def test_bce_connection_stable_form_matches_naive_form_near_saturation():
    """With outputs at 1 − y ≈ 1e-6 (saturating, still representable) the stable signal agrees
    with Prop. 2's naive c1, c2 applied to exact R_v(y), S_v(y) of a one-layer net (1e-6)."""
    net = MLP([2, 1], ["sigmoid"], "bce")
    theta = np.array([12.0, 6.0, 0.5])  # s = 13.7 at both rows of X below
    X = np.array([[1.0, 0.2], [0.9, 0.4]])
    v = np.array([0.3, -0.2, 0.1])
    # One layer: s = X w + b is linear in θ, so R(s) = X v_w + v_b, S(s) = 0.
    s = X @ theta[:2] + theta[2]
    y = 1 / (1 + np.exp(-s))
    rs = X @ v[:2] + v[2]
    ry = y * (1 - y) * rs
    sy = y * (1 - y) * (1 - 2 * y) * rs**2
    c1 = 1 / (y * (1 - y))
    c2 = (2 * y - 1) / (2 * y**2 * (1 - y) ** 2)
    signal = (c1 * sy + c2 * ry**2) * y * (1 - y)  # J_sᵀ of the output activation
    want = np.concatenate([signal @ X, [signal.sum()]]) / len(X)
    assert 1 - y.max() < 1e-5
    assert_close(net.connection_vp(theta, X, v), want, 1e-6)


@pytest.mark.parametrize("case", ["bce", "softmax_ce"])
def test_float32_close_to_float64(case):
    """A float32 network computes in float32 and agrees with float64 to 1e-4 (relative)."""
    net, theta, X, T, v = problem(case)
    sizes, acts, loss, sigma = CASES[case]
    net32 = MLP(sizes, acts, loss, sigma=sigma, dtype=np.float32)
    assert net32.init(0).dtype == np.float32
    for name, args in [("gradient", (T,)), ("fisher_vp", (v,)), ("connection_vp", (v,)), ("term3", (v,))]:
        got = getattr(net32, name)(theta.astype(np.float32), X.astype(np.float32), *args)
        assert got.dtype == np.float32, name
        assert_close(got, getattr(net, name)(theta, X, *args), 1e-4)
    assert net32.loss(theta, X, T) == pytest.approx(net.loss(theta, X, T), rel=1e-5)


# -- products the trainer uses (issue 9) --------------------------------------------------------


def ref_logits(theta, X, sizes, acts):
    """The output pre-activation s_l: ref_outputs without the last activation (complex-safe)."""
    return ref_outputs(theta, X, sizes, list(acts[:-1]) + ["linear"])


def per_example_gradients(theta, X, T, case):
    """(n, P) gradients of each example's own loss, by complex steps (exact to round-off)."""
    eye = np.eye(len(theta))
    return np.array(
        [
            [complex_step(lambda t: ref_loss(t, X[k : k + 1], T[k : k + 1], case), theta, e) for e in eye]
            for k in range(len(X))
        ]
    )


def output_fisher_and_signal(s, T, case):
    """Per example: F_s = J_φᵀ diag(c1) J_φ and ∂ℓ/∂s = J_φᵀ ∂ℓ/∂y, with J_φ = ∂y/∂s by complex
    steps through the output activation (independent of the package's stable forms)."""
    sizes, acts, loss, sigma = CASES[case]

    def phi(z):
        return ref_outputs(
            np.concatenate([np.eye(z.shape[1]).ravel(), np.zeros(z.shape[1])]), z, [z.shape[1]] * 2, acts[-1:]
        )  # noqa: E731

    F, g = [], []
    for k in range(len(s)):
        z = s[k : k + 1]
        J = np.array([complex_step(phi, z, e)[0] for e in np.eye(z.shape[1])]).T  # J[i, j] = ∂y_i/∂s_j
        y = phi(z)[0].real
        c1, _ = c1_c2(y, case)
        t = T[k]
        dl_dy = {"squared": (y - t) / sigma**2, "bce": (y - t) / (y * (1 - y)), "softmax_ce": -t / y}[loss]
        F.append(J.T @ np.diag(c1) @ J)
        g.append(J.T @ dl_dy)
    return np.array(F), np.array(g)


@pytest.mark.parametrize("case", CASES)
def test_gradient_and_diag_against_per_example_gradients(case):
    """The gradient equals net.gradient bit for bit; the diagonal equals (1/n) Σ_k g_k ⊙ g_k of
    complex-step per-example gradients (1e-12)."""
    net, theta, X, T, _ = problem(case)
    state = net.linearize(theta, X)
    grad, diag = state.gradient_and_diag(T)
    np.testing.assert_array_equal(grad, state.gradient(T))
    G = per_example_gradients(theta, X, T, case)
    assert_close(diag, np.mean(G * G, axis=0), 1e-12)


@pytest.mark.parametrize("case", CASES)
def test_empirical_fisher_vp_against_dense(case):
    """(1/n) Σ_k g_k g_kᵀ v from complex-step per-example gradients (1e-12); unlike the Fisher
    it depends on the targets."""
    net, theta, X, T, v = problem(case)
    G = per_example_gradients(theta, X, T, case)
    assert_close(net.linearize(theta, X).empirical_fisher_vp(v, T), G.T @ (G @ v) / len(X), 1e-12)


@pytest.mark.parametrize("case", CASES)
def test_perturb_vp_against_finite_differences(case):
    """App. F eq. (20): R_v(J_sᵀ)(∂L/∂s + H_s R_v(s)) + ½ J_sᵀ H_s S_v(s), with H_s the output
    Fisher.  First part: ∇_θ' [mean_k w_k · R_v(s_k)(θ')] with w held fixed, R_v by complex
    step and the outer gradient by central differences; second part: ½ ∇_θ' [mean_k u_k · s_k(θ')]
    with u = H_s S_v(s), S_v(s) by central second differences (1e-6 of the norm, or absolutely
    where the bracket vanishes: a one-layer net has R_v(J_sᵀ) = 0 and S_v(s) = 0)."""
    net, theta, X, T, v = problem(case)
    sizes, acts, _, _ = CASES[case]
    s_of = lambda t: ref_logits(t, X, sizes, acts)  # noqa: E731
    s = s_of(theta).real
    F, g = output_fisher_and_signal(s, T, case)
    rs = complex_step(s_of, theta, v)
    w = g + np.einsum("kij,kj->ki", F, rs)
    h = 1e-5
    outer = lambda t: np.sum(w * complex_step(s_of, t, v)) / len(X)  # noqa: E731
    first = np.array([(outer(theta + h * e) - outer(theta - h * e)) / (2 * h) for e in np.eye(len(theta))])
    h2 = 1e-4
    ss = (s_of(theta + h2 * v) - 2 * s + s_of(theta - h2 * v)) / h2**2
    u = np.einsum("kij,kj->ki", F, ss)
    second = np.array([complex_step(lambda t: np.sum(u * s_of(t)) / len(X), theta, e) for e in np.eye(len(theta))])
    want = first + 0.5 * second
    got = net.linearize(theta, X).perturb_vp(v, T)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * max(np.linalg.norm(want), 1.0))


def test_perturb_vp_vanishes_for_one_layer():
    """A one-layer network's logits are linear in θ: R_v(J_sᵀ) = 0 and S_v(s) = 0, so the bracket
    of eq. (20) is exactly zero whatever the targets."""
    net = MLP([3, 4], ["softmax"], "softmax_ce")
    rng = np.random.default_rng(3)
    theta, X = rng.standard_normal(net.n_params), rng.standard_normal((6, 3))
    T = np.eye(4)[rng.integers(0, 4, 6)]
    np.testing.assert_array_equal(net.linearize(theta, X).perturb_vp(rng.standard_normal(net.n_params), T), 0)


@pytest.mark.parametrize("case", ["squared_linear", "softmax_ce"])
def test_error_kinds(case):
    """Squared error = mean_k ‖y_k − t_k‖²; classification error = share of argmax mismatches,
    both from the naive forward pass."""
    net, theta, X, T, _ = problem(case, n=9)
    sizes, acts, _, _ = CASES[case]
    y = ref_outputs(theta, X, sizes, acts)
    state = net.linearize(theta, X)
    assert state.error(T, "squared") == pytest.approx(np.sum((y - T) ** 2) / len(X), rel=1e-13)
    assert state.error(T, "classification") == np.mean(y.argmax(1) != T.argmax(1))


@pytest.mark.parametrize("loss", ["squared", "bce", "softmax_ce"])
def test_reported_error_follows_the_loss(loss):
    """``nn.train`` reports the error the loss's class declares: on a softmax classifier the
    recorded ``train_error`` is the share of argmax mismatches of the naive forward pass, on the
    other losses the mean squared error per example."""
    from riemannopt.nn import train

    acts = {"squared": "linear", "bce": "sigmoid", "softmax_ce": "softmax"}[loss]
    net = MLP([3, 5, 4], ["tanh", acts], loss)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((12, 3))
    T = np.eye(4)[rng.integers(0, 4, 12)] if loss != "squared" else rng.standard_normal((12, 4))
    res = train(net, X, T, "adam", 2, seed=0, dtype=np.float64, progress=False)
    y = ref_outputs(res.theta, X, [3, 5, 4], ["tanh", acts])
    want = np.mean(y.argmax(1) != T.argmax(1)) if loss == "softmax_ce" else np.sum((y - T) ** 2) / len(X)
    assert res.history["train_error"][-1] == pytest.approx(want, rel=1e-10)
