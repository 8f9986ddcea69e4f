"""Every registered method against what its registry entry declares.

One parameterised test per method and problem: the convergence order of each declared
``(reference, order)`` pair is fitted from runs at fixed time T (the least-squares slope of
log-error against log-η, the reference being the other method's run at the same step count, as
in Theorem 1), and the order of invariance from runs in the base coordinates and in a nonlinear
reparameterization mapped back.  A method added to the registry is tested here with nothing to
write; a wrong declaration or a wrong step rule fails.
"""

import numpy as np
import pytest

import riemannopt as ro
from riemannopt.analysis.orders import fit_order
from riemannopt.experiments import STUDY_PROBLEMS, study_problem
from riemannopt.integrators.methods import METHODS, Method, get_method, invariance_methods, theorem1_pairs

# Four problems of different kinds: a statistical manifold (the paper's Gamma fit), a flat
# manifold in curvilinear coordinates, a statistical manifold whose metric and loss are means over
# a data set (logistic regression on 200 rows), and a family outside the exponential families
# whose Fisher metric is a compiled quadrature (the Weibull fit); each with its default nonlinear
# reparameterization.
PROBLEMS = ("gamma", "polar", "logistic", "weibull")
T = 2.0
CONVERGENCE_STEPS = (16, 32, 64, 128)
INVARIANCE_STEPS = (32, 64, 128, 256)
TOL = 0.15  # on a fitted order, as in the Theorem-1 table
ROUNDOFF = 1e-9  # the largest gap of an exactly invariant method (ODE tolerances 1e-12)


@pytest.fixture(scope="module")
def problems():
    out = {}
    for name in PROBLEMS:
        base, x0 = study_problem(name)
        out[name] = (base.compile(), x0, STUDY_PROBLEMS[name].reparams[STUDY_PROBLEMS[name].default_reparam])
    return out


def _self_convergence(C, method, x0):
    """Order of convergence of a method to its own flow: the difference between the final points
    at N and 2N steps shrinks like η^order (a Richardson estimate, no other method involved)."""
    h, err = [], []
    for n in CONVERGENCE_STEPS:
        a = ro.optimize(C, method, x0, T / n, n).x[-1]
        b = ro.optimize(C, method, x0, T / (2 * n), 2 * n).x[-1]
        h.append(T / n)
        err.append(np.linalg.norm(a - b))
    return fit_order(np.array(h), np.array(err))


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("method", list(METHODS))
def test_declared_convergence_orders(problems, problem, method):
    """Each declared (reference, order) holds within 0.15 on every problem."""
    C, x0, _ = problems[problem]
    entry = METHODS[method]
    if not entry.converges_to:
        assert method == "exact"  # the reference flow itself
        return
    for reference, order in entry.converges_to:
        if reference is None:
            fitted = _self_convergence(C, method, x0)
        else:
            fitted = ro.convergence_order(C, method, reference, x0, T, CONVERGENCE_STEPS).order
        assert abs(fitted - order) <= TOL, (
            f"{method} → {reference or 'its own flow'}: fitted {fitted:.3f}, declared {order}"
        )


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("method", list(METHODS))
def test_declared_invariance(problems, problem, method):
    """The gap between the base and the reparameterized run shrinks at the declared order, or
    stays at round-off for an exactly invariant method."""
    C, x0, reparam = problems[problem]
    study = ro.invariance_order(C.problem, reparam, method, x0, T, INVARIANCE_STEPS)
    entry = METHODS[method]
    if entry.exactly_invariant:
        assert study.gap.max() <= ROUNDOFF, f"{method}: gaps {study.gap}"
    else:
        assert study.gap.max() > 10 * ROUNDOFF  # not invariant by accident
        assert abs(study.order - entry.invariance) <= TOL, (
            f"{method}: fitted {study.order:.3f}, declared {entry.invariance}"
        )


def test_registry_entries_are_complete():
    """Every entry has exactly one of a step rule in the kernels module (with the common
    signature) or a driver, a distinct colour, and coherent declarations; the derived tables
    agree with the entries."""
    import inspect

    from riemannopt.integrators import kernels

    rules = {
        name: list(inspect.signature(f.py_func).parameters)
        for name, f in vars(kernels).items()
        if hasattr(f, "py_func")
    }
    signature = ["F", "x", "xprev", "lr", "k", "p", "rtol", "atol", "max_steps", "here", "out", "bad"]
    colors = [m.color for m in METHODS.values()]
    assert len(set(colors)) == len(colors)
    for name, m in METHODS.items():
        assert isinstance(m, Method) and m.name == name and get_method(name) is m
        assert rules.get(m.kernel) == signature, f"{name}: {m.kernel} missing or with another signature"
        for reference, order in m.converges_to:
            assert reference is None or reference in METHODS
            assert isinstance(order, int) and order >= 1
        assert m.exactly_invariant == (m.invariance is None)
        assert m.affine_invariant or not m.exactly_invariant
    assert ("geo", "re", 2) in theorem1_pairs() and ("ng", "exact", 1) in theorem1_pairs()
    assert all(not METHODS[m].contrast for m in invariance_methods())
    assert set(invariance_methods(include_contrast=True)) == set(METHODS)
    with pytest.raises(ro.errors.MethodError, match="choose one of gd, ng"):
        get_method("adam")


@pytest.mark.parametrize("method", ["rmid", "rtaylor"])
@pytest.mark.parametrize("problem", ["half-plane", "sphere"])
def test_invariant_second_order_methods_on_curved_manifolds(problem, method):
    """The exactly invariant second-order methods converge to the exact flow at order 2 on two
    curved geometric manifolds too (the registry test above uses a statistical manifold and the
    flat plane): the Poincaré half-plane (curvature −1) and the unit sphere (curvature +1)."""
    if problem == "half-plane":
        P, x0 = study_problem("half-plane")
    else:
        P, x0 = ro.models.sphere(), np.array([1.0, 0.3])
    fitted = ro.convergence_order(P, method, "exact", x0, T, CONVERGENCE_STEPS).order
    assert abs(fitted - 2) <= TOL, f"{method} on {problem}: fitted {fitted:.3f}"


def test_registry_hooks_resolve():
    """What an entry names besides its step rule exists: the reporter of a stopped ODE solve in
    common.py and each Python driver in drivers.py, for an exponential map optimize accepts."""
    from riemannopt.integrators import common, drivers
    from riemannopt.integrators.optimize import _EXPMAPS

    for name, m in METHODS.items():
        assert callable(getattr(common, m.solve_stop)), name
        for expmap, driver in m.drivers:
            assert expmap in _EXPMAPS and expmap != "dop853", name
            assert callable(getattr(drivers, driver)) and m.driver(expmap) == driver, name
        assert m.driver("dop853") is None
    assert METHODS["re"].driver("solve_ivp") == "re_ivp" and METHODS["exact"].solve_stop == "raise_flow_stop"


def test_settings_follow_the_loops_parameters():
    """optimize passes its Settings to the jitted loops by position: the fields are the loops'
    parameters after x0, in order."""
    import inspect

    from riemannopt.integrators import kernels
    from riemannopt.integrators.optimize import Settings

    for loop in (kernels.run, kernels.run_batch):
        assert list(inspect.signature(loop.py_func).parameters)[3:10] == list(Settings._fields)


def test_optimize_follows_the_entries_not_the_names(monkeypatch):
    """A method registered under a new name with re's driver runs through it (the same iterates as
    re with solve_ivp), and one with exact's step rule reports a stopped solve as its solve_stop
    says: optimize reads the entry, not the name."""
    import dataclasses

    import sympy as sp

    from riemannopt.errors import ExpMapError

    def register(name, base, **changes):
        entry = dataclasses.replace(METHODS[base], name=name, color=f"#0000{len(METHODS):02x}", **changes)
        monkeypatch.setitem(METHODS, name, entry)

    register("re2", "re")
    register("flow", "exact")
    register("flow-as-geodesic", "exact", solve_stop="raise_expmap_stop")
    P, x0 = study_problem("half-plane")
    C = P.compile()
    ours = ro.optimize(C, "re2", x0, 0.3, 4, expmap="solve_ivp")
    np.testing.assert_array_equal(ours.x, ro.optimize(C, "re", x0, 0.3, 4, expmap="solve_ivp").x)
    assert ours.method == "re2"
    a, b = sp.symbols("a b", real=True)
    D = ro.Problem(ro.Metric([a, b], sp.diag(1, 1 - a**2)), -a + b**2).compile()
    with pytest.raises(ExpMapError, match="method 'flow' failed at step 4: the ODE solver of the flow"):
        ro.optimize(D, "flow", [0.0, 0.5], 0.3, 10)
    with pytest.raises(ExpMapError, match="'flow-as-geodesic' failed at step 4: .*the geodesic ODE solver"):
        ro.optimize(D, "flow-as-geodesic", [0.0, 0.5], 0.3, 10)
