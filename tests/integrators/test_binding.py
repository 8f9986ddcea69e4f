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
    call (read from the kernels' source), those Python calls, and nothing else."""
    C = _half_plane(0.25).compile(cache_dir=tmp_path)
    ro.optimize(C, "ng", x0=[0.0, 2.0], lr=0.1, steps=5)
    compiled = {name for name in FUNCTIONS if getattr(C.module, name).signatures}
    used = functions_used("run") | functions_used("step_ng")
    assert "nat_dir" in used  # the natural direction is called through its address
    expected = (used - binding.KERNEL_SIGNATURES.keys()) | {"in_domain", "loss", "metric"}
    assert compiled == expected
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
        names = ("run", "step_re", "exp_map", "check_point", "solve_at", "nat_dir_at")
        counts = {k: len(getattr(kernels, k).signatures) for k in names}
        if shift == 0.5:
            first = counts
    assert counts == first
    assert kernels.step_re.signatures == [binding.STEP_SIGNATURE.args]
    # the solver and the natural direction are compiled once, with their address signature, and
    # not again inside the step rules that call them
    assert kernels.solve_at.signatures == [binding.KERNEL_SIGNATURES["solve"].args]
    assert kernels.nat_dir_at.signatures == [binding.KERNEL_SIGNATURES["nat_dir"].args]


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
    from riemannopt.integrators.binding import Functions
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
        solve=kernel("solve", kernels.solve_at),
        nat_dir=kernel("nat_dir", kernels.nat_dir_at),
    )
    x, v, p = np.array([0.3, 0.4]), np.array([0.2, -0.1]), C.p
    out, bad = np.empty(2), np.empty(4)
    calls = {m.kernel: lambda k=m.kernel: getattr(kernels, k)(F, x, x - 0.01, 0.1, 1, p, 1e-8, 1e-10, 1000, out, bad)
             for m in METHODS.values() if m.kernel}
    calls |= {
        "nat_dir": lambda: kernels.nat_dir(F, x, p, out),
        "check_point": lambda: kernels.check_point(F, True, x, p, np.empty(1), 0),
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
