"""BLAS threads during training (issue 21): ``nn.train`` and ``rl.train`` run with
:data:`~riemannopt._threads.DEFAULT_THREADS` BLAS threads unless the caller or the environment
chose, and give the library its thread count back afterwards.

The independent measurement is threadpoolctl's ``threadpool_info()``, which asks each loaded
BLAS library for its own current thread count (``openblas_get_num_threads`` and the like), read
from inside the training loop through its callback.
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from riemannopt._threads import DEFAULT_THREADS, THREAD_VARIABLES, blas_threads
from riemannopt.errors import InputError
from riemannopt.nn import MLP, train
from riemannopt.nn.datasets import curves

OTHER = DEFAULT_THREADS + 1


def blas_counts():
    """The current thread count of every loaded BLAS library."""
    return {i["filepath"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


@pytest.fixture
def library_at_other(monkeypatch):
    """The BLAS libraries at :data:`OTHER` threads (as if loaded so), no thread variable set;
    yields their counts."""
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with threadpool_limits(limits=OTHER, user_api="blas"):
        counts = blas_counts()
        if not counts or set(counts.values()) != {OTHER}:
            pytest.skip(f"no BLAS library here runs {OTHER} threads: {counts}")
        yield counts


def train_counts(**options):
    """Train a tiny auto-encoder for 3 iterations; the BLAS counts seen by each callback."""
    d = curves(40, 10, size=5, seed=0)
    net = MLP([25, 6, 25], ["sigmoid", "sigmoid"], "bce")
    seen = []
    res = train(net, d.X_train, d.X_train, "ng", 3, callback=lambda k, r, t: seen.append(blas_counts()), **options)
    assert len(seen) == 3
    return res, seen


def test_nn_train_uses_the_default_and_restores(library_at_other):
    """Inside every iteration each BLAS library runs DEFAULT_THREADS threads; afterwards it is
    back at the count it had (threadpool_info before, in and after)."""
    _, seen = train_counts()
    assert all(set(s.values()) == {DEFAULT_THREADS} for s in seen), seen
    assert blas_counts() == library_at_other


@pytest.mark.parametrize("variable", THREAD_VARIABLES)
def test_nn_train_keeps_the_users_environment_choice(library_at_other, monkeypatch, variable):
    """With a thread variable set, train leaves the library at the count it was loaded with."""
    monkeypatch.setenv(variable, str(OTHER))
    _, seen = train_counts()
    assert all(s == library_at_other for s in seen), seen
    assert blas_counts() == library_at_other


def test_explicit_count_wins_over_environment_and_default(library_at_other, monkeypatch):
    """``blas_threads(n)`` around train rules inside it, over a thread variable asking for
    another count; on leaving, the library is back at its own count."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(OTHER))
    with blas_threads(DEFAULT_THREADS):
        _, seen = train_counts()
        assert all(set(s.values()) == {DEFAULT_THREADS} for s in seen), seen
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    with threadpool_limits(limits=1, user_api="blas"), blas_threads(OTHER):
        _, seen = train_counts()
        assert all(s == library_at_other for s in seen), seen
        assert blas_counts() == library_at_other
    assert blas_counts() == library_at_other


class Stop(Exception):
    pass


def stop(k, record, theta):
    raise Stop


def interrupt(k, record, theta):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "callback, outcome",
    [(stop, Stop), (interrupt, "interrupted")],
    ids=["exception", "ctrl-c"],
)
def test_counts_restored_when_training_ends_early(library_at_other, callback, outcome):
    """An exception out of the loop, and Ctrl-C (which train turns into an interrupted result),
    leave the library at its own count."""
    d = curves(40, 10, size=5, seed=0)
    net = MLP([25, 6, 25], ["sigmoid", "sigmoid"], "bce")
    if outcome is Stop:
        with pytest.raises(Stop):
            train(net, d.X_train, d.X_train, "ng", 3, callback=callback)
    else:
        assert train(net, d.X_train, d.X_train, "ng", 3, callback=callback).interrupted
    assert blas_counts() == library_at_other


def test_rl_train_uses_the_default_and_restores(library_at_other):
    """Every batch of rl.train (seen from ``on_batch``) runs at DEFAULT_THREADS threads; the
    library's count is back afterwards."""
    pytest.importorskip("gymnasium")
    from riemannopt import rl

    seen = []
    config = rl.RLConfig(n_envs=1, n_steps=16, hidden=(4,), vf_epochs=1)
    rl.train("Pendulum-v1", "geo", 32, config=config, on_batch=lambda n: seen.append(blas_counts()))
    assert len(seen) == 2
    assert all(set(s.values()) == {DEFAULT_THREADS} for s in seen), seen
    assert blas_counts() == library_at_other


def test_nested_default_keeps_the_enclosing_choice(library_at_other):
    """``blas_threads()`` inside ``blas_threads(n)`` changes nothing; an explicit inner count
    applies until its block ends."""
    with blas_threads(OTHER):
        with blas_threads():
            assert blas_counts() == library_at_other
        with blas_threads(1):
            assert set(blas_counts().values()) == {1}
        assert blas_counts() == library_at_other


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True, np.nan], ids=repr)
def test_bad_thread_counts(threads):
    """A count that is not an integer ≥ 1 is an InputError naming ``threads`` and the value."""
    with pytest.raises(InputError, match=r"threads must be an integer >= 1, got"):
        with blas_threads(threads):
            pass
