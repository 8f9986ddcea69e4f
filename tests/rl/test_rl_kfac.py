"""The Kronecker-factored Fisher (K-FAC, ACKTR's curvature) against its definition.

The reference builds each layer's factors from scratch: ``A = E[ā āᵀ]`` from a hand-written
forward pass, and ``G = E_s Jᵀ F_y J`` with ``J = ∂y/∂b_l`` (= ``∂y/∂s_l``) by complex steps and
``F_y`` the Fisher of the output distribution in terms of ``y`` (``I/σ²`` for the Gaussian,
``diag(1/y)`` for the categorical policy); the approximate Fisher is then the dense
block-diagonal ``⊕_l G_l ⊗ A_l`` on ``vec([W_l, b_l])``.  For a one-layer Gaussian policy K-FAC is
exact, so it must equal the exact Fisher-vector products.
"""

import math

import numpy as np
import pytest

from riemannopt.rl import KFAC, CategoricalPolicy, GaussianPolicy, policy_update
from riemannopt.rl.rollout import Batch

OBS, HIDDEN = 3, (4, 3)


def ref_forward(theta, X, sizes, softmax):
    """Outputs and the inputs ā of every layer (complex-safe)."""
    a, k, inputs = X, 0, []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = theta[k : k + n_in * n_out].reshape(n_out, n_in)
        b = theta[k + n_in * n_out : k + n_in * n_out + n_out]
        k += n_in * n_out + n_out
        inputs.append(np.hstack([a, np.ones((len(a), 1))]))
        a = a @ W.T + b
        if i < len(sizes) - 2:
            a = np.tanh(a)
    if softmax:
        e = np.exp(a - a.real.max(axis=1, keepdims=True))
        a = e / e.sum(axis=1, keepdims=True)
    return a, inputs


def bias_slices(sizes):
    out, k = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        k += n_in * n_out
        out.append(slice(k, k + n_out))
        k += n_out
    return out


def reference_kfac(pol, params, X):
    """Dense ⊕_l G_l ⊗ A_l in the flat parameter order of the policy (log σ block 2k)."""
    gaussian = isinstance(pol, GaussianPolicy)
    theta = params[:-1] if gaussian else params
    sizes = list(pol.net.sizes)
    y, inputs = ref_forward(theta, X, sizes, not gaussian)
    n = len(X)
    blocks = []
    for l, bs in enumerate(bias_slices(sizes)):
        A = inputs[l].T @ inputs[l] / n
        J = []
        for j in range(bs.start, bs.stop):
            e = np.zeros(len(theta))
            e[j] = 1e-30
            J.append(ref_forward(theta + 1j * e, X, sizes, not gaussian)[0].imag / 1e-30)
        J = np.stack(J, axis=-1)  # (n, n_out_final, n_out_l)
        Fy = np.exp(-2 * params[-1]) * np.eye(y.shape[1])[None] if gaussian else np.stack([np.diag(1 / r) for r in y])
        G = np.einsum("nip,nij,njq->pq", J, Fy, J) / n
        blocks.append(np.kron(G, A))
    # vec([W, b]) row-major → the flat layout (W row-major, then b), layer by layer.
    P = sum(b.shape[0] for b in blocks) + (1 if gaussian else 0)
    K = np.zeros((P, P))
    order, k = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        for r in range(n_out):
            order.extend(k + r * n_in + c for c in range(n_in))
            order.append(k + n_out * n_in + r)
        k += n_in * n_out + n_out
    order = np.array(order)
    start = 0
    for B in blocks:
        idx = order[start : start + len(B)]
        K[np.ix_(idx, idx)] = B
        start += len(B)
    if gaussian:
        K[-1, -1] = 2 * pol.act_dim
    return K


@pytest.fixture(scope="module", params=["gauss", "cat"])
def setup(request):
    rng = np.random.default_rng(8)
    if request.param == "gauss":
        pol = GaussianPolicy(OBS, 2, hidden=HIDDEN, log_std=0.4)
    else:
        pol = CategoricalPolicy(OBS, 3, hidden=HIDDEN)
    params = pol.init(2, out_scale=1.0)
    X = rng.standard_normal((7, OBS))
    return pol, params, X, rng


def test_kfac_product_matches_dense_kronecker_blocks(setup):
    pol, params, X, _ = setup
    K = reference_kfac(pol, params, X)
    kf = KFAC(pol, params, X)
    ours = np.column_stack([kf.fvp(e) for e in np.eye(pol.n_params)])
    np.testing.assert_allclose(ours, K, rtol=1e-10, atol=1e-13)


def test_kfac_solve_is_the_inverse_of_the_factored_damping(setup):
    """(F̂ + λ)⁻¹ with factored Tikhonov damping: (G + √λ/π I) ⊗ (A + π√λ I) per layer."""
    pol, params, X, rng = setup
    kf = KFAC(pol, params, X)
    lam = 0.05
    v = rng.standard_normal(pol.n_params)
    # Rebuild the damped factors and apply them forward; solve must undo that.
    blocks = kf._blocks(kf.solve(v, lam))
    damped = []
    for M, A, G in zip(blocks, kf.A, kf.G):
        pi = math.sqrt((np.trace(A) / len(A)) / (np.trace(G) / len(G)))
        damped.append((G + math.sqrt(lam) / pi * np.eye(len(G))) @ M @ (A + pi * math.sqrt(lam) * np.eye(len(A))))
    # the distribution's own parameters: log σ's exact Fisher 2k (module docstring), none if categorical
    expected = [2.0 * pol.act_dim] if isinstance(pol, GaussianPolicy) else []
    np.testing.assert_array_equal(kf.extra_fisher, expected)
    tail = (kf.extra_fisher + lam) * kf.solve(v, lam)[pol.net.n_params :]
    np.testing.assert_allclose(kf._flat(damped, tail), v, rtol=1e-10, atol=1e-12)


def test_one_layer_gaussian_kfac_is_the_exact_fisher():
    """One linear layer, Gaussian outputs: g gᵀ = I/σ² for every state, so A ⊗ G is exact."""
    rng = np.random.default_rng(9)
    pol = GaussianPolicy(4, 2, hidden=(), log_std=-0.5)
    params = pol.init(0, out_scale=1.0)
    X = rng.standard_normal((10, 4))
    kf, state = KFAC(pol, params, X), pol.linearize(params, X)
    for e in np.eye(pol.n_params):
        np.testing.assert_allclose(kf.fvp(e), state.fisher_vp(e), rtol=1e-12, atol=1e-14)


def test_kfac_updates(setup):
    """ng with K-FAC steps along −(F̂ + λ)⁻¹∇L; geo corrects with the exact connection."""
    pol, params, X, rng = setup
    state = pol.linearize(params, X)
    A = state.sample(rng)
    batch = Batch(
        obs=X, actions=A, log_probs=state.log_prob(A), advantages=rng.standard_normal(len(X)), returns=np.zeros(len(X))
    )
    adv = rng.standard_normal(len(X))
    kf = KFAC(pol, params, X)
    d = -kf.solve(state.surrogate_gradient(A, adv), 0.1)
    ng = policy_update(pol, params, batch, "ng", lr=0.2, damping=0.1, curvature="kfac", advantages=adv)
    np.testing.assert_allclose(ng.params, params + 0.2 * d, rtol=1e-12, atol=1e-14)
    c = kf.solve(state.connection_vp(d), 0.1)
    geo = policy_update(pol, params, batch, "geo", lr=0.2, damping=0.1, curvature="kfac", advantages=adv)
    np.testing.assert_allclose(geo.params, params + 0.2 * d - 0.02 * c, rtol=1e-12, atol=1e-14)
    assert ng.cg_iterations == geo.cg_iterations == 0
