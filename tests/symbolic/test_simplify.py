"""simplify(): sympy.simplify remembered on disk, so warm processes do not simplify again."""

import pickle

import sympy as sp

import riemannopt as ro
from riemannopt.symbolic import simplify as memo

a, b = sp.symbols("a b", positive=True)
EXPR = sp.sin(a) ** 2 + sp.cos(a) ** 2 + (b**2 - 1) / (b - 1) + sp.digamma(a + 1) - 1 / a


def _fresh(monkeypatch, tmp_path):
    """A new process's view: nothing in memory, the cache in ``tmp_path``."""
    monkeypatch.setenv("RIEMANNOPT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(memo, "_memory", {})


def test_result_is_sympys_and_is_read_back_without_simplifying(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    expected = sp.simplify(EXPR)  # the independent computation
    assert memo.simplify(EXPR) == expected
    assert len(list((tmp_path / "symbolic").glob("*.pickle"))) == 1
    _fresh(monkeypatch, tmp_path)
    monkeypatch.setattr(sp, "simplify", lambda e: (_ for _ in ()).throw(AssertionError("simplified again")))
    assert memo.simplify(EXPR) == expected


def test_assumptions_are_part_of_the_key(monkeypatch, tmp_path):
    """``log(x² eˣ)`` simplifies to ``x + 2 log x`` for a positive ``x`` but only to
    ``x + log(x²)`` for a real one: the same printed expression with other assumptions is another
    entry (a shared one would give the real case the positive answer)."""
    _fresh(monkeypatch, tmp_path)
    xp, xr = sp.Symbol("x", positive=True), sp.Symbol("x", real=True)
    assert memo.simplify(sp.log(xp**2 * sp.exp(xp))) == xp + 2 * sp.log(xp)
    assert memo.simplify(sp.log(xr**2 * sp.exp(xr))) == xr + sp.log(xr**2)


def test_damaged_entry_is_simplified_again_and_rewritten(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    memo.simplify(EXPR)
    (path,) = (tmp_path / "symbolic").glob("*.pickle")
    path.write_bytes(b"\x80\x04truncated")
    _fresh(monkeypatch, tmp_path)
    assert memo.simplify(EXPR) == sp.simplify(EXPR)
    assert pickle.loads(path.read_bytes())["expr"] == sp.simplify(EXPR)


OTHER = sp.log(a**2 * sp.exp(a)) + sp.sinh(b) / sp.cosh(b)


def test_entry_under_another_keys_name_is_a_miss_and_is_rewritten(monkeypatch, tmp_path):
    """A valid entry copied over another key's file (before: read back as that key's result in
    every later process, a wrong problem) is a miss: the next process gets sympy's own
    simplification of its expression (the independent computation) and rewrites the file with
    its own entry, which a later process reads back without simplifying."""
    _fresh(monkeypatch, tmp_path)
    memo.simplify(EXPR)
    (path,) = (tmp_path / "symbolic").glob("*.pickle")
    memo.simplify(OTHER)
    (other,) = set((tmp_path / "symbolic").glob("*.pickle")) - {path}
    other.write_bytes(path.read_bytes())
    _fresh(monkeypatch, tmp_path)
    expected = sp.simplify(OTHER)
    assert expected != sp.simplify(EXPR)
    assert memo.simplify(OTHER) == expected
    assert pickle.loads(other.read_bytes())["expr"] == expected
    _fresh(monkeypatch, tmp_path)
    monkeypatch.setattr(sp, "simplify", lambda e: (_ for _ in ()).throw(AssertionError("simplified again")))
    assert memo.simplify(OTHER) == expected and memo.simplify(EXPR) != expected


def test_entry_of_the_older_format_is_rewritten(monkeypatch, tmp_path):
    """An entry written before entries held their key (a bare expression) is a miss, then
    rewritten with its key: sympy's simplification either way."""
    _fresh(monkeypatch, tmp_path)
    memo.simplify(EXPR)
    (path,) = (tmp_path / "symbolic").glob("*.pickle")
    path.write_bytes(pickle.dumps(sp.Integer(7)))
    _fresh(monkeypatch, tmp_path)
    assert memo.simplify(EXPR) == sp.simplify(EXPR)
    entry = pickle.loads(path.read_bytes())
    assert entry["expr"] == sp.simplify(EXPR) and path.stem == entry["key"][:32]


def test_unwritable_cache_only_costs_time(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    (tmp_path / "a-file").write_text("")
    monkeypatch.setattr(memo, "_path", lambda key: tmp_path / "a-file" / "symbolic" / f"{key}.pickle")
    assert memo.simplify(EXPR) == sp.simplify(EXPR)


def test_warm_fisher_metric_and_reparameterization_do_not_simplify(monkeypatch, tmp_path):
    """Building the Gamma problem in the squares parameterization a second time (a warm process)
    reads every simplification back and gives the same metric."""
    _fresh(monkeypatch, tmp_path)
    first = ro.models.gamma_mle(ro.models.gamma_data()).reparameterize(*ro.models.GAMMA_REPARAMS["squares"])
    _fresh(monkeypatch, tmp_path)
    monkeypatch.setattr(sp, "simplify", lambda e: (_ for _ in ()).throw(AssertionError("simplified again")))
    again = ro.models.gamma_mle(ro.models.gamma_data()).reparameterize(*ro.models.GAMMA_REPARAMS["squares"])
    assert again.metric.matrix == first.metric.matrix and again.key == first.key


def test_without_a_cache_directory_results_stay_in_memory(monkeypatch, tmp_path):
    """The symbolic layer alone (no code generator to say where the cache is) still works."""
    _fresh(monkeypatch, tmp_path)
    monkeypatch.setattr(memo, "_directory", None)
    assert memo.simplify(EXPR) == sp.simplify(EXPR)
    assert not (tmp_path / "symbolic").exists()
