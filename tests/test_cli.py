"""The riemannopt command."""

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


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
