"""Problems whose loss and metric are means over the rows of data arrays (issue 22, item 1).

Every compiled quantity is checked against a numpy transcription of the mean over the rows (the
closed forms ``Xᵀ diag(p(1−p)) X / m`` and ``Xᵀ (p − y) / m`` of logistic regression), the
Christoffel symbols against central differences of that numpy metric, and the structure of the
generated code (identical for 10 and 10⁵ rows; the same compiled functions after a data swap).
"""

import numba
import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
from riemannopt.codegen import emit_module
from riemannopt.codegen.emit_data import BLOCK
from riemannopt.errors import InputError, ShapeError, SymbolicError

D = 3
W = sp.symbols(f"w0:{D}", real=True)
XS = sp.symbols(f"x0:{D}", real=True)
Y = sp.Symbol("y", real=True)
Z = sum(w * x for w, x in zip(W, XS))


def _logistic(X, y):
    """Logistic regression written with the public API by hand (not through ro.models)."""
    sigma = 1 / (1 + sp.exp(-Z))
    g = sp.Matrix(D, D, lambda i, j: XS[i] * XS[j] * sigma * (1 - sigma))
    data = {XS[i]: X[:, i] for i in range(D)} | {Y: y}
    return ro.Problem(ro.Metric(W, g, data=XS), sp.log(1 + sp.exp(Z)) - Y * Z, data=data)


def _dataset(m, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(m), rng.normal(size=(m, D - 1))])
    y = (rng.random(m) < 1 / (1 + np.exp(-X @ [0.3, -0.8, 0.5]))).astype(float)
    return X, y


def _np_metric(X, w):
    p = 1 / (1 + np.exp(-X @ w))
    return (X * (p * (1 - p))[:, None]).T @ X / len(X)


def _np_grad(X, y, w):
    return X.T @ (1 / (1 + np.exp(-X @ w)) - y) / len(X)


def _np_gamma_vv(X, w, v):
    """Γ(v, v) = g⁻¹ Γ_first(v, v) with Γ_first(v, v)_k = mean ½ x_k (x·v)² p(1 − p)(1 − 2p): the
    three derivatives of g = mean x xᵀ p(1 − p) in Γ_kij are all x_k x_i x_j p(1 − p)(1 − 2p)."""
    p = 1 / (1 + np.exp(-X @ w))
    first = X.T @ (0.5 * (X @ v) ** 2 * p * (1 - p) * (1 - 2 * p)) / len(X)
    return np.linalg.solve(_np_metric(X, w), first)


def _rel(a, b):
    return np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b))


# Rows below and above one block: the serial sum and the parallel blocked one.
@pytest.fixture(scope="module", params=[37, 3 * BLOCK + 5], ids=["one-block", "blocks"])
def logistic(request):
    X, y = _dataset(request.param)
    return X, y, _logistic(X, y).compile()


POINTS = [np.array([0.1, 0.2, -0.1]), np.array([-1.0, 0.7, 2.0])]


@pytest.mark.parametrize("w", POINTS)
def test_metric_gradient_loss_equal_numpy(logistic, w):
    """metric, inverse, gradient, loss, direction and Hessian against numpy (1e-12 relative)."""
    X, y, C = logistic
    G = _np_metric(X, w)
    assert _rel(C.metric(w), G) < 1e-12
    assert _rel(C.inverse_metric(w), np.linalg.inv(G)) < 1e-12
    grad = _np_grad(X, y, w)
    assert _rel(C.grad(w), grad) < 1e-12
    z = X @ w
    assert C.loss(w) == pytest.approx(np.mean(np.logaddexp(0, z) - y * z), rel=1e-12)
    assert _rel(C.direction(w), -np.linalg.solve(G, grad)) < 1e-12
    assert _rel(C.hessian(w), G) < 1e-12  # canonical link: the Hessian is the Fisher metric


@pytest.mark.parametrize("w", POINTS)
def test_state_and_gamma_vv_chol_equal_numpy(logistic, w):
    """What the integrators' kernels evaluate at each iterate, against numpy (1e-12 relative):
    ``state``, the loss (mean NLL), the gradient Xᵀ(p − y)/m and the metric Xᵀ diag(p(1 − p)) X/m
    from one sum over the rows (with an ``out`` of 1 + n entries, the loss and the gradient
    only); ``gamma_vv_chol``, Γ(v, v) from the sums of Γ_first(v, v) solved with the metric's
    Cholesky factor, against the closed form of :func:`_np_gamma_vv`."""
    X, y, C = logistic
    loss, grad, G = C.state(w)
    z = X @ w
    assert loss == pytest.approx(np.mean(np.logaddexp(0, z) - y * z), rel=1e-12)
    assert _rel(grad, _np_grad(X, y, w)) < 1e-12
    assert _rel(G, _np_metric(X, w)) < 1e-12
    out = np.full(1 + D + 1, 7.0)
    C.function("state")(w, C.p, out[: 1 + D])
    np.testing.assert_array_equal(out, [loss, *grad, 7.0])
    v = np.array([0.3, -0.2, 0.5])
    assert _rel(C.gamma_vv_chol(w, v), _np_gamma_vv(X, w, v)) < 1e-12


def test_geo_iterates_equal_a_numpy_transcription_of_eq7():
    """``geo`` (eq. 7: x + η d − ½η² Γ(d, d), d = −g⁻¹∇L) on logistic regression over several
    blocks of rows, against the update written in numpy with the closed forms above, iterate by
    iterate (1e-13 relative), and its losses against numpy's mean NLL (1e-12)."""
    X, y = _dataset(3 * BLOCK + 5, seed=4)
    C = _logistic(X, y).compile()
    lr, steps, w = 0.7, 6, np.array([0.2, -0.1, 0.3])
    traj = ro.optimize(C, "geo", w, lr, steps)
    for k in range(steps):
        d = -np.linalg.solve(_np_metric(X, w), _np_grad(X, y, w))
        w = w + lr * d - 0.5 * lr**2 * _np_gamma_vv(X, w, d)
        assert _rel(traj.x[k + 1], w) < 1e-13, k
        z = X @ w
        assert traj.loss[k + 1] == pytest.approx(np.mean(np.logaddexp(0, z) - y * z), rel=1e-12)


@pytest.mark.parametrize("w", POINTS)
def test_christoffel_symbols_equal_central_differences(logistic, w):
    """Γ_kij = ½(∂_i g_kj + ∂_j g_ki − ∂_k g_ij) with ∂g by central differences of the numpy
    metric (1e-8); Γ^m = g⁻¹ Γ_first; Γ(v, v), Γ(u, v), Γ_first(v, v) contract them; D_v Γ(v, v)
    against a central difference of Γ(v, v) along v."""
    X, _, C = logistic
    n, h = D, 1e-5
    dg = np.empty((n, n, n))  # dg[c] = ∂_c g
    for c in range(n):
        e = np.zeros(n)
        e[c] = h
        dg[c] = (_np_metric(X, w + e) - _np_metric(X, w - e)) / (2 * h)
    first = 0.5 * (np.einsum("ikj->kij", dg) + np.einsum("jki->kij", dg) - dg)
    assert _rel(C.christoffel_first(w), first) < 1e-8
    second = np.einsum("mk,kij->mij", np.linalg.inv(_np_metric(X, w)), first)
    assert _rel(C.christoffel(w), second) < 1e-8
    u, v = np.array([0.3, -0.2, 0.5]), np.array([-0.4, 0.1, 0.2])
    assert _rel(C.gamma_vv(w, v), np.einsum("mij,i,j->m", second, v, v)) < 1e-8
    assert _rel(C.gamma_uv(w, u, v), np.einsum("mij,i,j->m", second, u, v)) < 1e-8
    assert _rel(C.gamma_first_vv(w, v), np.einsum("kij,i,j->k", first, v, v)) < 1e-8
    fd = (C.gamma_vv(w + h * v, v) - C.gamma_vv(w - h * v, v)) / (2 * h)
    assert _rel(C.dgamma_vvv(w, v), fd) < 1e-7


def test_geo_and_exact_reach_the_mle():
    """The end points of ``geo`` and ``exact`` equal scipy's maximum-likelihood estimate (1e-8)."""
    from scipy.optimize import minimize

    X, y = _dataset(300, seed=2)
    C = _logistic(X, y).compile()

    def f(w):
        z = X @ w
        return np.mean(np.logaddexp(0, z) - y * z)

    jac, hess = (lambda w: _np_grad(X, y, w)), (lambda w: _np_metric(X, w))  # Hessian = Fisher here
    mle = minimize(f, np.zeros(D), jac=jac, hess=hess, method="trust-exact", options={"gtol": 1e-14}).x
    # scipy converged: with g's eigenvalues ≥ 0.1 the error of its estimate is below 1e-9
    assert np.max(np.abs(_np_grad(X, y, mle))) < 1e-10 and np.linalg.eigvalsh(hess(mle)).min() > 0.1
    for method in ("geo", "exact"):
        end = ro.optimize(C, method, np.zeros(D), 0.5, 120).x[-1]
        np.testing.assert_allclose(end, mle, rtol=0, atol=1e-8, err_msg=method)


def test_swapping_data_does_not_recompile():
    """``with_data`` (on the compiled and on the symbolic problem) keeps the generated module and
    the compiled functions, whatever the number of rows, and its values follow the new data."""
    X, y = _dataset(50)
    P = _logistic(X, y)
    C = P.compile()
    w = POINTS[1]
    metric = C.function("metric")
    X2, y2 = _dataset(2 * BLOCK + 3, seed=5)
    new = {XS[i]: X2[:, i] for i in range(D)} | {Y: y2}
    C2 = C.with_data(new)
    assert C2.module is C.module and C2.function("metric") is metric
    assert _rel(C2.metric(w), _np_metric(X2, w)) < 1e-12
    assert _rel(C2.grad(w), _np_grad(X2, y2, w)) < 1e-12
    assert _rel(C.metric(w), _np_metric(X, w)) < 1e-12  # the original keeps its data
    P2 = P.with_data(y=np.zeros(50))  # by name; one column
    assert P2.key == P.key == _logistic(X2, y2).key  # the key holds no data values
    C3 = P2.compile()
    assert C3.module is C.module and C3.from_cache
    assert _rel(C3.grad(w), _np_grad(X, np.zeros(50), w)) < 1e-12
    with pytest.raises(ShapeError, match="different numbers of rows"):
        P.with_data(y=np.zeros(49))
    with pytest.raises(SymbolicError, match="unknown data names"):
        P.with_data(q=np.zeros(50))


def test_generated_source_does_not_depend_on_rows():
    """10 and 10⁵ rows give the same source text, so compile cost cannot grow with the rows."""
    small, large = _dataset(10), _dataset(10**5, seed=1)
    assert emit_module(_logistic(*small)) == emit_module(_logistic(*large))


def test_sums_are_the_same_on_any_number_of_threads(logistic):
    """The blocked reduction is deterministic: one and two threads give identical bits."""
    X, y, C = logistic
    w, v = POINTS[1], np.array([0.3, -0.2, 0.5])
    saved = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = (C.metric(w), C.grad(w), C.gamma_vv(w, v), C.loss(w), *C.state(w), C.gamma_vv_chol(w, v))
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = (C.metric(w), C.grad(w), C.gamma_vv(w, v), C.loss(w), *C.state(w), C.gamma_vv_chol(w, v))
    finally:
        numba.set_num_threads(saved)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_data_free_metric_with_a_data_loss():
    """Least squares with a Euclidean metric: the metric stays symbolic, the gradient and the
    natural direction are means over the rows (against numpy)."""
    X, y = _dataset(BLOCK + 11)
    r = Z - Y
    data = {XS[i]: X[:, i] for i in range(D)} | {Y: y}
    C = ro.Problem(ro.Metric(W, sp.eye(D)), r**2 / 2, data=data).compile()
    w = POINTS[0]
    grad = X.T @ (X @ w - y) / len(X)
    assert _rel(C.grad(w), grad) < 1e-12
    assert _rel(C.direction(w), -grad) < 1e-12
    np.testing.assert_array_equal(C.metric(w), np.eye(D))
    assert C.loss(w) == pytest.approx(np.mean((X @ w - y) ** 2) / 2, rel=1e-12)
    # state: the loss and the gradient in one sum over the rows, the metric from its closed form
    loss, g, G = C.state(w)
    assert loss == pytest.approx(np.mean((X @ w - y) ** 2) / 2, rel=1e-12) and _rel(g, grad) < 1e-12
    np.testing.assert_array_equal(G, np.eye(D))
    np.testing.assert_array_equal(C.gamma_vv_chol(w, grad), np.zeros(D))


def test_reparameterized_data_problem_pulls_back_the_averaged_metric():
    """w = φ(ξ) = (ξ0, 2 ξ1, ξ2 + ξ0): the metric is Jᵀ g J and the gradient Jᵀ ∇L (numpy)."""
    X, y = _dataset(200)
    xi = sp.symbols("xi0:3", real=True)
    Q = _logistic(X, y).reparameterize(xi, (xi[0], 2 * xi[1], xi[2] + xi[0]))
    C = Q.compile()
    J = np.array([[1.0, 0, 0], [0, 2, 0], [1, 0, 1]])
    s = np.array([0.2, -0.3, 0.4])
    w = J @ s
    assert _rel(C.metric(s), J.T @ _np_metric(X, w) @ J) < 1e-12
    assert _rel(C.grad(s), J.T @ _np_grad(X, y, w)) < 1e-12
    np.testing.assert_allclose(Q.to_base(s), w, rtol=1e-15)


def test_batches_of_a_data_problem_match_single_runs():
    """A batch of start points (run member by member) equals the runs one at a time."""
    X, y = _dataset(BLOCK + 1)
    C = _logistic(X, y).compile()
    X0 = np.array([[0.0, 0.0, 0.0], [0.5, -0.5, 0.2]])
    batch = ro.optimize(C, "geo", X0, 0.5, 5)
    for b in range(2):
        np.testing.assert_array_equal(batch[b].x, ro.optimize(C, "geo", X0[b], 0.5, 5).x)
    Y2 = ro.exp_map(C, X0, np.array([[0.1, 0.2, 0.0], [0.0, -0.1, 0.3]]))
    np.testing.assert_allclose(Y2[1], ro.exp_map(C, X0[1], [0.0, -0.1, 0.3]), rtol=1e-14)


def test_per_example_metric_has_no_symbolic_inverse():
    """A singular per-example metric is accepted; its symbolic inverse is refused by name."""
    M = ro.Metric(W, sp.Matrix(D, D, lambda i, j: XS[i] * XS[j]), data=XS)
    assert M.per_example and M.det is None
    with pytest.raises(SymbolicError, match="inverse of a per-example metric"):
        M.inverse
    with pytest.raises(SymbolicError, match="Christoffel"):
        M.christoffel


def _bad(column):
    X, y = _dataset(5)
    data = {XS[i]: X[:, i] for i in range(D)} | {Y: y}
    data[XS[1]] = column
    return data


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (_bad(np.ones((5, 1))), ShapeError, r"data\[x1\] must be one-dimensional"),
        (_bad(np.ones(4)), ShapeError, "different numbers of rows.*x1: 4"),
        (_bad(np.array([1.0, np.nan, 1, 1, 1])), InputError, r"data\[x1\] is not finite: row 1"),
        (_bad(np.array([1.0, 1, 1, np.inf, 1])), InputError, r"data\[x1\] is not finite: row 3"),
        (_bad(np.array(["a"] * 5)), InputError, r"data\[x1\] is not numeric"),
        (_bad(np.ones(5) * 1j), InputError, r"data\[x1\] is not numeric"),
        (_bad([1, None, 2, 3, 4]), InputError, r"data\[x1\] is not finite: row 1"),
        (_bad(np.ones(0)), ShapeError, r"data\[x1\] is empty"),
        (_bad(3.0), ShapeError, r"data\[x1\] must be one-dimensional"),
        ({**_bad(np.ones(5)), "x2": np.ones(5)}, SymbolicError, "data keys must be sympy Symbols"),
        ({**_bad(np.ones(5)), W[0]: np.ones(5)}, SymbolicError, "data symbol w0 is also a coordinate"),
        ([1, 2], SymbolicError, "data must be a dict"),
    ],
)
def test_bad_data_is_named(data, error, match):
    """Each malformed data set raises the riemannopt error that names the symbol."""
    sigma = 1 / (1 + sp.exp(-Z))
    g = sp.Matrix(D, D, lambda i, j: XS[i] * XS[j] * sigma * (1 - sigma))
    with pytest.raises(error, match=match):
        ro.Problem(ro.Metric(W, g, data=XS), sp.log(1 + sp.exp(Z)) - Y * Z, data=data)


def test_data_symbols_must_not_clash_or_leak():
    """A data symbol that is a parameter, a domain that uses data, a per-example metric whose
    data are missing, a loss with an undeclared symbol: each a SymbolicError naming it."""
    X, y = _dataset(5)
    data = {XS[i]: X[:, i] for i in range(D)} | {Y: y}
    k = sp.Symbol("k")
    M = ro.Metric(W, sp.eye(D))
    with pytest.raises(SymbolicError, match="data symbol k is also a parameter"):
        ro.Problem(M, Z * k, params={k: 1.0}, data={**data, k: np.ones(5)})
    with pytest.raises(SymbolicError, match=r"domain condition .* uses data symbols \['y'\]"):
        ro.Problem(M, Z, data=data, domain=[W[0] > Y])
    with pytest.raises(SymbolicError, match=r"per-example in data symbols \['x2'\]"):
        ro.Problem(ro.Metric(W, sp.eye(D) * XS[2] ** 2, data=XS), Z, data={XS[0]: X[:, 0]})
    with pytest.raises(SymbolicError, match=r"uses symbols \['q'\].*nor data"):
        ro.Problem(M, Z + sp.Symbol("q"), data=data)


@pytest.mark.parametrize("model", ["logistic", "poisson"])
def test_fisher_metric_of_a_conditional_model(model):
    """``fisher_metric(log p(y | x; w), y, w, E[y | x], data=x)`` is one example's Fisher metric;
    its mean over the rows equals the numpy closed form ``Xᵀ diag(v) X / m`` (v = p(1−p) or
    e^{Xw}) to 1e-12."""
    X, y = _dataset(BLOCK + 7)
    if model == "logistic":
        logp, mean = Y * Z - sp.log(1 + sp.exp(Z)), 1 / (1 + sp.exp(-Z))
    else:
        logp, mean = Y * Z - sp.exp(Z) - sp.loggamma(Y + 1), sp.exp(Z)
    data = {XS[i]: X[:, i] for i in range(D)} | {Y: y}
    M = ro.fisher_metric(logp, Y, W, {Y: mean}, data={s: data[s] for s in XS})
    assert M.per_example and M.data == XS
    C = ro.Problem(M, -logp, data=data).compile()
    for w in POINTS:
        z = X @ w
        v = np.exp(z) / (1 + np.exp(z)) ** 2 if model == "logistic" else np.exp(z)
        G = (X * v[:, None]).T @ X / len(X)
        assert _rel(C.metric(w), G) < 1e-12
    with pytest.raises(SymbolicError, match="not conditioning data"):
        ro.fisher_metric(logp, Y, W, {Y: mean}, data=[Y])


def test_parameters_and_data_together():
    """Parameters sit before the data in ``p``: a weighted least-squares problem with a
    parameter ``k`` in the loss and a per-example metric ``(1 + k x0²) I`` whose loss is data-free
    (direction through the averaged metric and the symbolic gradient); numpy transcriptions."""
    X, y = _dataset(BLOCK + 3)
    k = sp.Symbol("k", positive=True)
    data = {XS[i]: X[:, i] for i in range(D)} | {Y: y}
    C = ro.Problem(
        ro.Metric(W, sp.eye(D) * (1 + k * XS[1] ** 2), data=XS),
        k * sum(w**2 for w in W) / 2,
        params={k: 3.0},
        data=data,
    ).compile()
    w = POINTS[1]
    scale = np.mean(1 + 3.0 * X[:, 1] ** 2)
    assert _rel(C.metric(w), scale * np.eye(D)) < 1e-12
    assert _rel(C.direction(w), -3.0 * w / scale) < 1e-12
    C2 = C.with_params(k=0.5)
    assert _rel(C2.metric(w), np.mean(1 + 0.5 * X[:, 1] ** 2) * np.eye(D)) < 1e-12
    assert _rel(C2.grad(w), 0.5 * w) < 1e-12
    # the loss alone uses the data here: per-example metric free of data, parameter and data mixed
    C3 = ro.Problem(ro.Metric(W, sp.eye(D)), k * (Z - Y) ** 2 / 2, params={k: 2.0}, data=data).compile()
    assert C3.loss(w) == pytest.approx(np.mean(2.0 * (X @ w - y) ** 2 / 2), rel=1e-12)


def test_catalogue_logistic_regression_is_smooth_at_zero():
    """``ro.models.logistic_regression`` writes its loss with ``|z|`` (stable for any z): its
    compiled Hessian at ``w = 0`` (every z = 0, where ``sign(z)² = 0``) equals the numpy closed
    form Xᵀ X / (4m) to 1e-12, and ``newton`` started there reaches scipy's MLE (1e-8)."""
    from scipy.optimize import minimize

    X, y = _dataset(300, seed=2)
    C = ro.models.logistic_regression(X, y).compile()
    zero = np.zeros(D)
    assert _rel(C.hessian(zero), X.T @ X / (4 * len(X))) < 1e-12
    assert _rel(C.hessian(POINTS[1]), _np_metric(X, POINTS[1])) < 1e-12

    def f(w):
        z = X @ w
        return np.mean(np.logaddexp(0, z) - y * z)

    jac, hess = (lambda w: _np_grad(X, y, w)), (lambda w: _np_metric(X, w))
    mle = minimize(f, zero, jac=jac, hess=hess, method="trust-exact", options={"gtol": 1e-14}).x
    np.testing.assert_allclose(ro.optimize(C, "newton", zero, 1.0, 30).x[-1], mle, rtol=0, atol=1e-8)
