"""How many threads the BLAS library (OpenBLAS, MKL, BLIS) may use during training.

The matrix products of :func:`riemannopt.nn.train` (the curves-small network: 2000 × 196 data,
layers of at most 196 units) and of :func:`riemannopt.rl.train` (64-64 policies on batches of
2048) are small.  On an idle 2-core machine a second BLAS thread gains at most 2× on them, and on a
loaded one OpenBLAS's threads, which spin while they wait for work, take cores from each other and
from other processes: with OpenBLAS's default of two threads an ``nn`` iteration and an ``rl``
policy update ran 17–58× slower than with one, and the processor time of ``--clock cpu`` counted
the spinning (``docs/benchmarks.md``, "BLAS threads (issue 21)").  So training runs with
:data:`DEFAULT_THREADS` BLAS threads unless someone chose otherwise; in order of precedence:

1. an explicit ``threads`` given to :func:`blas_threads` (this also rules every
   :func:`blas_threads` without a count nested inside it, such as the one
   :func:`~riemannopt.nn.train` opens);
2. the environment: when ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` or
   ``BLIS_NUM_THREADS`` is set, the library keeps the thread count it was loaded with;
3. :data:`DEFAULT_THREADS`.

Inside the context the BLAS libraries are limited through threadpoolctl; on leaving it their
previous thread counts are restored.
"""

import contextvars
import os
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from riemannopt._checks import check_number

__all__ = ["DEFAULT_THREADS", "THREAD_VARIABLES", "blas_threads"]

#: BLAS threads of a training run when neither the caller nor the environment chose.
DEFAULT_THREADS = 1

#: Environment variables by which a user chooses the BLAS libraries' thread count.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")

# The count set by the innermost blas_threads of this context, so that the defaults of nested
# calls (train inside a user's block, rl.train inside a study) leave it alone.
_chosen = contextvars.ContextVar("riemannopt_blas_threads", default=None)


def _environment_choice():
    """The first thread variable set (non-empty) in the environment, as ``(name, value)``."""
    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return name, value
    return None


@contextmanager
def blas_threads(threads=None):
    """Limit the BLAS libraries to ``threads`` threads inside the ``with`` block (or the decorated
    function), and restore their thread counts afterwards.

    Parameters
    ----------
    threads : int, optional
        The thread count (≥ 1).  None: keep an enclosing :func:`blas_threads`'s explicit choice or
        the environment's (``OPENBLAS_NUM_THREADS`` and the like, see :data:`THREAD_VARIABLES`),
        else use :data:`DEFAULT_THREADS`.

    Raises
    ------
    InputError
        ``threads`` is not an integer ≥ 1.

    Examples
    --------
    Two BLAS threads for a run on an otherwise idle machine, whatever :func:`~riemannopt.nn.train`
    would choose:

    >>> with blas_threads(2):  # doctest: +SKIP
    ...     result = train(net, X, T, "geo", 40)
    """
    if threads is None:
        if _chosen.get() is not None or _environment_choice() is not None:
            yield
            return
        threads = DEFAULT_THREADS
    else:
        threads = check_number(threads, "threads", integer=True, low=1)
    token = _chosen.set(threads)
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            yield
    finally:
        _chosen.reset(token)
