"""The Sphinx documentation builds with warnings as errors (broken reST in a docstring, a bad
cross-reference or a missing page fails this test)."""

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        print(proc.stdout)
        print(proc.stderr)
    assert proc.returncode == 0, f"sphinx -W failed:\n{proc.stderr}"
    for page in ["index.html", "mathematics.html", "api.html", "tutorials/invariance.html", "nn_training.html"]:
        assert (out / page).is_file(), f"{page} was not built"
    # The tutorial embeds the Gamma figure, and the API page documents the public functions.
    assert (out / "_images" / "gamma.png").is_file() or (out / "_static" / "gamma.png").is_file()
    api = (out / "api.html").read_text(encoding="utf-8")
    for name in ["riemannopt.optimize", "riemannopt.Problem.reparameterize", "riemannopt.models.gamma_mle"]:
        assert f'id="{name}"' in api, f"{name} is missing from the API reference"
