"""Fault injection into the codegen cache (issue 8): every fault heals without deleting files by hand.

Each test damages the cache the way a crash, a full disk, a read-only file system or a concurrent
process could, compiles again, and checks the values of the compiled functions against the
closed forms of the test problem (computed here with numpy: an independent computation):

    g(t) = 1 + t²,  L(t) = (t − c)²/2 + k t³,
    ∇L = t − c + 3k t²,  d = −∇L / g,  Γ^t_tt = g'/(2g) = t / (1 + t²),  Γ(v, v) = Γ^t_tt v².
"""

import errno
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
from riemannopt.codegen import cache as cache_module
from riemannopt.errors import CacheWarning, CompileError

REPO = Path(ro.__file__).resolve().parents[1]
T0, V0, C0 = 0.7, 1.3, 1.5


def problem(k):
    """A 1-D problem whose key no other test produces (``k`` makes it new; the coordinate's name
    sets it apart from test_cache.py's otherwise equal problems)."""
    t, c = sp.symbols("t_faults c", real=True)
    return ro.Problem(
        ro.Metric([t], [[1 + t**2]]), (t - c) ** 2 / 2 + sp.Integer(k) * t**3, params={c: C0}, domain=[t > -10]
    )


def closed_forms(k, t=T0, v=V0):
    g = 1 + t * t
    grad = t - C0 + 3 * k * t * t
    return {
        "loss": (t - C0) ** 2 / 2 + k * t**3,
        "grad": [grad],
        "direction": [-grad / g],
        "gamma_vv": [t / g * v * v],
        "metric": [[g]],
    }


def assert_values(C, k):
    want = closed_forms(k)
    x, v = np.array([T0]), np.array([V0])
    assert C.loss(x) == pytest.approx(want["loss"], rel=1e-14)
    np.testing.assert_allclose(C.grad(x), want["grad"], rtol=1e-14)
    np.testing.assert_allclose(C.direction(x), want["direction"], rtol=1e-14)
    np.testing.assert_allclose(C.gamma_vv(x, v), want["gamma_vv"], rtol=1e-14)


_COUNT = iter(range(1, 10**6))


def fresh_k():
    return 1000 * os.getpid() + next(_COUNT)


def forget(C, monkeypatch):
    """Make the next compile load from disk, as a new process would."""
    monkeypatch.delitem(sys.modules, C.module.__name__)


@pytest.fixture
def no_fallback_yet(monkeypatch):
    """A process that has not fallen back to a private cache yet."""
    monkeypatch.setattr(cache_module, "_FALLBACK", {})


# -- damaged generated modules ------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["truncated", "empty", "edited"])
def test_damaged_module_is_regenerated(tmp_path, monkeypatch, damage):
    """A module cut after its first function still imports but lacks ``loss`` (before: an
    AttributeError in every later process); an empty one imports and lacks everything; an edited
    one no longer matches its checksum.  Each is regenerated, complete, on the next compile."""
    k = fresh_k()
    C = problem(k).compile(cache_dir=tmp_path)
    path = Path(C.module.__file__)
    good = path.read_text()
    if damage == "truncated":
        bad = good[: good.index("@njit", good.index("def metric"))]
    elif damage == "empty":
        bad = ""
    else:
        bad = good.replace("out[0, 0] = ", "out[0, 0] = 2 * ", 1)
    assert bad != good
    path.write_text(bad)
    forget(C, monkeypatch)
    C2 = problem(k).compile(cache_dir=tmp_path)
    assert C2.from_cache is False
    assert path.read_text() == good
    assert_values(C2, k)
    np.testing.assert_allclose(C2.metric([T0]), closed_forms(k)["metric"], rtol=1e-15)


# -- damaged numba cache files --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["nbi", "nbc"])
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_numba_cache_files_are_rebuilt(tmp_path, monkeypatch, kind, damage):
    """numba's index (.nbi) or data (.nbc) file of ``loss`` is overwritten with garbage or cut in
    half (before: an UnpicklingError or EOFError at the first call in every later process).  The
    next load deletes that function's files with one CacheWarning naming the module, the
    directory and the function, numba compiles it afresh, and its new cache reads."""
    k = fresh_k()
    C = problem(k).compile(cache_dir=tmp_path)
    assert_values(C, k)  # numba writes its cache files
    name = C.module.__name__
    [target] = (tmp_path / "__pycache__").glob(f"{name}.loss-*.{kind}")
    data = target.read_bytes()
    target.write_bytes(b"\x80\x04not a pickle" if damage == "garbage" else data[: len(data) // 2])
    forget(C, monkeypatch)
    with pytest.warns(CacheWarning) as record:
        C2 = problem(k).compile(cache_dir=tmp_path)
    [warning] = [str(w.message) for w in record if issubclass(w.category, CacheWarning)]
    assert f"numba's cache of {name} in {target.parent}" in warning and "loss compiled afresh" in warning, warning
    assert C2.from_cache is True  # the generated source itself was fine
    assert_values(C2, k)
    assert C2.module.loss.stats.cache_misses  # recompiled, not loaded from the damaged file
    forget(C2, monkeypatch)
    C3 = problem(k).compile(cache_dir=tmp_path)
    assert cache_module.heal_numba_cache(C3.module) == []  # what numba wrote anew reads back
    assert_values(C3, k)
    assert C3.module.loss.stats.cache_hits and not C3.module.loss.stats.cache_misses


def test_numba_index_naming_another_functions_data_file(tmp_path, monkeypatch):
    """``loss``'s index, still a valid pickle, names ``grad``'s data file for its signature (an
    index and data files out of step, as a copied file leaves them; before: numba loaded grad's
    code as loss).  The next load forgets loss's files with one CacheWarning, and loss computes
    the closed form again."""
    k = fresh_k()
    C = problem(k).compile(cache_dir=tmp_path)
    assert_values(C, k)
    name = C.module.__name__
    [index] = (tmp_path / "__pycache__").glob(f"{name}.loss-*.nbi")
    [grad_data] = (tmp_path / "__pycache__").glob(f"{name}.grad-*.nbc")
    with open(index, "rb") as f:
        version = pickle.load(f)
        stamp, overloads = pickle.loads(f.read())
    overloads = dict.fromkeys(overloads, grad_data.name)
    index.write_bytes(pickle.dumps(version, protocol=-1) + pickle.dumps((stamp, overloads), protocol=-1))
    forget(C, monkeypatch)
    with pytest.warns(CacheWarning, match="names another function's data file") as record:
        C2 = problem(k).compile(cache_dir=tmp_path)
    assert len([w for w in record if issubclass(w.category, CacheWarning)]) == 1
    assert_values(C2, k)
    assert C2.module.loss.stats.cache_misses  # compiled afresh, not loaded from grad's file


def test_damaged_numba_file_that_cannot_be_deleted(tmp_path, monkeypatch):
    """A damaged index in a location where files cannot be deleted (injected PermissionError):
    numba's cache is switched off for that function (a CacheWarning says so), which compiles in
    memory and computes the closed-form values; the damaged file stays untouched."""
    k = fresh_k()
    C = problem(k).compile(cache_dir=tmp_path)
    assert_values(C, k)
    [index] = (tmp_path / "__pycache__").glob(f"{C.module.__name__}.loss-*.nbi")
    index.write_bytes(b"garbage")
    forget(C, monkeypatch)

    def unlink(self, missing_ok=False):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.warns(CacheWarning, match="cannot be deleted, so those functions are compiled in memory"):
        C2 = problem(k).compile(cache_dir=tmp_path)
    assert_values(C2, k)
    assert index.read_bytes() == b"garbage"


# -- cache directories that cannot be written --------------------------------------------------------------
def _compile_twice_with_one_warning(cache, recwarn):
    """Two new problems compile and compute correct values; one CacheWarning names the directory."""
    ks = [fresh_k(), fresh_k()]
    for k in ks:
        C = problem(k).compile(cache_dir=cache)
        assert_values(C, k)
        assert Path(C.module.__file__).parent != Path(cache)
    warned = [w for w in recwarn if issubclass(w.category, CacheWarning)]
    assert len(warned) == 1, [str(w.message) for w in warned]
    assert str(cache) in str(warned[0].message) and "private directory" in str(warned[0].message)
    return Path(C.module.__file__).parent


def test_cache_path_under_a_regular_file(tmp_path, recwarn, no_fallback_yet):
    """A cache directory below a regular file cannot be created (before: NotADirectoryError)."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    private = _compile_twice_with_one_warning(blocker / "cache", recwarn)
    assert blocker.read_text() == "not a directory" and private.is_dir()


def test_write_refused_by_a_read_only_file_system(tmp_path, monkeypatch, recwarn, no_fallback_yet):
    """The file system refuses every write into the cache directory (EROFS, injected: it works
    for root too); compiles fall back to a private directory and leave nothing behind."""
    cache = tmp_path / "ro-cache"
    cache.mkdir()
    real_mkstemp = cache_module.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kw):
        if Path(dir) == cache:
            raise OSError(errno.EROFS, "Read-only file system", str(cache))
        return real_mkstemp(*args, dir=dir, **kw)

    monkeypatch.setattr(cache_module.tempfile, "mkstemp", mkstemp)
    _compile_twice_with_one_warning(cache, recwarn)
    assert list(cache.iterdir()) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="running as root, chmod does not stop writes; "
                    "test_write_refused_by_a_read_only_file_system injects the same failure")  # fmt: skip
def test_read_only_cache_directory(tmp_path, recwarn, no_fallback_yet):
    cache = tmp_path / "ro-cache"
    cache.mkdir()
    cache.chmod(0o555)
    try:
        _compile_twice_with_one_warning(cache, recwarn)
        assert list(cache.iterdir()) == []
    finally:
        cache.chmod(0o755)


def test_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch, no_fallback_yet):
    """Renaming the written file into place fails everywhere (before: a raw OSError and a
    ``*.tmp`` file left in the cache): a CompileError, and no temporary file anywhere."""

    def replace(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", dst)

    monkeypatch.setattr(cache_module.os, "replace", replace)
    with (
        pytest.warns(CacheWarning),
        pytest.raises(CompileError, match="cannot write the generated module to .* nor to"),
    ):
        problem(fresh_k()).compile(cache_dir=tmp_path)
    private = cache_module._FALLBACK[tmp_path]
    assert not list(tmp_path.rglob("*.tmp")) and not list(private.rglob("*.tmp"))


# -- concurrent processes ----------------------------------------------------------------------------------
_CHILD = """
import json, os, sys, time
import numpy as np
sys.path.insert(0, {tests!r})
from test_cache_faults import problem

k, go = int(sys.argv[1]), sys.argv[2]
open(go + f".ready-{{os.getpid()}}", "w").close()
while not os.path.exists(go):  # start compiling together
    time.sleep(0.005)
C = problem(k).compile()
x, v = np.array([{t}]), np.array([{v}])
values = {{"loss": C.loss(x), "grad": C.grad(x).tolist(), "direction": C.direction(x).tolist(),
          "gamma_vv": C.gamma_vv(x, v).tolist()}}
stats = {{f: [sum(getattr(C.module, f).stats.cache_hits.values()), sum(getattr(C.module, f).stats.cache_misses.values())]
          for f in ("loss", "grad", "direction", "gamma_vv")}}
print(json.dumps({{"values": values, "from_cache": C.from_cache, "stats": stats}}))
"""


def _spawn(cache, k, go):
    env = dict(os.environ, RIEMANNOPT_CACHE_DIR=str(cache))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    code = _CHILD.format(tests=str(Path(__file__).parent), t=T0, v=V0)
    return subprocess.Popen(
        [sys.executable, "-c", code, str(k), str(go)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _results(procs):
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_compiling_the_same_new_problem_at_once(tmp_path, processes):
    """``processes`` fresh processes compile the same new problem into an empty cache at the same
    moment: all succeed with the closed-form values (rtol 1e-14), the cache holds one complete
    module and no temporary file, and (after four) a later process finds the source and numba's
    machine code (hits, no misses): concurrent writes of both caches left them consistent."""
    cache, go, k = tmp_path / "cache", tmp_path / "go", fresh_k()
    procs = [_spawn(cache, k, go) for _ in range(processes)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.01)  # every process has imported riemannopt
    go.touch()
    want = closed_forms(k)
    for r in _results(procs):
        assert r["values"]["loss"] == pytest.approx(want["loss"], rel=1e-14)
        for f in ("grad", "direction", "gamma_vv"):
            np.testing.assert_allclose(r["values"][f], want[f], rtol=1e-14)
    modules = list(cache.glob("_riemannopt_gen_*.py"))
    assert len(modules) == 1 and cache_module._read_entry(modules[0]) is not None
    assert not list(cache.rglob("*.tmp")) and not list(cache.rglob("*.tmp.*"))
    if processes == 4:  # one later process suffices to check what the most writers left
        [later] = _results([_spawn(cache, k, go)])
        assert later["from_cache"] is True and later["values"] == r["values"]
        for f, (hits, misses) in later["stats"].items():
            assert hits >= 1 and misses == 0, (f, hits, misses)
