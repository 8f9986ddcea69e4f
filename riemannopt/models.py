"""A catalogue of problems: statistical models (Fisher metrics) and geometric toy manifolds.

Every constructor returns a :class:`~riemannopt.symbolic.Problem` with its domain declared.  The
statistical models use the **mean** negative log-likelihood per sample as the loss, so the
paper's learning rates apply unchanged (§7.1 uses 0.5 for the Gamma experiment).
"""

import numpy as np
import sympy as sp

from riemannopt.errors import InputError, ShapeError
from riemannopt.symbolic import Metric, Problem, fisher_metric

__all__ = [
    "gamma_mle",
    "gamma_data",
    "gamma_fisher",
    "GAMMA_REPARAMS",
    "gaussian_mle",
    "gaussian_data",
    "gaussian_fisher",
    "GAUSSIAN_REPARAMS",
    "beta_fisher",
    "polar_plane",
    "POLAR_REPARAMS",
    "sphere",
    "poincare_half_plane",
    "HALF_PLANE_REPARAMS",
    "logistic_regression",
    "poisson_regression",
]

_x = sp.Symbol("x", positive=True)  # the data variable of the densities


def _data(data):
    data = np.asarray(data, dtype=np.float64).reshape(-1) if np.ndim(data) else np.asarray(data)
    if data.ndim != 1 or data.size == 0:
        raise ShapeError(f"data must be a non-empty one-dimensional array, got shape {np.shape(data)}")
    return data


# -- Gamma(shape α, rate β) -----------------------------------------------------------------------
_alpha, _beta = sp.symbols("alpha beta", real=True)
_mean_x, _mean_log_x = sp.symbols("mean_x mean_log_x", real=True)


def gamma_log_density(alpha=_alpha, beta=_beta, x=_x):
    """``log p(x | α, β)`` of the Gamma distribution with shape α and rate β (paper §7.1)."""
    return alpha * sp.log(beta) - sp.loggamma(alpha) + (alpha - 1) * sp.log(x) - beta * x


def gamma_fisher():
    """Fisher metric of Gamma(α, β): ``[[ψ'(α), -1/β], [-1/β, α/β²]]``, derived from the density."""
    return fisher_metric(
        gamma_log_density(), _x, [_alpha, _beta], {_x: _alpha / _beta, sp.log(_x): sp.digamma(_alpha) - sp.log(_beta)}
    )


def gamma_mle(data):
    """Maximum-likelihood fitting of a Gamma distribution (paper §7.1).

    Coordinates ``(α, β)`` (shape, rate), metric the Fisher information, loss the mean negative
    log-likelihood, which depends on the data only through the parameters ``mean_x`` and
    ``mean_log_x``; domain ``α > 0, β > 0``.
    """
    data = _data(data)
    if np.any(data <= 0):
        raise ShapeError("Gamma data must be positive")
    loss = -(_alpha * sp.log(_beta) - sp.loggamma(_alpha) + (_alpha - 1) * _mean_log_x - _beta * _mean_x)
    return Problem(
        gamma_fisher(),
        loss,
        params={_mean_x: data.mean(), _mean_log_x: np.log(data).mean()},
        domain=[_alpha > 0, _beta > 0],
        name="gamma",
    )


def gamma_data(seed=1234, n=10000, shape=20.0, rate=20.0):
    """The paper's synthetic data: ``n`` draws from Gamma(shape, rate).

    Equivalent to ``np.random.seed(seed); np.random.gamma(shape, 1 / rate, n)`` (NumPy's legacy
    generator, as the paper's experiment used), without touching the global random state.
    """
    return np.random.RandomState(seed).gamma(shape, 1.0 / rate, n)


_a1, _b1 = sp.symbols("alpha' beta'", real=True)

#: The four parameterizations of paper §7.1, each ``(new_coords, phi)`` with ``(α, β) = φ(α', β')``.
GAMMA_REPARAMS = {
    "identity": ((_a1, _b1), (_a1, _b1)),
    "inv_beta": ((_a1, _b1), (_a1, 1 / _b1)),
    "cube_beta": ((_a1, _b1), (_a1, _b1**3)),
    "squares": ((_a1, _b1), (_a1**2, _b1**2)),
}


# -- Gaussian(μ, σ) -------------------------------------------------------------------------------
_mu, _sigma = sp.symbols("mu sigma", real=True)
_mean_x2 = sp.Symbol("mean_x2", real=True)


def gaussian_fisher():
    """Fisher metric of N(μ, σ²) in (μ, σ): ``diag(1/σ², 2/σ²)``, derived from the density."""
    x = sp.Symbol("x", real=True)
    logp = -sp.log(_sigma) - (x - _mu) ** 2 / (2 * _sigma**2) - sp.log(2 * sp.pi) / 2
    return fisher_metric(logp, x, [_mu, _sigma], {x: _mu, x**2: _mu**2 + _sigma**2})


def gaussian_mle(data):
    """Maximum-likelihood fitting of a Gaussian in coordinates ``(μ, σ)``; domain ``σ > 0``."""
    data = _data(data)
    loss = sp.log(_sigma) + (_mean_x2 - 2 * _mu * _mean_x + _mu**2) / (2 * _sigma**2) + sp.log(2 * sp.pi) / 2
    return Problem(
        gaussian_fisher(),
        loss,
        params={_mean_x: data.mean(), _mean_x2: (data**2).mean()},
        domain=[_sigma > 0],
        name="gaussian",
    )


def gaussian_data(seed=0, n=1000, mean=1.0, std=2.0):
    """``n`` draws from N(mean, std²) with NumPy's default generator seeded by ``seed``."""
    return np.random.default_rng(seed).normal(mean, std, n)


_m1, _s1 = sp.symbols("mu' sigma'", real=True)

#: Reparameterizations of the Gaussian ``(μ, σ) = φ(μ', σ')``: log-scale and variance.
GAUSSIAN_REPARAMS = {
    "identity": ((_m1, _s1), (_m1, _s1)),
    "log_sigma": ((_m1, _s1), (_m1, sp.exp(_s1))),
    "variance": ((_m1, _s1), (_m1, sp.sqrt(_s1))),
}


# -- Beta(a, b) -----------------------------------------------------------------------------------
def beta_fisher():
    """Fisher metric of Beta(a, b): ``ψ'(a) - ψ'(a+b)``, ``-ψ'(a+b)``, ``ψ'(b) - ψ'(a+b)``, derived."""
    a, b = sp.symbols("a b", real=True)
    x = sp.Symbol("x", positive=True)
    logp = (a - 1) * sp.log(x) + (b - 1) * sp.log(1 - x) - (sp.loggamma(a) + sp.loggamma(b) - sp.loggamma(a + b))
    return fisher_metric(
        logp,
        x,
        [a, b],
        {sp.log(x): sp.digamma(a) - sp.digamma(a + b), sp.log(1 - x): sp.digamma(b) - sp.digamma(a + b)},
    )


# -- geometric toy manifolds with closed-form geodesics --------------------------------------------
def polar_plane(target=(1.0, 0.5)):
    """The flat plane in polar coordinates ``(r, θ)``, ``g = diag(1, r²)``, domain ``r > 0``.

    Loss: half the squared Euclidean distance to ``target`` (Cartesian), a parameter.
    """
    r, th = sp.symbols("r theta", real=True)
    tx, ty = sp.symbols("target_x target_y", real=True)
    loss = ((r * sp.cos(th) - tx) ** 2 + (r * sp.sin(th) - ty) ** 2) / 2
    return Problem(
        Metric([r, th], sp.diag(1, r**2)), loss, params={tx: target[0], ty: target[1]}, domain=[r > 0], name="polar"
    )


_u, _w = sp.symbols("u w", real=True)

#: Reparameterizations of the polar plane ``(r, θ) = φ(·)``: identity, log-radius, and a shear
#: that mixes the two coordinates.
POLAR_REPARAMS = {
    "identity": ((_u, _w), (_u, _w)),
    "log_r": ((_u, _w), (sp.exp(_u), _w)),
    "shear": ((_u, _w), (_u, _w + _u**2 / 2)),
}


def sphere(target=(0.0, 0.6, 0.8)):
    """The unit 2-sphere in spherical coordinates ``(θ, φ)``, ``g = diag(1, sin²θ)``, ``0 < θ < π``.

    Loss: minus the inner product of the point (embedded in R³) with ``target``, a parameter.
    """
    th, ph = sp.symbols("theta phi", real=True)
    t1, t2, t3 = sp.symbols("target_1 target_2 target_3", real=True)
    loss = -(sp.sin(th) * sp.cos(ph) * t1 + sp.sin(th) * sp.sin(ph) * t2 + sp.cos(th) * t3)
    return Problem(
        Metric([th, ph], sp.diag(1, sp.sin(th) ** 2)),
        loss,
        params={t1: target[0], t2: target[1], t3: target[2]},
        domain=[th > 0, th < sp.pi],
        name="sphere",
    )


def poincare_half_plane(target=(0.5, 2.0)):
    """The Poincaré half-plane ``(x, y)``, ``g = I / y²``, domain ``y > 0``.

    Loss: ``½ (x - a)² + ½ (log y - log b)²`` for ``target = (a, b)``, parameters.
    """
    x, y = sp.symbols("x y", real=True)
    a, b = sp.symbols("target_x target_y", real=True)
    loss = (x - a) ** 2 / 2 + (sp.log(y) - sp.log(b)) ** 2 / 2
    return Problem(
        Metric([x, y], sp.diag(1 / y**2, 1 / y**2)),
        loss,
        params={a: target[0], b: target[1]},
        domain=[y > 0],
        name="half-plane",
    )


_s, _q = sp.symbols("s q", real=True)

#: Reparameterizations of the half-plane ``(x, y) = φ(·)``: identity, log-height, and an affine
#: map (under which ``ng`` and ``newton`` are exactly invariant, and ``gd`` is not).
HALF_PLANE_REPARAMS = {
    "identity": ((_s, _q), (_s, _q)),
    "log_y": ((_s, _q), (_s, sp.exp(_q))),
    "affine": ((_s, _q), (2 * _s + _q / 2, _q / 3 + 1)),
}


# -- Generalised linear models on a data set (means over rows: Problem(data=...)) ----------------
def _design(X, y):
    """``X`` as an (m, d) float64 design matrix and ``y`` as m responses, or a riemannopt error."""
    X = np.asarray(X)
    y = np.asarray(y)
    if X.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise InputError(f"X and y must be numeric arrays, got dtypes {X.dtype} and {y.dtype}")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ShapeError(f"X must be a non-empty (rows, features) array, got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ShapeError(f"y must have shape ({X.shape[0]},), one response per row of X, got {y.shape}")
    return X.astype(np.float64), y.astype(np.float64)


def _glm(X, y, name, inverse_link_variance, nll):
    """A GLM with canonical link: per-example loss ``nll(z, y)`` of ``z = w·x`` and per-example
    Fisher metric ``x xᵀ · inverse_link_variance(z)`` (the variance of y given x)."""
    m, d = X.shape
    w = sp.symbols(f"w0:{d}", real=True)
    x = sp.symbols(f"x0:{d}", real=True)
    t = sp.Symbol("y", real=True)
    z = sum(wi * xi for wi, xi in zip(w, x))
    var = inverse_link_variance(z)
    g = sp.Matrix(d, d, lambda i, j: x[i] * x[j] * var)
    data = {x[i]: X[:, i] for i in range(d)} | {t: y}
    return Problem(Metric(w, g, data=x), nll(z, t), data=data, name=name)


def logistic_regression(X, y):
    """Logistic regression ``P(y = 1 | x) = σ(w·x)``, fitted by maximum likelihood.

    Coordinates ``w0 … w_{d−1}`` (one per column of ``X``; add a column of ones for an
    intercept), loss the mean negative log-likelihood ``(1/m) Σ_r [log(1 + e^{z_r}) − y_r z_r]``
    with ``z_r = w·x_r``, metric the Fisher information of the conditional model,
    ``g = Xᵀ diag(p (1 − p)) X / m`` with ``p = σ(Xw)``.  Built with ``Problem(data=...)``: the
    data symbols are ``x0 … x_{d−1}`` and ``y``, and :meth:`~riemannopt.symbolic.Problem.with_data`
    swaps the data set without recompiling.

    Parameters
    ----------
    X : array_like, shape (m, d)
        Features, one row per example.
    y : array_like, shape (m,)
        Labels in ``[0, 1]`` (0/1, or probabilities).

    Raises
    ------
    ShapeError, InputError
        Wrong shapes, non-numeric or non-finite values, labels outside ``[0, 1]``.
    """
    X, y = _design(X, y)
    if np.any((y < 0) | (y > 1)):
        raise InputError("logistic_regression: y must lie in [0, 1]")

    # In e = exp(−|z|), which neither overflows nor cancels for any z: σ(1 − σ) = e / (1 + e)²
    # and log(1 + e^z) = (z + |z|)/2 + log(1 + e); every derivative is again in e (and sign z), so
    # a row costs one exponential in every generated sum.
    def e(z):
        return sp.exp(-sp.Abs(z))

    return _glm(
        X,
        y,
        "logistic regression",
        lambda z: e(z) / (1 + e(z)) ** 2,
        lambda z, t: (z + sp.Abs(z)) / 2 + sp.log(1 + e(z)) - t * z,
    )


def poisson_regression(X, y):
    """Poisson regression with the log link, ``y | x ~ Poisson(e^{w·x})``, fitted by maximum
    likelihood.

    Coordinates ``w0 … w_{d−1}``, loss the mean negative log-likelihood
    ``(1/m) Σ_r [e^{z_r} − y_r z_r + log Γ(y_r + 1)]``, metric the Fisher information of the
    conditional model, ``g = Xᵀ diag(e^{Xw}) X / m``; data symbols ``x0 … x_{d−1}`` and ``y``.

    Parameters
    ----------
    X : array_like, shape (m, d)
    y : array_like, shape (m,)
        Counts (non-negative).

    Raises
    ------
    ShapeError, InputError
        Wrong shapes, non-numeric or non-finite values, negative counts.
    """
    X, y = _design(X, y)
    if np.any(y < 0):
        raise InputError("poisson_regression: y must be non-negative counts")
    return _glm(
        X,
        y,
        "poisson regression",
        sp.exp,
        lambda z, t: sp.exp(z) - t * z + sp.loggamma(t + 1),
    )
