"""The on-disk cache of generated modules and of numba's machine code.

* Two fresh processes share a cache directory: the second takes the generated source from disk
  (``from_cache``) and numba's compiled code too (cache hits, no misses), and computes bit-identical
  values.
* In one process: an equal problem built anew maps to the same key and module; new parameter values
  change the numbers (checked against the loss written by hand) but not the module.
* The directory honours the ``cache_dir`` argument, ``$RIEMANNOPT_CACHE_DIR``, ``$XDG_CACHE_HOME``
  and ``~/.cache``.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
import riemannopt.codegen as codegen
from riemannopt.codegen import cache_dir

REPO = Path(ro.__file__).resolve().parents[1]

X = np.array([2.0, 3.0])
V = np.array([1.0, -0.5])

_CHILD = """
import json, sys
import numpy as np
import riemannopt as ro

P = ro.models.gamma_mle(ro.models.gamma_data())
C = P.compile()
x, v = np.array([2.0, 3.0]), np.array([1.0, -0.5])
gvv = C.gamma_vv(x, v)
d = C.direction(x)

def stats(f):
    s = f.stats
    return {"hits": sum(s.cache_hits.values()), "misses": sum(s.cache_misses.values())}

print(json.dumps({
    "key": C.key,
    "from_cache": C.from_cache,
    "file": C.module.__file__,
    "gamma_vv": [float(t).hex() for t in gvv],
    "direction": [float(t).hex() for t in d],
    "gamma_vv_stats": stats(C.module.gamma_vv),
    "direction_stats": stats(C.module.direction),
}))
"""


def _run_child(cache):
    env = dict(os.environ)
    env["RIEMANNOPT_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_second_process_reuses_source_and_machine_code(tmp_path, gamma_compiled):
    cache = tmp_path / "cache"
    first = _run_child(cache)
    second = _run_child(cache)

    # process 1 generated the source and had numba compile
    assert first["from_cache"] is False
    assert first["gamma_vv_stats"]["misses"] >= 1 and first["gamma_vv_stats"]["hits"] == 0
    # process 2 found both caches
    assert second["from_cache"] is True
    for f in ("gamma_vv_stats", "direction_stats"):
        assert second[f]["hits"] >= 1, (f, second[f])
        assert second[f]["misses"] == 0, (f, second[f])

    assert first["key"] == second["key"] == gamma_compiled.key
    generated = Path(second["file"])
    assert generated == Path(first["file"]) and generated.parent == cache and generated.is_file()
    assert generated.name.startswith(f"_riemannopt_gen_{gamma_compiled.key}")
    assert not list(cache.glob("*.tmp"))  # atomic writes leave no debris
    if "NUMBA_CACHE_DIR" not in os.environ:
        assert list(cache.rglob("*.nbi")), "numba's index should live beside the generated module"
    # both processes, and this one, compute bit-identical values
    here_gvv = [float(t).hex() for t in gamma_compiled.gamma_vv(X, V)]
    here_d = [float(t).hex() for t in gamma_compiled.direction(X)]
    assert first["gamma_vv"] == second["gamma_vv"] == here_gvv
    assert first["direction"] == second["direction"] == here_d


def test_equal_problem_built_anew_hits_cache(gamma_compiled):
    P2 = ro.models.gamma_mle(ro.models.gamma_data())
    assert P2 is not gamma_compiled.problem
    assert P2.key == gamma_compiled.key
    C2 = P2.compile()
    assert C2.from_cache is True
    assert C2.module is gamma_compiled.module
    np.testing.assert_array_equal(C2.gamma_vv(X, V), gamma_compiled.gamma_vv(X, V))


def _gamma_loss_by_hand(alpha, beta, mean_x, mean_log_x):
    """Mean negative log-likelihood of Gamma(shape α, rate β) from the two sufficient statistics."""
    return -(alpha * math.log(beta) - math.lgamma(alpha) + (alpha - 1) * mean_log_x - beta * mean_x)


def test_with_params_changes_values_not_module(gamma_problem, gamma_compiled):
    """L and ∇L with mean_x = 2.0 against the formulas by hand (rtol 1e-13); the module is reused."""
    data = ro.models.gamma_data()
    mean_x, mean_log_x = data.mean(), np.log(data).mean()
    a, b = X
    C = gamma_compiled
    assert C.loss(X) == pytest.approx(_gamma_loss_by_hand(a, b, mean_x, mean_log_x), rel=1e-13)

    C2 = C.with_params(mean_x=2.0)
    assert C2.module is C.module and C2.key == C.key
    assert C2.loss(X) == pytest.approx(_gamma_loss_by_hand(a, b, 2.0, mean_log_x), rel=1e-13)
    # ∂L/∂β = −α/β + mean_x; ∂L/∂α = −log β + ψ(α) − mean_log_x is unchanged
    np.testing.assert_allclose(C2.grad(X)[1], -a / b + 2.0, rtol=1e-13)
    assert C2.grad(X)[0] == C.grad(X)[0]
    assert C2.loss(X) - C.loss(X) == pytest.approx(b * (2.0 - mean_x), rel=1e-10)
    # the original is untouched
    assert C.loss(X) == pytest.approx(_gamma_loss_by_hand(a, b, mean_x, mean_log_x), rel=1e-13)

    C3 = gamma_problem.with_params(mean_x=2.0).compile()
    assert C3.from_cache is True and C3.module is C.module
    assert C3.loss(X) == C2.loss(X)
    np.testing.assert_array_equal(C3.direction(X), C2.direction(X))

    # other data, same structure: same key and module, other numbers
    C4 = ro.models.gamma_mle(ro.models.gamma_data(seed=5, n=300, shape=3.0, rate=2.0)).compile()
    assert C4.module is C.module and C4.from_cache is True
    assert C4.loss(X) != C.loss(X)


_COUNTER = iter(range(10**6))


def _unique_problem():
    """A small problem whose key no other test produces (fresh module name)."""
    t = sp.Symbol("t", real=True)
    c = sp.Symbol("c", real=True)
    k = next(_COUNTER) + os.getpid() * 1000
    return ro.Problem(
        ro.Metric([t], [[1 + t**2]]), (t - c) ** 2 / 2 + sp.Integer(k) * t**3, params={c: 1.5}, domain=[t > -10]
    )


def test_explicit_cache_dir_and_disk_hit_without_derivation(tmp_path, monkeypatch):
    """A compile writes ``_riemannopt_gen_<key>.py`` into ``cache_dir``; a fresh import of that file
    (module dropped from ``sys.modules``) is a cache hit that never calls the emitter."""
    P = _unique_problem()
    C = P.compile(cache_dir=tmp_path)
    name = C.module.__name__
    assert name.startswith(f"_riemannopt_gen_{P.key}")
    path = tmp_path / f"{name}.py"
    assert C.from_cache is False and C.cache_dir == tmp_path
    assert path.is_file() and "Do not edit" in path.read_text()
    assert C.module.__file__ == str(path)

    monkeypatch.delitem(sys.modules, name)

    def boom(problem):
        raise AssertionError("emit_module called on a cache hit")

    monkeypatch.setattr(codegen, "emit_module", boom)
    C2 = P.compile(cache_dir=tmp_path)
    assert C2.from_cache is True and C2.module is not C.module
    assert C2.module.__file__ == str(path)


def test_compile_honours_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RIEMANNOPT_CACHE_DIR", str(tmp_path / "env-cache"))
    P = _unique_problem()
    C = P.compile()
    assert Path(C.module.__file__) == tmp_path / "env-cache" / f"{C.module.__name__}.py"
    assert Path(C.module.__file__).is_file() and C.module.__name__.startswith(f"_riemannopt_gen_{P.key}")
    assert C.from_cache is False


def test_cache_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("RIEMANNOPT_CACHE_DIR", str(tmp_path / "a" / "b"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()  # created
    # an explicit override wins over the environment
    assert cache_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert (tmp_path / "explicit").is_dir()
    # XDG_CACHE_HOME fallback
    monkeypatch.delenv("RIEMANNOPT_CACHE_DIR")
    assert cache_dir() == tmp_path / "xdg" / "riemannopt"
    assert (tmp_path / "xdg" / "riemannopt").is_dir()
    # then ~/.cache (empty XDG_CACHE_HOME counts as unset)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert cache_dir() == tmp_path / "home" / ".cache" / "riemannopt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == tmp_path / "home" / ".cache" / "riemannopt"
    assert (tmp_path / "home" / ".cache" / "riemannopt").is_dir()
