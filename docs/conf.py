"""Sphinx configuration of the riemannopt documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` (``-W``: warnings are errors;
``tests/test_docs.py`` does exactly this, with the examples in quick mode).  Nothing here needs
the network: MathJax is served from the built documentation (``sphinx-mathjax-offline``), and
``tests/test_docs.py`` checks that no page loads a script from another host.

The gallery (``docs/gallery``, generated, not committed) is built by sphinx-gallery from the
scripts in ``examples/``; each is run once (set ``RIEMANNOPT_EXAMPLE_QUICK=1`` for the short
versions the test suite uses) and every matplotlib ``Figure`` it binds to a variable is shown.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # document the checkout, installed or not
sys.path.insert(0, str(HERE))  # gallery_scraper, method_table

# Importing riemannopt for autodoc compiles nothing, but keep numba's and riemannopt's caches out
# of the user's home when the docs are built in a sandbox, and never open a plot window.
os.environ.setdefault("MPLBACKEND", "Agg")

import riemannopt  # noqa: E402

# -- project ------------------------------------------------------------------------------------
project = "riemannopt"
author = "the riemannopt authors"
copyright = "2018–2025, the riemannopt authors; the method is Song, Song & Ermon (ICML 2018)"
release = riemannopt.__version__
version = ".".join(release.split(".")[:2])

# -- general ------------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
    "method_table",  # docs/method_table.py: the method table, from the registry
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "benchmarks.md", "Thumbs.db", ".DS_Store", "gallery/*.ipynb", "gallery/*.py"]
templates_path = []
nitpicky = False
default_role = "code"  # `x` renders as inline code, not as a cross-reference
pygments_style = "sphinx"
# Types in numpy-style docstrings ("ndarray, shape (m, n)") become cross-references word by word;
# a word such as ``n`` then matches several attributes (Metric.n, Problem.n) and Sphinx warns that
# the reference is ambiguous.  Those words are not meant as references: silence only that check.
suppress_warnings = ["ref.python"]

# -- autodoc / napoleon ---------------------------------------------------------------------------
autodoc_default_options = {"members": True, "member-order": "bysource", "show-inheritance": True}
autodoc_typehints = "none"  # the docstrings state the types (numpy style)
autodoc_preserve_defaults = True
autoclass_content = "class"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True
napoleon_preprocess_types = False

# -- gallery ------------------------------------------------------------------------------------


sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "gallery",
    "filename_pattern": r"/\d\d_",  # run every numbered lesson
    "image_scrapers": ("gallery_scraper.figure_scraper",),  # docs/gallery_scraper.py
    "abort_on_example_error": True,
    "download_all_examples": True,
    "show_memory": False,
    "min_reported_time": 1,
    "write_computation_times": False,  # that page loads its styles and scripts from CDNs
    "within_subsection_order": "FileNameSortKey",
}

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"riemannopt {release}"
html_theme_options = {
    "description": "Geometry of natural-gradient optimization: invariance, convergence order, geodesic correction",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
}

# -- optional pages -----------------------------------------------------------------------------
# docs/nn_connection.rst is written separately.  index.rst lists it in its toctree; while the file
# does not exist that entry is dropped here, so the -W build passes either way (a toctree entry
# naming a missing document is a warning, and so is a document outside every toctree); so are
# :doc: links to it elsewhere, which become plain text meanwhile.
OPTIONAL_PAGES = ["nn_connection"]


def _drop_missing_pages(app, docname, source):
    for page in OPTIONAL_PAGES:
        if (HERE / f"{page}.rst").exists():
            continue
        text = source[0].replace(f":doc:`{page}`", "the page on neural networks (to come)")
        if docname == root_doc:
            text = "\n".join(line for line in text.split("\n") if line.strip() != page)
        source[0] = text


def setup(app):
    app.connect("source-read", _drop_missing_pages)
