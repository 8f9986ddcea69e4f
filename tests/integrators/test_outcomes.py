"""The outcome vocabulary (riemannopt/integrators/outcomes.py): every status and every stop reason
is produced by a real run, reported by the kernels with its code and by the Python side with its
exception class and text; the kernels and the Python side read the same codes, and a change of a
code asks for the cached kernels to be recompiled."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
from riemannopt import errors
from riemannopt.integrators import flows, kernels, outcomes
from riemannopt.integrators.link import kernels_for, loop_for
from riemannopt.integrators.methods import METHODS
from riemannopt.integrators.outcomes import STATUS_TEXT, STATUSES, WHY_TEXT, WHYS

x, a, b = sp.symbols("x a b", real=True)

# Written out here, independently of outcomes.py: the exception each failure status raises.
EXCEPTIONS = {
    "OUT_OF_DOMAIN": errors.DomainError,
    "NOT_PD": errors.NotPositiveDefiniteError,
    "NON_FINITE": errors.NonFiniteError,
    "EXPMAP_FAILED": errors.ExpMapError,
    "SINGULAR": errors.SingularHessianError,
}


def _problem(name):
    if name == "flat half-line":  # g = 1 on x > 0, L = x²: d = −2x, and geodesics are straight
        return ro.Problem(ro.Metric([x], sp.Matrix([[1]])), x**2, domain=[x > 0])
    if name == "degenerate":  # g = diag(1, 1 − a²) is not positive definite for |a| ≥ 1; L = −a + b²
        return ro.Problem(ro.Metric([a, b], sp.diag(1, 1 - a**2)), -a + b**2)
    if name == "quartic":  # L = −x⁴, g = 1: ng and the flow run to infinity
        return ro.Problem(ro.Metric([x], sp.Matrix([[1]])), -(x**4))
    if name == "flat in b":  # L = a² + sin a does not depend on b: its Hessian diag(2 − sin a, 0) is singular
        return ro.Problem(ro.Metric([a, b], sp.eye(2)), a**2 + sp.sin(a))
    if name == "escaping":  # g = e^(−2x): γ̈ = γ̇², so γ = −log(1 − v t) reaches infinity at t = 1/v
        return ro.Problem(ro.Metric([x], sp.Matrix([[sp.exp(-2 * x)]])), x**2)
    if name == "root metric":  # g = e^√x: Γ = 1/(4√x) grows without bound at x → 0 and is NaN below
        return ro.Problem(ro.Metric([x], sp.Matrix([[sp.exp(sp.sqrt(x))]])), x**2)
    raise KeyError(name)


_compiled = {}


def compiled(name):
    if name not in _compiled:
        _compiled[name] = _problem(name).compile()
    return _compiled[name]


# status name → (problem, method, x0, lr, steps, the failing step, whether the loop computed the
# offending iterate (else a quantity of the step failed before producing it)).
STATUS_CASES = {
    "OUT_OF_DOMAIN": ("flat half-line", "gd", [1.0], 1.5, 3, 1, True),  # x_1 = 1 − 1.5·2 = −2
    "NOT_PD": ("degenerate", "ng", [0.0, 0.5], 0.3, 10, 4, True),  # a_k = 0.3k crosses 1 at k = 4
    "NON_FINITE": ("quartic", "ng", [2.0], 1.0, 20, None, True),
    "EXPMAP_FAILED": ("flat half-line", "re", [1.0], 1.5, 3, 1, False),  # the straight line to −2 leaves x > 0
    "SINGULAR": ("flat in b", "newton", [0.3, 0.2], 0.5, 3, 1, False),
}


def test_every_code_has_one_name_and_every_failure_its_exception_and_texts():
    """The codes are distinct; each failure status maps to its exception class (the table above)
    and two texts, OK to none; each stop reason has its text."""
    assert len(set(STATUSES.values())) == len(STATUSES) and STATUSES["OK"] == outcomes.OK
    assert len(set(WHYS.values())) == len(WHYS)
    assert set(STATUS_TEXT) == set(STATUSES.values()) - {outcomes.OK}
    for name, code in STATUSES.items():
        if code == outcomes.OK:
            continue
        failure = STATUS_TEXT[code]
        assert failure.exception is EXCEPTIONS[name], name
        assert failure.point and failure.during, name
    assert set(WHY_TEXT) == set(WHYS.values()) and all(WHY_TEXT.values())


def test_kernels_and_python_read_the_same_codes():
    """The kernels compile outcomes' codes and its why_failed; the linked kernels, scipy's solver
    path and the Python tables expose the same names with the same values."""
    K = kernels_for(compiled("flat half-line"))
    for name, code in {**STATUSES, **WHYS}.items():
        assert getattr(K, name) == code, name
    for name, code in WHYS.items():
        assert getattr(flows, name) == code, name
    assert kernels.why_failed.py_func is outcomes.why_failed
    assert {code: outcomes.why_failed(code) for code in STATUSES.values() if code != outcomes.OK} == {
        STATUSES["OUT_OF_DOMAIN"]: WHYS["WHY_DOMAIN"],
        STATUSES["NOT_PD"]: WHYS["WHY_NOT_PD"],
        STATUSES["NON_FINITE"]: WHYS["WHY_NON_FINITE"],
        STATUSES["EXPMAP_FAILED"]: WHYS["WHY_NON_FINITE"],
        STATUSES["SINGULAR"]: WHYS["WHY_NON_FINITE"],
    }


def test_every_failure_status_has_a_case():
    assert set(STATUS_CASES) == set(STATUSES) - {"OK"}


@pytest.mark.parametrize("name", list(STATUS_CASES))
def test_every_failure_status_is_produced(name):
    """A run that fails with each status: the jitted loop returns the code, and optimize raises the
    status's exception with its text, naming the method and the step."""
    problem, method, x0, lr, steps, step, computed = STATUS_CASES[name]
    C = compiled(problem)
    entry = METHODS[method]
    x0 = np.array(x0)
    rows = steps + 1
    X, L, bad = np.empty((rows, C.n)), np.empty(rows), np.empty(C.n + 2)
    status, k, was_computed, _ = loop_for(C, entry.kernel).run(
        x0, lr, steps, 1, C.p, 1e-12, 1e-14, 100_000, entry.uses_metric, X, L, bad
    )
    assert status == STATUSES[name]
    assert bool(was_computed) == computed
    assert step is None or k == step
    with pytest.raises(EXCEPTIONS[name]) as info:
        ro.optimize(C, method, x0, lr, steps)
    exc = info.value
    failure = STATUS_TEXT[STATUSES[name]]
    assert exc.step == k and f"method {method!r} failed at step {k}" in str(exc)
    assert (failure.point if computed else failure.during) in str(exc)


# stop reason → (problem, x, v, max_steps): an exponential map that stops for that reason, or
# (problem, "exact", x0, lr, steps): exact's solve of the flow that does.
WHY_CASES = {
    "WHY_TOLERANCE": ("root metric", [1.0], [-5.0], 100_000),  # the steps shrink to nothing at x → 0
    "WHY_DOMAIN": ("flat half-line", [1.0], [-2.0], 100_000),  # leaves x > 0 at t = 1/2
    "WHY_NON_FINITE": ("escaping", [0.0], [2.0], 100_000),  # reaches infinity at t = 1/2
    "WHY_STEP_CAP": ("flat half-line", [1.0], [0.5], 2),  # DOP853 starts at h = 0.01, at most ×10 a step
    "WHY_NOT_PD": ("degenerate", "exact", [0.0, 0.5], 0.3, 10),  # the flow a(t) = t reaches a = 1
}


def test_every_stop_reason_has_a_case():
    assert set(WHY_CASES) == set(WHYS)


@pytest.mark.parametrize("name", list(WHY_CASES))
def test_every_stop_reason_is_produced(name):
    """A solve that stops for each reason: the kernels report the code, and the ExpMapError says
    why with its text."""
    problem, *case = WHY_CASES[name]
    C = compiled(problem)
    why = WHYS[name]
    if case[0] == "exact":
        _, x0, lr, steps = case
        rows = steps + 1
        X, L, bad = np.empty((rows, C.n)), np.empty(rows), np.empty(C.n + 2)
        status, *_ = loop_for(C, "step_exact").run(
            np.array(x0), lr, steps, 1, C.p, 1e-12, 1e-14, 100_000, True, X, L, bad
        )
        assert status == outcomes.EXPMAP_FAILED and bad[C.n + 1] == why
        with pytest.raises(errors.ExpMapError, match="the ODE solver of the flow") as info:
            ro.optimize(C, "exact", x0, lr, steps)
        max_steps = 100_000
    else:
        x0, v, max_steps = case
        status, _, _, reported = kernels_for(C).exp_map(np.array(x0), np.array(v), C.p, 1e-12, 1e-14, max_steps)
        assert status == outcomes.EXPMAP_FAILED and reported == why
        with pytest.raises(errors.ExpMapError) as info:
            ro.exp_map(C, x0, v, max_steps=max_steps)
    assert "because " + WHY_TEXT[why].format(max_steps=max_steps) in str(info.value)


# numba's cache sees edits of kernels.py only: a code or a tableau changed elsewhere must stop the
# kernels from running until kernels.py records the new digest (and so is recompiled).
_EDITS = {
    "none": None,
    "a status code": ("outcomes.py", "SINGULAR = 5", "SINGULAR = 6"),
    "a stop reason": ("outcomes.py", "WHY_NOT_PD = 4", "WHY_NOT_PD = 5"),
    "the mapping to stop reasons": ("outcomes.py", "        return WHY_DOMAIN", "        return WHY_NON_FINITE"),
    "a tableau": ("tableaus.py", "max_factor=10.0", "max_factor=8.0"),
}


@pytest.mark.parametrize("edit", list(_EDITS))
def test_a_changed_code_or_tableau_requires_recompiled_kernels(edit, tmp_path):
    """In a copy of the package with the edit, linking the kernels raises the RuntimeError that asks
    for kernels.py's LAYOUT to be updated; without an edit it does not."""
    source = Path(ro.__file__).resolve().parent
    shutil.copytree(source, tmp_path / "riemannopt", ignore=shutil.ignore_patterns("__pycache__"))
    if _EDITS[edit] is not None:
        file, old, new = _EDITS[edit]
        path = tmp_path / "riemannopt" / "integrators" / file
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1
        path.write_text(text.replace(old, new), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    code = (
        "import riemannopt; from riemannopt.integrators import link; link._check_kernels(); print(riemannopt.__file__)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    if _EDITS[edit] is None:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.strip().startswith(str(tmp_path))
    else:
        assert proc.returncode != 0 and "RuntimeError" in proc.stderr and "set LAYOUT =" in proc.stderr, proc.stderr
