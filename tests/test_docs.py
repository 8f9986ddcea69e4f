"""The Sphinx documentation builds with warnings as errors, works offline, and its gallery runs
every example (in quick mode).

A broken reST in a docstring, a bad cross-reference, a missing page or an example that fails
fails this test; so does any page that loads a script or a stylesheet from another host (the
maths must render without a network).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs") / "html"
    env = dict(os.environ, RIEMANNOPT_EXAMPLE_QUICK="1", MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert proc.returncode == 0, f"sphinx -W failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return out


def test_pages_and_api_reference(html):
    for page in [
        "index.html",
        "mathematics.html",
        "api.html",
        "tutorials/invariance.html",
        "errors.html",
        "nn_training.html",
        "nn_cuda.html",
        "rl.html",
        "gallery/index.html",
    ]:
        assert (html / page).is_file(), f"{page} was not built"
    assert (html / "_images" / "gamma.png").is_file() or (html / "_static" / "gamma.png").is_file()
    api = (html / "api.html").read_text(encoding="utf-8")
    for name in ["riemannopt.optimize", "riemannopt.Problem.reparameterize", "riemannopt.models.gamma_mle"]:
        assert f'id="{name}"' in api, f"{name} is missing from the API reference"
    # Signatures and numpy-style sections are rendered, not raw text.
    assert re.search(r'<span class="sig-name descname"><span class="pre">optimize</span>', api)
    assert "Parameters" in api and "Returns" in api and "Raises" in api


def test_gallery_shows_every_example_with_its_figure_and_downloads(html):
    examples = sorted((ROOT / "examples").glob("[0-9][0-9]_*.py"))
    assert examples
    for ex in examples:
        page = html / "gallery" / f"{ex.stem}.html"
        assert page.is_file(), f"no gallery page for {ex.name}"
        text = page.read_text(encoding="utf-8")
        assert re.search(r'<img [^>]*src="[^"]*sphx_glr_' + ex.stem + r'_\d+\.png"', text), f"{ex.name}: no figure"
        assert f"{ex.stem}.py" in text and f"{ex.stem}.ipynb" in text, f"{ex.name}: no downloads"


def test_no_page_loads_anything_from_another_host(html):
    """Every script and stylesheet is served from the built docs; MathJax in particular."""
    remote = re.compile(r'<(?:script|link)\b[^>]*(?:src|href)="(?:https?:)?//[^"]*"')
    offenders = {}
    for page in html.rglob("*.html"):
        found = remote.findall(page.read_text(encoding="utf-8"))
        if found:
            offenders[str(page.relative_to(html))] = found[:2]
    assert not offenders, offenders
    maths = (html / "mathematics.html").read_text(encoding="utf-8")  # pages without maths load no MathJax
    mathjax = re.search(r'<script [^>]*src="([^"]*mathjax[^"]*)"', maths)
    assert mathjax and (html / mathjax.group(1).split("?")[0]).is_file()
