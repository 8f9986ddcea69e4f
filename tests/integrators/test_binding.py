"""The kernels take a problem's functions as data (binding.py), compile once for every problem, and
a run compiles only the problem functions it calls (link.py)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import sympy as sp

import riemannopt as ro
from riemannopt.codegen.emit import FUNCTIONS
from riemannopt.integrators import binding, kernels
from riemannopt.integrators.link import functions_used
from riemannopt.integrators.methods import METHODS


def _half_plane(shift):
    x, y = sp.symbols("x y", real=True)
    metric = ro.Metric([x, y], sp.diag(1 / y**2, 1 / y**2))
    return ro.Problem(metric, (x - shift) ** 2 / 2 + sp.log(y) ** 2 / 2 + x * y / 7, domain=[y > 0])


def test_kernels_record_the_layout_they_are_written_for():
    """numba's cache sees edits of kernels.py only: a change of the layout of ``F`` must edit it."""
    assert kernels.LAYOUT == binding.LAYOUT


def test_a_run_compiles_only_the_functions_it_calls(tmp_path):
    """On a new problem, ``optimize(..., "ng")`` compiles the functions the loop and the ng step
    call (read from the kernels' source), those they call, and nothing else: the check of each
    iterate evaluates ``state`` there, and the ng step reads the gradient and the metric from it.
    ``mid`` also evaluates the natural direction at its midpoint, through its address."""
    C = _half_plane(0.25).compile(cache_dir=tmp_path)
    ro.optimize(C, "ng", x0=[0.0, 2.0], lr=0.1, steps=5)
    compiled = {name for name in FUNCTIONS if getattr(C.module, name).signatures}
    used = functions_used("run") | functions_used("step_ng")
    assert used - binding.KERNEL_SIGNATURES.keys() == {"state", "in_domain"}
    # a problem without data: state calls the problem's own loss, gradient and metric
    assert compiled == (used - binding.KERNEL_SIGNATURES.keys()) | {"loss", "grad", "metric"}
    used = functions_used("run") | functions_used("step_mid")
    assert "nat_dir" in used  # the natural direction at the midpoint is called through its address
    ro.optimize(C, "mid", x0=[0.0, 2.0], lr=0.1, steps=5)
    compiled = {name for name in FUNCTIONS if getattr(C.module, name).signatures}
    assert compiled == (used - binding.KERNEL_SIGNATURES.keys()) | {"loss", "grad", "metric"}
    assert "gamma_vv" not in compiled and "christoffel" not in compiled


def test_kernels_compile_once_for_every_problem(tmp_path):
    """A second problem reuses the kernels' machine code: no new specialisation of the loop, the
    step rule or the exponential map (before, every problem compiled its own copy of each)."""
    for shift in (0.5, 0.75):
        C = _half_plane(shift).compile(cache_dir=tmp_path)
        traj = ro.optimize(C, "re", x0=[0.0, 2.0], lr=0.1, steps=5)
        # independent check of the run: re steps are exponential maps of lr·d(x)
        x = traj.x[0]
        np.testing.assert_allclose(ro.exp_map(C, x, 0.1 * C.direction(x)), traj.x[1], rtol=1e-12)
        traj = ro.optimize(C, "mid", x0=[0.0, 2.0], lr=0.1, steps=5)  # nat_dir at its midpoints
        np.testing.assert_allclose(traj.x[1], x + 0.1 * C.direction(x + 0.05 * C.direction(x)), rtol=1e-12)
        names = ("run", "step_re", "step_mid", "exp_map", "check_point", *binding.KERNEL_FUNCTIONS.values())
        counts = {k: len(getattr(kernels, k).signatures) for k in names}
        if shift == 0.5:
            first = counts
    assert counts == first
    assert kernels.step_re.signatures == [binding.STEP_SIGNATURE.args]
    # the kernels called through their addresses (the solver, the natural direction, the facts at
    # an iterate and the solve with them) are compiled once, with their address signature, and
    # not again inside the step rules that call them
    for name, kernel in binding.KERNEL_FUNCTIONS.items():
        assert getattr(kernels, kernel).signatures == [binding.KERNEL_SIGNATURES[name].args], kernel


# Runs every step rule and the kernels Python calls in plain Python (NUMBA_DISABLE_JIT=1) with
# recording functions, and prints which problem functions each one called.
_RECORD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import sympy as sp
    import riemannopt as ro
    from riemannopt.codegen.emit import FUNCTIONS
    from riemannopt.integrators import kernels
    from riemannopt.integrators.binding import KERNEL_FUNCTIONS, Functions
    from riemannopt.integrators.methods import METHODS

    a, b = sp.symbols("a b", real=True)
    metric = ro.Metric([a, b], sp.Matrix([[1 + b**2, a * b / 3], [a * b / 3, 2 + a**2]]))
    C = ro.Problem(metric, sp.cos(a) + (b - 1) ** 2 + a**2 * b / 5).compile()
    called = set()

    def recorder(name):
        f = getattr(C.module, name)
        def call(*args):
            called.add(name)
            return f(*args)
        return call

    def kernel(name, function):
        # a kernel called through its address: recorded, and given F in place of the addresses
        def call(addresses, *args):
            called.add(name)
            return function(F, *args)
        return call

    F = Functions(
        C.n,
        None,
        **{name: recorder(name) for name in FUNCTIONS},
        **{name: kernel(name, getattr(kernels, f)) for name, f in KERNEL_FUNCTIONS.items()},
    )
    x, v, p = np.array([0.3, 0.4]), np.array([0.2, -0.1]), C.p
    out, bad = np.empty(2), np.empty(4)
    # each step rule with facts that hold nothing yet: it evaluates all it needs at x itself
    calls = {m.kernel: lambda k=m.kernel: getattr(kernels, k)(F, x, x - 0.01, 0.1, 1, p, 1e-8, 1e-10, 1000,
                                                              kernels.new_facts(2), out, bad)
             for m in METHODS.values() if m.kernel}
    calls |= {
        "nat_dir": lambda: kernels.nat_dir(F, x, p, out),
        "nat_dir_here": lambda: kernels.nat_dir_here(F, x, p, kernels.new_facts(2), out),
        "check_point": lambda: kernels.check_point(F, True, x, p, kernels.new_facts(2)),
        "exp_map": lambda: kernels.exp_map(F, x, v, p, 1e-8, 1e-10, 1000),
        "transport": lambda: kernels.transport(F, x, v, v, p, 1e-8, 1e-10, 1000),
        "geodesic_path": lambda: kernels.geodesic_path(F, x, v, np.array([0.5, 1.0]), p, 1e-8, 1e-10, 1000, True, np.empty((2, 4))),
        "start_ok": lambda: kernels.start_ok(F, x, v, p),
    }
    result = {}
    for name, call in calls.items():
        called.clear()
        r = call()
        assert (r[0] if isinstance(r, tuple) else r) in (0, True), name  # OK: the step succeeded
        result[name] = sorted(called)
    print(json.dumps(result))
    """
)


def test_functions_used_contain_every_function_a_kernel_calls(tmp_path):
    """The static reading of the kernels' source (which decides what is compiled before a kernel
    runs: an unbound function would be called at address 0) against a dynamic one: each kernel run
    in plain Python with functions that record their calls."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", RIEMANNOPT_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", _RECORD], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    recorded = json.loads(proc.stdout.splitlines()[-1])
    assert set(recorded) >= {m.kernel for m in METHODS.values() if m.kernel}
    for kernel, called in recorded.items():
        assert called, kernel  # the run did something
        assert set(called) <= functions_used(kernel), (kernel, set(called) - functions_used(kernel))
    # the reading is not vacuously large: geo, for instance, needs its Γ(v, v) and not the Hessian
    assert recorded["step_geo"] == sorted(functions_used("step_geo"))
    assert "hessian" not in functions_used("step_geo")
    # Γ(u, v) is compiled for the kernels that transport a vector and for no other
    for kernel in ("transport", "step_rmid"):
        assert "gamma_uv" in recorded[kernel] and "gamma_uv" in functions_used(kernel)
    for kernel in ("exp_map", "geodesic_path", "step_re", "step_geo"):
        assert "gamma_uv" not in recorded[kernel] + sorted(functions_used(kernel)), kernel
    assert "gamma_uv" in functions_used("transport_batch")
    # and the flow's field (the natural direction) for exact's solves of the flow, and no other solve
    assert {"nat_dir", "grad"} <= set(recorded["step_exact"])
    for kernel in ("exp_map", "transport", "geodesic_path", "exp_map_batch"):
        assert not {"nat_dir", "grad"} & functions_used(kernel), kernel


# Runs the trajectory loop in plain Python (NUMBA_DISABLE_JIT=1) on logistic regression, a problem
# with data, with the generated module's sums over the rows counted, and prints them per method.
_PASSES = textwrap.dedent(
    """
    import json
    import numpy as np
    import riemannopt as ro
    from riemannopt.codegen.emit import FUNCTIONS
    from riemannopt.integrators import kernels
    from riemannopt.integrators.binding import KERNEL_FUNCTIONS, Functions
    from riemannopt.integrators.methods import METHODS

    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(40), rng.normal(size=(40, 2))])
    y = (rng.random(40) < 1 / (1 + np.exp(-X @ [0.2, -0.5, 0.3]))).astype(float)
    C = ro.models.logistic_regression(X, y).compile()
    passes = {}

    def counted(name, f):
        def call(*args):
            passes[name] = passes.get(name, 0) + 1
            return f(*args)
        return call

    for name, f in list(vars(C.module).items()):
        if name.startswith("_mean_"):  # each call is one pass over the rows
            setattr(C.module, name, counted(name, f))
    F = Functions(
        C.n,
        None,
        **{name: getattr(C.module, name) for name in FUNCTIONS},
        # the kernels called through their addresses, given F in place of the addresses
        **{name: lambda _, *args, k=getattr(kernels, kernel): k(F, *args) for name, kernel in KERNEL_FUNCTIONS.items()},
    )
    kernels.bind_step = lambda S: S  # in plain Python the loop is given the step rule itself
    steps, result = 3, {}
    for name in ("geo", "ng", "geof", "gd", "mid"):
        m = METHODS[name]
        X_, L_, bad = np.empty((steps + 1, C.n)), np.empty(steps + 1), np.empty(C.n + 2)
        passes.clear()
        status, *_ = kernels.run(F, getattr(kernels, m.kernel), np.array([0.1, -0.2, 0.1]), 0.5, steps, 1,
                                 C.p, 1e-8, 1e-10, 1000, m.uses_metric, X_, L_, bad)
        assert status == 0, name
        result[name] = passes.copy()
    print(json.dumps(result))
    """
)


def test_a_geo_step_on_data_is_two_passes_over_the_rows(tmp_path):
    """On a problem with data every generated function is a pass over the rows.  The check of an
    iterate evaluates ``state`` (loss, gradient and metric in one pass), and the step from it
    reads them: a ``geo`` step makes two passes (Γ_first(d, d) and the next iterate's ``state``;
    it made five: the gradient and the metric for d, Γ(d, d) with the metric again, the metric and
    the loss at the new point), ``ng`` and ``gd`` one.  Counted in a run of the loop itself in
    plain Python, and read from the kernels' source: geo's loop calls no gradient, metric or loss
    of its own."""
    used = functions_used("run") | functions_used("step_geo")
    assert used - binding.KERNEL_SIGNATURES.keys() == {"state", "gamma_vv_chol", "in_domain"}
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", RIEMANNOPT_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", _PASSES], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    passes = json.loads(proc.stdout.splitlines()[-1])
    steps = 3
    assert passes["geo"] == {"_mean_state": steps + 1, "_mean_gamma_first_vv": steps}
    assert passes["geof"] == {"_mean_state": steps + 1, "_mean_gamma_first_vv": steps}
    assert passes["ng"] == passes["gd"] == {"_mean_state": steps + 1}
    # mid's midpoint is another point: its direction takes the gradient and the metric there
    assert passes["mid"] == {"_mean_state": steps + 1, "_mean_grad": steps, "_mean_metric": steps}
