"""A catalogue of problems: statistical models (Fisher metrics) and geometric toy manifolds.

Every constructor returns a :class:`~riemannopt.symbolic.Problem` with its domain declared.  The
statistical models use the **mean** negative log-likelihood per sample as the loss, so the
paper's learning rates apply unchanged (§7.1 uses 0.5 for the Gamma experiment).
"""

import numpy as np
import sympy as sp

from riemannopt._checks import as_count, as_float_array, check_finite
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
    "weibull_log_density",
    "weibull_fisher",
    "weibull_mle",
    "von_mises_log_density",
    "von_mises_fisher",
    "von_mises_mle",
    "student_t_log_density",
    "student_t_fisher",
    "student_t_mle",
    "negative_binomial_log_density",
    "negative_binomial_fisher",
    "negative_binomial_mle",
    "polar_plane",
    "POLAR_REPARAMS",
    "sphere",
    "poincare_half_plane",
    "HALF_PLANE_REPARAMS",
    "logistic_regression",
    "poisson_regression",
    "logistic_data",
    "LOGISTIC_REPARAMS",
    "weibull_data",
    "WEIBULL_REPARAMS",
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


# -- Families without sufficient statistics: Fisher metrics by quadrature (issue 22) ----------
# Each metric integrates over a standardised variable u (a substitution x = X(u; θ)), so that the
# quadrature's nodes follow the density for every θ and its accuracy does not depend on θ.  Each
# ``*_mle(data)`` fits the family by maximum likelihood: loss the mean negative log-likelihood
# over the data rows (Problem(data=...)), metric the Fisher information.
_u = sp.Symbol("u", real=True)  # the standardised variable of the quadratures
# Positive coordinates let sympy cancel the substitutions (log(λ u^{1/k}) = log λ + log(u)/k); a
# condition such as λ > 0 on them evaluates to True, so the domains are built unevaluated.
_lam, _k = sp.symbols("lambda k", positive=True)


def _positive(*symbols):
    """``[s > 0, ...]`` left unevaluated (for symbols that sympy already knows are positive)."""
    return [sp.StrictGreaterThan(s, 0, evaluate=False) for s in symbols]


def weibull_log_density(lam=_lam, k=_k, x=_x):
    """``log p(x | λ, k)`` of the Weibull distribution with scale λ and shape k, ``x > 0``."""
    return sp.log(k) - sp.log(lam) + (k - 1) * (sp.log(x) - sp.log(lam)) - (x / lam) ** k


def weibull_fisher(level=4):
    """Fisher metric of Weibull(λ, k) in ``(λ, k)``, by quadrature over ``u = (x/λ)^k``
    (an Exp(1) variable): ``x = λ u^{1/k}``.  Closed form, for checking:
    ``[[k²/λ², −(1 − γ)/λ], [−(1 − γ)/λ, ((1 − γ)² + π²/6)/k²]]`` (γ: Euler's constant).
    Domain ``λ > 0, k > 0``."""
    u = sp.Symbol("u", positive=True)
    return fisher_metric(
        weibull_log_density(),
        _x,
        [_lam, _k],
        support=(0, sp.oo),
        substitution=(u, _lam * u ** (1 / _k)),
        method="quadrature",
        level=level,
    )


def weibull_mle(data, level=4):
    """Maximum-likelihood fitting of a Weibull distribution: coordinates ``(λ, k)``, metric
    :func:`weibull_fisher`, loss the mean negative log-likelihood of ``data`` (positive values,
    data symbol ``y``), domain ``λ > 0, k > 0``."""
    data = _data(data)
    if np.any(data <= 0):
        raise InputError("Weibull data must be positive")
    y = sp.Symbol("y", positive=True)
    return Problem(
        weibull_fisher(level),
        -weibull_log_density(x=y),
        data={y: data},
        domain=_positive(_lam, _k),
        name="weibull",
    )


def weibull_data(seed=0, n=200, scale=2.0, shape=1.5):
    """``n`` draws from Weibull(scale, shape) with NumPy's default generator seeded by ``seed``."""
    n = as_count(n, "n")
    return scale * np.random.default_rng(seed).weibull(shape, n)


_l1, _k1 = sp.symbols("lambda' k'", real=True)

#: Reparameterizations of the Weibull ``(λ, k) = φ(λ', k')``: logarithms and squares.
WEIBULL_REPARAMS = {
    "identity": ((_l1, _k1), (_l1, _k1)),
    "log": ((_l1, _k1), (sp.exp(_l1), sp.exp(_k1))),
    "squares": ((_l1, _k1), (_l1**2, _k1**2)),
}


_kappa = sp.Symbol("kappa", positive=True)


def von_mises_log_density(mu=_mu, kappa=_kappa, x=None):
    """``log p(x | μ, κ) = κ cos(x − μ) − log(2π I₀(κ))`` of the von Mises distribution."""
    x = sp.Symbol("x", real=True) if x is None else x
    return kappa * sp.cos(x - mu) - sp.log(2 * sp.pi * sp.besseli(0, kappa))


def von_mises_fisher(level=4):
    """Fisher metric of von Mises(μ, κ) in ``(μ, κ)``, by quadrature over the circle through
    ``x = μ + 2 atan(u / √(1 + κ))``, ``u ∈ ℝ`` (which puts the nodes where the mass is, whether κ
    is small or large).  Closed form, for checking: ``diag(κ A(κ), 1 − A(κ)/κ − A(κ)²)`` with
    ``A = I₁/I₀``.  Domain ``κ > 0``; finite up to ``κ ≈ 350``, beyond which the squares of
    ``I₀`` and ``I₁`` in the derivatives of ``log I₀`` overflow."""
    x = sp.Symbol("x", real=True)
    return fisher_metric(
        von_mises_log_density(x=x),
        x,
        [_mu, _kappa],
        support=sp.Reals,
        substitution=(_u, _mu + 2 * sp.atan(_u / sp.sqrt(1 + _kappa))),
        method="quadrature",
        level=level,
    )


def von_mises_mle(data, level=4):
    """Maximum-likelihood fitting of a von Mises distribution to angles ``data`` (radians, data
    symbol ``y``): coordinates ``(μ, κ)``, metric :func:`von_mises_fisher`, domain ``κ > 0``."""
    data = _data(data)
    y = sp.Symbol("y", real=True)
    return Problem(
        von_mises_fisher(level), -von_mises_log_density(x=y), data={y: data}, domain=_positive(_kappa), name="von Mises"
    )


def student_t_log_density(nu, mu=_mu, sigma=_sigma, x=None):
    """``log p(x | μ, σ)`` of Student's t with ``ν`` degrees of freedom, location μ, scale σ."""
    x = sp.Symbol("x", real=True) if x is None else x
    nu = sp.nsimplify(nu)
    z2 = ((x - mu) / sigma) ** 2
    return (
        sp.loggamma((nu + 1) / 2)
        - sp.loggamma(nu / 2)
        - sp.log(nu * sp.pi) / 2
        - sp.log(sigma)
        - (nu + 1) / 2 * sp.log(1 + z2 / nu)
    )


def student_t_fisher(nu=5, level=4):
    """Fisher metric of Student's t(ν) in ``(μ, σ)`` for a fixed ``ν > 0``, by quadrature over
    ``x = μ + σ u``.  Closed form, for checking: ``diag((ν + 1)/((ν + 3) σ²), 2ν/((ν + 3) σ²))``.
    Domain ``σ > 0``."""
    if not np.isfinite(nu) or nu <= 0:
        raise InputError(f"student_t_fisher: nu must be a positive number, got {nu!r}")
    x = sp.Symbol("x", real=True)
    return fisher_metric(
        student_t_log_density(nu, x=x),
        x,
        [_mu, _sigma],
        support=sp.Reals,
        substitution=(_u, _mu + _sigma * _u),
        method="quadrature",
        level=level,
    )


def student_t_mle(data, nu=5, level=4):
    """Maximum-likelihood fitting of Student's t(ν) (fixed ν) to ``data`` (data symbol ``y``):
    coordinates ``(μ, σ)``, metric :func:`student_t_fisher`, domain ``σ > 0``."""
    data = _data(data)
    y = sp.Symbol("y", real=True)
    return Problem(
        student_t_fisher(nu, level),
        -student_t_log_density(nu, x=y),
        data={y: data},
        domain=[_sigma > 0],
        name=f"student-t({nu})",
    )


_r, _p = sp.symbols("r p", positive=True)


def negative_binomial_log_density(r=_r, p=_p, k=None):
    """``log P(k | r, p)`` of the negative binomial: ``k`` failures before the ``r``-th success
    of trials with success probability ``p``, ``Γ(k + r)/(Γ(r) k!) p^r (1 − p)^k`` (``r`` real)."""
    k = sp.Symbol("k", nonnegative=True, integer=True) if k is None else k
    return sp.loggamma(k + r) - sp.loggamma(r) - sp.loggamma(k + 1) + r * sp.log(p) + k * sp.log(1 - p)


def negative_binomial_fisher():
    """Fisher metric of the negative binomial in ``(r, p)`` with both unknown, by summing over
    ``k = 0, 1, …`` until the terms are negligible.  ``g_pp = r/(p²(1 − p))`` and
    ``g_rp = −1/p`` in closed form; ``g_rr = Σ_k P(k) (ψ'(r) − ψ'(k + r))`` has none.  Domain
    ``r > 0, 0 < p < 1``."""
    k = sp.Symbol("k", nonnegative=True, integer=True)
    return fisher_metric(negative_binomial_log_density(k=k), k, [_r, _p], support=sp.Naturals0, method="quadrature")


def negative_binomial_mle(counts):
    """Maximum-likelihood fitting of a negative binomial with unknown ``r`` and ``p`` to
    ``counts`` (non-negative integers, data symbol ``y``): metric :func:`negative_binomial_fisher`,
    domain ``r > 0, 0 < p < 1``."""
    counts = _data(counts)
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise InputError("negative binomial counts must be non-negative integers")
    y = sp.Symbol("y", nonnegative=True)
    return Problem(
        negative_binomial_fisher(),
        -negative_binomial_log_density(k=y),
        data={y: counts},
        domain=[*_positive(_r, _p), sp.StrictLessThan(_p, 1, evaluate=False)],
        name="negative binomial",
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


# -- A small synthetic logistic-regression data set (the ``logistic`` study problem) -------------
def logistic_data(seed=0, n=200, w=(-0.5, 2.0)):
    """A small synthetic data set for :func:`logistic_regression`: ``(X, y)``.

    ``X`` has shape ``(n, len(w))``: a column of ones (the intercept) and ``len(w) − 1``
    standard normal features; each label is drawn from the logistic model,
    ``y_r ~ Bernoulli(σ(w·x_r))``, with NumPy's default generator seeded by ``seed`` (the global
    random state is not touched).
    """
    n = as_count(n, "n")
    w = check_finite(as_float_array(w, "w"), "w")
    if w.ndim != 1 or w.size == 0:
        raise ShapeError(f"w must be a non-empty one-dimensional array of weights, got shape {w.shape}")
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, w.size - 1))])
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X @ w))).astype(np.float64)
    return X, y


_v0, _v1 = sp.symbols("w0' w1'", real=True)

#: Reparameterizations of a logistic regression with an intercept and one feature,
#: ``(w0, w1) = φ(w0', w1')``: identity, a cubic stretch of the slope (nonlinear, monotone:
#: ``φ'`` ≥ 1) and an affine map that mixes the two coordinates (under which ``ng`` and
#: ``newton`` are exactly invariant, and ``gd`` is not).
LOGISTIC_REPARAMS = {
    "identity": ((_v0, _v1), (_v0, _v1)),
    "cubic": ((_v0, _v1), (_v0, _v1**3 / 3 + _v1)),
    "affine": ((_v0, _v1), (_v0 - _v1 / 2, 2 * _v1)),
}
