"""The tree follows its ruff configuration (pyproject.toml): lint, import order, formatting."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*args):
    exe = shutil.which("ruff")
    cmd = [exe, *args] if exe else [sys.executable, "-m", "ruff", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args", [("check", "."), ("format", "--check", ".")], ids=["lint", "format"])
def test_ruff(args):
    pytest.importorskip("ruff", reason="ruff is in the 'test' extra")
    proc = _ruff(*args)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
