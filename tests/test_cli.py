"""The riemannopt command: the Gamma figure, and argument checking before any work starts."""

import pytest

from riemannopt.cli import main


def test_gamma_command_writes_figure_and_table(tmp_path, capsys):
    out = tmp_path / "fig.png"
    assert main(["gamma", "--steps", "3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ng(exact)" in text and "spread" in text and "after 3 iterations" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gamma_command_reports_failures_with_partial_results(tmp_path, capsys):
    """A huge learning rate makes some methods leave the domain: the command still prints the
    table (with the partial runs), names each failure, and exits with status 1."""
    out = tmp_path / "fig.png"
    assert main(["gamma", "--steps", "3", "--lr", "50", "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "failed" in text and "outside the domain" in text
    assert out.exists()


BAD_USAGE = [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["gamma", "--lr", "-1"], "--lr: expected a positive finite number, got '-1'"),
    (["gamma", "--lr", "nan"], "--lr: expected a positive finite number, got 'nan'"),
    (["gamma", "--steps", "0"], "--steps: expected a positive integer, got '0'"),
    (["gamma", "--out", "{missing}/fig.png"], "does not exist"),
    (["gamma", "--out", "fig.nosuchformat"], "cannot write a figure as '.nosuchformat'"),
    (["gamma", "--out", "{tmp}"], "is a directory"),
    (["orders", "--problem", "rosenbrock"], "invalid choice: 'rosenbrock'"),
    (["orders", "--problem", "gaussian", "--reparam", "squares"], "unknown reparameterization 'squares' of gaussian"),
    (["orders", "--steps", "16"], "--steps: need at least two positive step counts"),
    (["orders", "--steps", "16,16,32"], "--steps: step counts must be distinct"),
    (["orders", "--T", "0"], "--T: expected a positive finite number"),
    (["invariance", "--reparam", "cubes"], "unknown reparameterization 'cubes' of gamma"),
    (["invariance", "--reparam", "identity"], "compares a method with itself"),
    (["invariance", "--methods", "ng,adam"], "--methods: unknown method adam"),
    (["invariance", "--methods", "ng,ng"], "methods must be distinct"),
]


@pytest.mark.parametrize("argv, message", BAD_USAGE, ids=[" ".join(a) for a, _ in BAD_USAGE])
def test_bad_usage_exits_2_with_one_line_before_any_work(argv, message, tmp_path, monkeypatch, capsys):
    """Every argument is checked before computing: exit status 2, exactly one line on stderr
    naming the argument, and nothing compiled (the codegen cache stays empty)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("RIEMANNOPT_CACHE_DIR", str(cache))
    argv = [a.format(missing=tmp_path / "missing", tmp=tmp_path) for a in argv]
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and message in err, err
    assert not any(cache.iterdir())


def test_default_reparameterization_of_each_problem_is_valid():
    """Each catalogue problem has its own default --reparam (the Gaussian has no 'squares'), and
    --help lists every problem's choices."""
    from riemannopt.cli import build_parser
    from riemannopt.experiments import STUDY_PROBLEMS, check_study_problem

    for name, entry in STUDY_PROBLEMS.items():
        assert check_study_problem(name)[1] == entry.default_reparam != "identity"
    text = build_parser()._subparsers._group_actions[0].choices["orders"].format_help()
    for entry in STUDY_PROBLEMS.values():
        assert all(r in text for r in entry.reparams)


@pytest.mark.parametrize("command", ["orders", "invariance"])
@pytest.mark.parametrize("problem", ["gaussian", "half-plane"])
def test_default_studies_of_each_problem_pass(problem, command, tmp_path, capsys):
    """With no --reparam and --steps, every registered method's fitted order on each catalogue
    problem is within 0.15 of the order the registry declares (the fits are against the exact flow,
    Riemannian Euler or the base coordinates' run, computed independently per step count).  The
    defaults of gamma and polar are the ones tests/integrators/test_registry.py fits."""
    assert main([command, "--problem", problem, "--out", str(tmp_path / "f.png")]) == 0, capsys.readouterr().out
    assert "FAIL" not in capsys.readouterr().out


def test_orders_exit_status_follows_the_table(tmp_path, capsys):
    """Step counts 1 and 2 are far from the asymptotic regime: rows fail, the table's passed
    field is False, and the command exits 1 after writing its figure (the decision is the
    table's, not a search of the printed text)."""
    from riemannopt.cli import main
    from riemannopt.experiments import study_problem, theorem1_table

    problem, x0 = study_problem("gamma", "squares")
    table = theorem1_table(problem, x0, steps_list=[1, 2])
    assert not table.passed and not all(table.marks) and any(table.marks)
    out = tmp_path / "orders.png"
    assert main(["orders", "--steps", "1,2", "--out", str(out)]) == 1
    assert "FAIL" in capsys.readouterr().out and out.stat().st_size > 5000
    assert main(["orders", "--steps", "16,32,64", "--out", str(out)]) == 0
    assert "FAIL" not in capsys.readouterr().out


def test_invariance_exit_status_and_figure(tmp_path, capsys):
    """``riemannopt invariance`` exits 0 and writes its figure when every method meets its
    expected order, and 1 (figure still written) when one does not: at 2 and 4 steps ng's gap
    is far from its asymptotic slope."""
    from riemannopt.cli import main

    out = tmp_path / "invariance.png"
    assert main(["invariance", "--methods", "ng,geo,re", "--steps", "32,64,128", "--out", str(out)]) == 0
    assert "FAIL" not in capsys.readouterr().out and out.stat().st_size > 5000
    out.unlink()
    assert main(["invariance", "--methods", "ng,geo", "--steps", "2,4", "--out", str(out)]) == 1
    assert "FAIL" in capsys.readouterr().out and out.stat().st_size > 5000


def test_a_command_defines_only_its_own_arguments():
    """``riemannopt orders`` does not import the network package (which ``nn``'s arguments need),
    yet the top-level help lists every command and each command's parser is the full one."""
    import subprocess
    import sys

    code = (
        "import sys; from riemannopt.cli import build_parser, _command\n"
        "p = build_parser(_command(['orders', '--steps', '4,8']))\n"
        "p.parse_args(['orders', '--steps', '4,8'])\n"
        "print('riemannopt.nn' in sys.modules, sorted(p._subparsers._group_actions[0].choices))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "False", out
    assert "gamma" in out and "invariance" in out and "nn" in out and "rl" in out
    from riemannopt.cli import build_parser

    full = build_parser()._subparsers._group_actions[0].choices["nn"].format_help()
    alone = build_parser("nn")._subparsers._group_actions[0].choices["nn"].format_help()
    assert full == alone and "--dataset" in alone
