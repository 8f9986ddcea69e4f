"""Shared test setup: an isolated codegen cache, a headless matplotlib, a few session fixtures.

``RIEMANNOPT_CACHE_DIR`` is pointed at a fresh temporary directory for the session unless it is
already set (CI sets it to reuse compiled modules between runs).  It is set at import time, before
any test module can compile a problem.
"""

import os
import shutil
import tempfile

import pytest

os.environ["MPLBACKEND"] = "Agg"

_OWN_CACHE = None
if "RIEMANNOPT_CACHE_DIR" not in os.environ:
    _OWN_CACHE = tempfile.mkdtemp(prefix="riemannopt-test-cache-")
    os.environ["RIEMANNOPT_CACHE_DIR"] = _OWN_CACHE


def pytest_unconfigure(config):
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def gamma_problem():
    """The paper's Gamma MLE problem (§7.1) on its synthetic data set."""
    import riemannopt as ro

    return ro.models.gamma_mle(ro.models.gamma_data())


@pytest.fixture(scope="session")
def gamma_compiled(gamma_problem):
    return gamma_problem.compile()


@pytest.fixture(scope="session")
def polar_problem():
    import riemannopt as ro

    return ro.models.polar_plane()


@pytest.fixture(scope="session")
def sphere_problem():
    import riemannopt as ro

    return ro.models.sphere()


@pytest.fixture(scope="session")
def half_plane_problem():
    import riemannopt as ro

    return ro.models.poincare_half_plane()
