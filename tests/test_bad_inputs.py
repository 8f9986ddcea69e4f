"""Bad inputs over every public entry point (issue 8): each gives its ``riemannopt.errors``
exception, with a message naming the offending argument or value, and, where a run had started,
the partial result it computed.

Each row is ``Row(id, call, error, match, check)``: ``call()`` must raise ``error`` (a CLI row
instead returns its exit status and output), ``match`` is a regular expression the message must
contain, and ``check`` (optional) receives the outcome (see :func:`outcome`) to test the partial
result.  The independent computations the checks use: a partial trajectory is compared with a
fresh, shorter run of the same method (it must be a prefix of it, bit for bit); the partial
geodesic through the origin of the polar plane with the straight line of the Cartesian plane
(closed form); the time at which that geodesic fails with where the line meets the origin.

Rows whose call could hang (every ODE solve: ``exact``, ``re``, ``exp_map``, ``geodesic`` and the
command that runs them) run in a subprocess, each with its own time limit (:data:`SLOW`), so that a
regression fails instead of blocking the test run.
"""

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
from riemannopt import errors as E
from riemannopt.cli import main as cli_main
from riemannopt.integrators.common import MAX_STEPS_DOPRI
from riemannopt.nn import MLP
from riemannopt.nn.cg import solve_damped

x, y, a = sp.symbols("x y a", real=True)
u, w = sp.symbols("u w", real=True)
HERE = Path(__file__).resolve()
REPO = HERE.parents[1]


# -- the problems the rows use (built once, lazily: the subprocess imports this module) ------------
@cache
def gamma():
    """The paper's Gamma MLE problem (§7.1), compiled."""
    return ro.models.gamma_mle(ro.models.gamma_data()).compile()


@cache
def squares():
    """Gamma in the ``squares`` parameterization, where η = 10⁶ sends every method astray."""
    return ro.models.gamma_mle(ro.models.gamma_data()).reparameterize(*ro.models.GAMMA_REPARAMS["squares"]).compile()


@cache
def npd():
    """g = diag(1, 1 − a²): positive definite only for |a| < 1 (also used in test_failures)."""
    a_, b_ = sp.symbols("a b", real=True)
    return ro.Problem(ro.Metric([a_, b_], sp.diag(1, 1 - a_**2)), -a_ + b_**2).compile()


@cache
def polar():
    """The flat plane in polar coordinates (r > 0); geodesics are straight lines."""
    return ro.models.polar_plane().compile()


@cache
def net():
    return MLP([3, 4, 2], ["tanh", "sigmoid"], "bce")


# -- outcomes -------------------------------------------------------------------------------------
def outcome(call):
    """What ``call()`` did, as plain data (so that a subprocess can report it): the exception's
    class names, message and carried context, or the value it returned."""
    try:
        value = call()
    except Exception as exc:  # noqa: BLE001 - every outcome is data here
        traj, geo = getattr(exc, "trajectory", None), getattr(exc, "geodesic", None)
        return {
            "classes": [c.__name__ for c in type(exc).__mro__],
            "message": str(exc),
            "step": getattr(exc, "step", None),
            "t": getattr(exc, "t", None),
            "trajectory": None
            if traj is None
            else {"x": traj.x.tolist(), "loss": traj.loss.tolist(), "method": traj.method, "lr": traj.lr},
            "geodesic": None if geo is None else {"t": geo.t.tolist(), "x": geo.x.tolist()},
        }
    return {"classes": [], "returned": value}


@dataclass(frozen=True)
class Row:
    id: str
    call: object
    error: type
    match: str
    check: object = None


def assert_outcome(row, out):
    if row.error is None:  # a command: the call returns (exit status, stdout, stderr, figure written)
        status, stdout, stderr, figure = out["returned"]
        assert re.search(row.match, stdout + stderr), (row.id, stdout, stderr)
        if row.check:
            row.check(status, stdout, stderr, figure)
        return
    assert row.error.__name__ in out["classes"], (row.id, out)
    assert "RiemannOptError" in out["classes"], (row.id, out)
    assert re.search(row.match, out["message"]), (row.id, row.match, out["message"])
    if row.check:
        row.check(out)


# -- checks of partial results ---------------------------------------------------------------------
def empty_trajectory(out):
    """A bad start fails at step 0, before any iterate is kept."""
    assert out["step"] == 0 and out["trajectory"] is not None and out["trajectory"]["x"] == []


def prefix_of_rerun(problem, x0):
    """The partial trajectory starts at x0, has ``step`` iterates, and equals a fresh run of
    ``step − 1`` steps bit for bit (an independent re-run: the failure kept what was computed)."""

    def check(out):
        traj = out["trajectory"]
        X = np.array(traj["x"])
        assert out["step"] >= 1 and len(X) == out["step"]
        np.testing.assert_array_equal(X[0], x0)
        assert np.all(np.isfinite(X)) and np.all(np.isfinite(traj["loss"]))
        if len(X) > 1:
            again = ro.optimize(problem(), traj["method"], x0, traj["lr"], len(X) - 1)
            np.testing.assert_array_equal(again.x, X)

    return check


def flow_until_degenerate(out):
    """On g = diag(1, 1 − a²) with L = −a + b², the flow has ȧ = 1: a(t) = t reaches the
    degenerate metric at t = 1, so the samples at t = 0, 0.3, 0.6, 0.9 are kept (closed form
    a = t, to 1e-10) and the solver stops at t = 1."""
    X = np.array(out["trajectory"]["x"])
    assert len(X) == out["step"] == 4 and out["t"] == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(X[:, 0], 0.3 * np.arange(4), rtol=1e-10, atol=1e-12)


def origin_hit(method):
    """The line from (r, θ) = (1, 0) with velocity (−2, 0) reaches the origin at t = 1/2 (it is
    x(t) = 1 − 2t in Cartesian coordinates): the solver stops just before it."""

    def check(out):
        assert 0.45 < out["t"] <= 0.5 + 1e-12, out["t"]

    return check


def partial_geodesic(out):
    """The samples kept before the failure are those at t ≤ 1/2 (at t = 1/2 itself the solver may
    land on a tiny positive r) and lie on the straight line x(t) = 1 − 2t, y = 0: r = 1 − 2t,
    θ = 0 (closed form, to 1e-9)."""
    origin_hit(None)(out)
    g = out["geodesic"]
    ts = np.array(g["t"])
    np.testing.assert_array_equal(ts, np.linspace(0.0, 1.0, 11)[: len(ts)])
    assert len(ts) in (5, 6) and out["step"] == len(ts)  # t = 0, 0.1, ..., 0.4 (or 0.5)
    np.testing.assert_allclose(np.array(g["x"]), np.c_[1 - 2 * ts, np.zeros_like(ts)], rtol=1e-9, atol=1e-12)


def cli(argv):
    """Run the command in-process: (exit status, stdout, stderr, whether --out was written)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli_main(argv)
        except SystemExit as exc:
            status = exc.code
    target = argv[argv.index("--out") + 1] if "--out" in argv else None
    return status, out.getvalue(), err.getvalue(), bool(target and os.path.exists(target))


def exits(code):
    def check(status, stdout, stderr, figure):
        assert status == code
        if code == 2:
            assert stderr.count("\n") == 1

    return check


def failed_run_with_figure(status, stdout, stderr, figure):
    """`riemannopt gamma --lr 1e6` used to hang in the exact flow: it must finish with status 1,
    name each failure on its own line, and still write the figure."""
    assert status == 1 and figure
    assert re.search(r"! exact under \w+ failed: method 'exact' failed at step 1", stdout)
    assert f"step cap max_steps = {MAX_STEPS_DOPRI} was used up" in stdout  # the default cap


# -- the rows ---------------------------------------------------------------------------------------
M1 = ro.Metric([x], [[1]])
X0 = [1.0, 1.0]

SYMBOLIC = [
    Row(
        "Metric/boolean entry",
        lambda: ro.Metric([x], [[x > 0]]),
        E.MetricError,
        r"g\[0,0\] = x > 0 is not a scalar expression",
    ),
    Row(
        "Metric/None entry",
        lambda: ro.Metric([x], [[None]]),
        E.MetricError,
        r"g\[0,0\] = None is not a scalar expression",
    ),
    Row(
        "Metric/unparsable entry",
        lambda: ro.Metric([x], [["x +* 1"]]),
        E.MetricError,
        "could not be read as a sympy Matrix",
    ),
    Row(
        "Metric/coords not symbols",
        lambda: ro.Metric(["x"], [[1]]),
        E.SymbolicError,
        r"coords\[0\] = 'x' is not a sympy Symbol",
    ),
    Row(
        "Problem/unparsable loss",
        lambda: ro.Problem(M1, "x +* 2"),
        E.SymbolicError,
        r"the loss could not be read as a sympy expression: 'x \+\* 2'",
    ),
    Row(
        "Problem/Matrix loss",
        lambda: ro.Problem(M1, sp.Matrix([x, x])),
        E.SymbolicError,
        "the loss must be a scalar expression, got a 2×1",
    ),
    Row(
        "Problem/boolean loss",
        lambda: ro.Problem(M1, x > 0),
        E.SymbolicError,
        "the loss must be a scalar expression, got the condition x > 0",
    ),
    Row(
        "Problem/namesake symbol",
        lambda: ro.Problem(M1, sp.Symbol("x") ** 2),
        E.SymbolicError,
        r"x: a different Symbol of the same name",
    ),
    Row(
        "Problem/non-numeric param",
        lambda: ro.Problem(M1, a * x, params={a: "lots"}),
        E.SymbolicError,
        "parameter a has a non-numeric value 'lots'",
    ),
    Row(
        "Problem/NaN param",
        lambda: ro.Problem(M1, a * x, params={a: float("nan")}),
        E.SymbolicError,
        "parameter a must be finite, got nan",
    ),
    Row(
        "Problem/params not a dict",
        lambda: ro.Problem(M1, x, params=3),
        E.SymbolicError,
        r"params must be a dict \{symbol: value\}, got 3",
    ),
    Row(
        "Problem/unparsable domain",
        lambda: ro.Problem(M1, x, domain=["x >* 0"]),
        E.SymbolicError,
        r"domain condition 'x >\* 0' could not be read",
    ),
    Row(
        "Problem/domain not a relation",
        lambda: ro.Problem(M1, x, domain=[x]),
        E.SymbolicError,
        "domain condition x is not a relation",
    ),
    Row(
        "with_params/non-numeric",
        lambda: gamma().problem.with_params(mean_x="lots"),
        E.SymbolicError,
        "parameter mean_x has a non-numeric value 'lots'",
    ),
    Row(
        "with_params/infinite",
        lambda: gamma().problem.with_params(mean_x=float("inf")),
        E.SymbolicError,
        "parameter mean_x must be finite, got inf",
    ),
    Row(
        "with_params/compiled, non-numeric",
        lambda: gamma().with_params(mean_log_x=[1, 2]),
        E.SymbolicError,
        r"parameter mean_log_x has a non-numeric value \[1, 2\]",
    ),
    Row(
        "with_params/unknown name",
        lambda: gamma().with_params(mean_y=1.0),
        E.SymbolicError,
        r"unknown parameter names \['mean_y'\]",
    ),
    Row(
        "reparameterize/phi a string",
        lambda: gamma().problem.reparameterize([u, w], "u*w"),
        E.SymbolicError,
        "phi must be a sequence of expressions, one per coordinate, got 'u\\*w'",
    ),
    Row(
        "reparameterize/unparsable phi",
        lambda: gamma().problem.reparameterize([u, w], ["u +* w", w]),
        E.SymbolicError,
        r"phi\[0\] could not be read as a sympy expression",
    ),
    Row(
        "reparameterize/Matrix inverse",
        lambda: gamma().problem.reparameterize([u, w], [u, w], inverse=[sp.eye(2), w]),
        E.SymbolicError,
        r"inverse\[0\] must be a scalar expression, got a 2×2",
    ),
    Row(
        "fisher_metric/unparsable density",
        lambda: ro.fisher_metric("log(x +* 1)", x, [y], {x: y}),
        E.SymbolicError,
        r"log_density could not be read as a sympy expression: 'log\(x \+\* 1\)'",
    ),
    Row(
        "fisher_metric/expectations a list",
        lambda: ro.fisher_metric(-sp.log(y) - x / y, x, [y], [x]),
        E.SymbolicError,
        r"expectations must be a dict \{statistic: expectation\}, got \[x\]",
    ),
]

COMPILE = [
    Row(
        "compile/besselk",
        lambda: ro.Problem(M1, sp.besselk(0, x)).compile(),
        E.CompileError,
        r"the loss uses besselk, which cannot be compiled; the functions that compile are exp, log, .*polygamma",
    ),
    Row(
        "compile/undefined Function",
        lambda: ro.Problem(M1, sp.Function("f")(x) ** 2).compile(),
        E.CompileError,
        r"the loss uses f, which cannot be compiled; .*loggamma, digamma",
    ),
    Row(
        "compile/polygamma of order 5",
        lambda: ro.Problem(ro.Metric([x], [[1 + sp.polygamma(5, x) ** 2]]), x).compile(),
        E.CompileError,
        r"metric entry g\[0,0\] uses polygamma of order 5 \(orders 0, 1, 2, 3 compile\)",
    ),
    Row(
        "compile/zeta in the domain",
        lambda: ro.Problem(M1, x, domain=[sp.zeta(x) > 0]).compile(),
        E.CompileError,
        "the domain condition zeta\\(x\\) > 0 uses zeta",
    ),
    Row("compiled/non-numeric point", lambda: gamma().metric("ab"), E.InputError, "x must be numeric, got 'ab'"),
    Row(
        "compiled/non-numeric vector",
        lambda: gamma().gamma_vv(X0, ["a", "b"]),
        E.InputError,
        r"v must be numeric, got \['a', 'b'\]",
    ),
]


def _optimize_rows(method):
    rows = [
        Row(
            f"optimize[{method}]/start outside the domain",
            lambda: ro.optimize(gamma(), method, [-1.0, 1.0], 0.5, 3),
            E.DomainError,
            r"failed at step 0: x_0 = \[-1\.  1\.\] is outside the domain \(domain: alpha > 0, beta > 0\)",
            empty_trajectory,
        ),
        Row(
            f"optimize[{method}]/NaN start",
            lambda: ro.optimize(gamma(), method, [np.nan, 1.0], 0.5, 3),
            E.InputError,
            r"x0 must be finite, but x0\[0\] = nan",
        ),
        Row(
            f"optimize[{method}]/non-numeric start",
            lambda: ro.optimize(gamma(), method, ["a", 1.0], 0.5, 3),
            E.InputError,
            "x0 must be numeric, got \\['a', 1.0\\]",
        ),
    ]
    if ro.METHODS[method].uses_metric:  # gd and newton do not use the metric
        rows.append(
            Row(
                f"optimize[{method}]/metric not PD at the start",
                lambda: ro.optimize(npd(), method, [2.0, 0.5], 0.1, 3),
                E.NotPositiveDefiniteError,
                r"failed at step 0: x_0 = \[2\.  0\.5\] has a metric that is singular or not positive definite",
                empty_trajectory,
            )
        )
    if not ro.METHODS[method].uses_metric:
        rows.append(
            Row(
                f"optimize[{method}]/huge lr",
                lambda: ro.optimize(gamma(), method, X0, 1e6, 5),
                E.DomainError,
                rf"'{method}' failed at step \d: x_\d = .* is outside the domain",
                prefix_of_rerun(gamma, X0),
            )
        )
    else:
        exp_maps = {"re", "exact", "rmid", "rtaylor"}  # methods whose step solves an ODE
        error = (
            E.ExpMapError if method in exp_maps else {"geo3": E.NonFiniteError}.get(method, E.NotPositiveDefiniteError)
        )
        rows.append(
            Row(
                f"optimize[{method}]/huge lr",
                lambda: ro.optimize(squares(), method, X0, 1e6, 5),
                error,
                f"method '{method}' failed at step",
                prefix_of_rerun(squares, X0),
            )
        )
    return rows


OPTIMIZE = [row for m in ro.METHODS for row in _optimize_rows(m)] + [
    Row(
        "optimize/steps too many for memory",
        lambda: ro.optimize(gamma(), "ng", X0, 0.5, 10**12),
        E.InputError,
        r"steps = 1000000000000 keeps 1000000000001 iterates \(pass record_every=k to keep every k-th\), which need 24 TB but this machine has",
    ),
    Row(
        "optimize/max_steps not a number",
        lambda: ro.optimize(gamma(), "re", X0, 0.5, 3, max_steps="many"),
        E.InputError,
        "max_steps must be an integer >= 1, got 'many'",
    ),
    Row(
        "optimize/record_every zero",
        lambda: ro.optimize(gamma(), "ng", X0, 0.5, 3, record_every=0),
        E.InputError,
        "record_every must be an integer >= 1, got 0",
    ),
    Row(
        "optimize/time span overflows",
        lambda: ro.optimize(gamma(), "exact", X0, 1e308, 10),
        E.MethodError,
        r"lr · steps, the run's time span, overflows: lr = 1e\+308, steps = 10",
    ),
    Row(
        "optimize/lr not a number",
        lambda: ro.optimize(gamma(), "ng", X0, "fast", 3),
        E.MethodError,
        "lr must be a finite number > 0, got 'fast'",
    ),
    Row(
        "optimize/x0 of the wrong shape",
        lambda: ro.optimize(gamma(), "ng", [1.0, 1.0, 1.0], 0.5, 3),
        E.ShapeError,
        r"x0 must have shape \(2,\)",
    ),
    Row(
        "optimize/exact through a degenerate metric",
        lambda: ro.optimize(npd(), "exact", [0.0, 0.5], 0.3, 10),
        E.ExpMapError,
        r"'exact' failed at step 4: the ODE solver of the flow .* stopped at t = 1, .* because the metric stopped being positive definite",
        flow_until_degenerate,
    ),
    Row(
        "optimize/re with solve_ivp, huge lr",
        lambda: ro.optimize(squares(), "re", X0, 1e6, 5, expmap="solve_ivp"),
        E.ExpMapError,
        r"'re' failed at step 1: .*the geodesic from there with velocity lr·d = .* stopped at t = ",
        prefix_of_rerun(squares, X0),
    ),
]


GEODESICS = [
    Row(
        "exp_map/start outside the domain",
        lambda: ro.exp_map(gamma(), [-1.0, 1.0], [0.1, 0.1]),
        E.DomainError,
        r"x = \[-1\.  1\.\] is outside the domain",
    ),
    Row(
        "exp_map/NaN start",
        lambda: ro.exp_map(gamma(), [1.0, np.inf], [0.1, 0.1]),
        E.InputError,
        r"x must be finite, but x\[1\] = inf",
    ),
    Row(
        "exp_map/non-numeric velocity",
        lambda: ro.exp_map(gamma(), X0, "up"),
        E.InputError,
        "v must be numeric, got 'up'",
    ),
    Row(
        "exp_map/metric not PD",
        lambda: ro.exp_map(npd(), [2.0, 0.5], [0.1, 0.1]),
        E.NotPositiveDefiniteError,
        r"x = \[2\.  0\.5\]: the metric there is singular or not positive definite",
    ),
    Row(
        "exp_map/max_steps zero",
        lambda: ro.exp_map(gamma(), X0, [0.1, 0.1], max_steps=0),
        E.InputError,
        "max_steps must be an integer >= 1, got 0",
    ),
    Row(
        "geodesic/non-numeric times",
        lambda: ro.geodesic(polar(), [1.0, 0.0], [0.1, 0.0], ["now"]),
        E.InputError,
        r"ts must be numeric, got \['now'\]",
    ),
    Row(
        "geodesic/times not increasing",
        lambda: ro.geodesic(polar(), [1.0, 0.0], [0.1, 0.0], [0.5, 0.2]),
        E.MethodError,
        "ts must be a non-empty, non-decreasing sequence",
    ),
]
for _m in ("dop853", "dopri", "solve_ivp"):
    GEODESICS += [
        Row(
            f"exp_map[{_m}]/through the origin",
            lambda m=_m: ro.exp_map(polar(), [1.0, 0.0], [-2.0, 0.0], method=m),
            E.ExpMapError,
            rf"exp_map\[{_m}\] failed: the geodesic from x = \[1\. 0\.\] with velocity v = \[-2\.  0\.\] could only be followed to t = 0\.\d+ of 1",
            origin_hit(_m),
        ),
        Row(
            f"exp_map[{_m}]/step cap",
            lambda m=_m: ro.exp_map(gamma(), X0, [5.0, 5.0], method=m, max_steps=3),
            E.ExpMapError,
            r"because the step cap max_steps = 3 was used up",
        ),
        Row(
            f"geodesic[{_m}]/keeps the samples before a failure",
            lambda m=_m: ro.geodesic(polar(), [1.0, 0.0], [-2.0, 0.0], np.linspace(0.0, 1.0, 11), method=m),
            E.ExpMapError,
            rf"geodesic\[{_m}\] failed after [56] of 11 samples \(the exception's \.geodesic holds them\)",
            partial_geodesic,
        ),
    ]

STUDIES = [
    Row(
        "convergence_order/repeated steps",
        lambda: ro.convergence_order(gamma(), "ng", "exact", X0, 1.0, [16, 16, 32]),
        E.MethodError,
        r"distinct step counts, but \[16\] is repeated in \[16, 16, 32\]",
    ),
    Row(
        "convergence_order/method is reference",
        lambda: ro.convergence_order(gamma(), "ng", "ng", X0, 1.0, [16, 32]),
        E.MethodError,
        "method and reference are both 'ng'",
    ),
    Row(
        "convergence_order/T not a number",
        lambda: ro.convergence_order(gamma(), "ng", "exact", X0, "soon", [16, 32]),
        E.MethodError,
        "T must be a finite number > 0, got 'soon'",
    ),
    Row(
        "convergence_order/steps not numbers",
        lambda: ro.convergence_order(gamma(), "ng", "exact", X0, 1.0, ["a", "b"]),
        E.MethodError,
        r"steps_list must be a sequence of positive integers, got \['a', 'b'\]",
    ),
    Row(
        "convergence_order/non-numeric start",
        lambda: ro.convergence_order(gamma(), "ng", "exact", "here", 1.0, [16, 32]),
        E.InputError,
        "x0 must be numeric, got 'here'",
    ),
    Row(
        "invariance_order/reparameterization of another problem",
        lambda: ro.invariance_order(gamma(), gaussian_reparam(), "ng", X0, 1.0, [16, 32]),
        E.SymbolicError,
        r"reparam is a reparameterization of Problem\('gaussian'.*not of the problem studied, Problem\('gamma'",
    ),
    Row(
        "invariance_order/reparam a name",
        lambda: ro.invariance_order(gamma(), "squares", "ng", X0, 1.0, [16, 32]),
        E.SymbolicError,
        r"reparam must be \(new_coords, phi\) or a reparameterized Problem, got 'squares'",
    ),
    Row(
        "invariance_order/reparam without a base",
        lambda: ro.invariance_order(gamma(), gamma().problem, "ng", X0, 1.0, [16, 32]),
        E.SymbolicError,
        "is not a reparameterization: it has no base problem",
    ),
]


def gaussian_reparam():
    return ro.models.gaussian_mle(ro.models.gaussian_data()).reparameterize(*ro.models.GAUSSIAN_REPARAMS["log_sigma"])


_THETA = np.zeros(26)
_X = np.full((5, 3), 0.5)
_T = np.full((5, 2), 0.5)

NN = [
    Row(
        "nn/NaN in X",
        lambda: net().loss(_THETA, np.where(np.arange(15).reshape(5, 3) == 7, np.nan, _X), _T),
        E.InputError,
        r"X must be finite, but X\[2, 1\] = nan",
    ),
    Row("nn/non-numeric X", lambda: net().gradient(_THETA, [["a"] * 3] * 5, _T), E.InputError, "X must be numeric"),
    Row(
        "nn/inf in theta",
        lambda: net().fisher_vp(np.where(np.arange(26) == 4, np.inf, _THETA), _X, _THETA),
        E.InputError,
        r"theta must be finite, but theta\[4\] = inf",
    ),
    Row(
        "nn/bce target above 1",
        lambda: net().gradient(_THETA, _X, np.full((5, 2), 1.5)),
        E.InputError,
        r"bce targets T must lie in \[0, 1\], but T\[0, 0\] = 1.5",
    ),
    Row(
        "nn/softmax targets not distributions",
        lambda: MLP([3, 4, 2], ["tanh", "softmax"], "softmax_ce").loss(_THETA, _X, _T * 1.2),
        E.InputError,
        "must be distributions .* row 0",
    ),
    Row(
        "nn/NaN direction",
        lambda: net().connection_vp(_THETA, _X, np.where(np.arange(26) == 3, np.nan, _THETA)),
        E.InputError,
        r"v must be finite, but v\[3\] = nan",
    ),
    Row(
        "solve_damped/NaN damping",
        lambda: solve_damped(lambda v: v, np.ones(3), float("nan")),
        E.InputError,
        "damping must be a finite number >= 0, got nan",
    ),
    Row(
        "solve_damped/NaN right-hand side",
        lambda: solve_damped(lambda v: v, np.array([1.0, np.nan, 1.0])),
        E.InputError,
        r"b must be finite, but b\[1\] = nan",
    ),
    Row(
        "solve_damped/max_iter not an integer",
        lambda: solve_damped(lambda v: v, np.ones(3), max_iter="many"),
        E.InputError,
        "max_iter must be an integer >= 0",
    ),
]

CLI = [
    Row(
        "cli/lr not a number",
        lambda: cli(["gamma", "--lr", "fast"]),
        None,
        "--lr: expected a positive finite number, got 'fast'",
        exits(2),
    ),
    Row(
        "cli/repeated step counts",
        lambda: cli(["orders", "--steps", "16,16"]),
        None,
        "--steps: step counts must be distinct",
        exits(2),
    ),
    Row(
        "cli/unknown method",
        lambda: cli(["invariance", "--methods", "ng,adam"]),
        None,
        "--methods: unknown method adam",
        exits(2),
    ),
    Row(
        "cli/unknown reparameterization",
        lambda: cli(["invariance", "--reparam", "cubes"]),
        None,
        "unknown reparameterization 'cubes' of gamma",
        exits(2),
    ),
]


def _gamma_huge_lr():
    out = Path(os.environ.get("BAD_INPUTS_TMP", ".")) / "gamma.png"
    return cli(["gamma", "--lr", "1e6", "--out", str(out)])


# Rows that could hang: every ODE solve, and the command that runs them.  Run in one subprocess.
SLOW_IDS = {
    "optimize[re]/start outside the domain",
    "optimize[re]/metric not PD at the start",
    "optimize[re]/huge lr",
    "optimize[exact]/start outside the domain",
    "optimize[exact]/metric not PD at the start",
    "optimize[exact]/huge lr",
    "optimize/re with solve_ivp, huge lr",
    "optimize/exact through a degenerate metric",
}
ALL = SYMBOLIC + COMPILE + OPTIMIZE + GEODESICS + STUDIES + NN + CLI
SLOW = [r for r in ALL if r.id in SLOW_IDS or r.id.startswith(("exp_map[", "geodesic["))]
SLOW.append(
    Row(
        "cli/gamma --lr 1e6 (used to hang)",
        _gamma_huge_lr,
        None,
        r"figure written to .*gamma\.png",
        failed_run_with_figure,
    )
)
FAST = [r for r in ALL if r not in SLOW]
ROWS = {r.id: r for r in FAST + SLOW}

# Each slow row's time limit, only to catch a hang: the rows take 0.1-5 s each with a warm cache,
# but the first one a subprocess runs also imports riemannopt, and a cold cache compiles a
# problem's integrator loops on first use (tens of seconds on a loaded machine).
SLOW_TIMEOUT = 240


def test_enough_rows_over_every_entry_point():
    assert len(ROWS) == len(FAST) + len(SLOW) >= 60
    for method in ro.METHODS:
        assert any(i.startswith(f"optimize[{method}]") for i in ROWS), method
    for prefix in ("Metric", "Problem", "with_params", "reparameterize", "fisher_metric", "compile", "exp_map", "geodesic",
                   "convergence_order", "invariance_order", "nn", "solve_damped", "cli"):  # fmt: skip
        assert any(i.startswith(prefix) for i in ROWS), prefix


@pytest.mark.parametrize("row", FAST, ids=[r.id for r in FAST])
def test_bad_input(row):
    assert_outcome(row, outcome(row.call))


_CHILD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("bad_inputs", sys.argv[1])
rows = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rows)
for row in rows.SLOW:
    if row.id in sys.argv[2:]:
        print(json.dumps({"id": row.id, "outcome": rows.outcome(row.call)}), flush=True)
"""


def _run_rows(ids, env, timeout):
    """Run the slow rows ``ids`` in one subprocess, in order, giving each ``timeout`` seconds from
    the end of the one before; a row that runs past its limit is reported as a hang and the
    subprocess is killed (the next call starts the remaining rows afresh).  Returns the outcomes
    by id and the stalled row's id (None if every row finished)."""
    import queue
    import tempfile
    import threading

    done = {}
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(HERE), *ids], env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )
        lines = queue.Queue()

        def read():  # in a thread, so that the wait for each line can time out
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        for row_id in ids:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                proc.kill()
                proc.wait()
                return done, row_id, f"did not finish within {timeout} s (a hang?)"
            if line is None:
                break
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                done[record["id"]] = record["outcome"]
        proc.wait()
        err.seek(0)
        return done, None, err.read()[-3000:]


@pytest.fixture(scope="module")
def slow_outcomes(tmp_path_factory):
    """Every slow row's outcome, each row bounded by its own :data:`SLOW_TIMEOUT`; a row that
    does not finish within it is reported as a hang and the rows after it run in a new
    subprocess."""
    env = dict(os.environ, BAD_INPUTS_TMP=str(tmp_path_factory.mktemp("bad-inputs")), MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    pending = [r.id for r in SLOW]
    done, notes = {}, {}
    while pending:
        finished, stalled, note = _run_rows(pending, env, SLOW_TIMEOUT)
        done.update(finished)
        rest = [i for i in pending if i not in finished]
        for row_id in rest if stalled is None else [stalled]:
            notes[row_id] = note
        pending = [] if stalled is None else rest[rest.index(stalled) + 1 :]
    return done, notes


@pytest.mark.parametrize("row", SLOW, ids=[r.id for r in SLOW])
def test_bad_input_that_could_hang(row, slow_outcomes):
    done, notes = slow_outcomes
    assert row.id in done, f"{row.id}: {notes.get(row.id)}"
    assert_outcome(row, done[row.id])
