"""Compute backends of :class:`riemannopt.nn.MLP`: one contract, one registry.

:class:`~riemannopt.nn.backends.base.Backend` states what a backend computes; each backend is
one subclass, registered here by name.  Backends are imported only when asked for, so a
missing optional dependency (numba-cuda, a GPU) affects nobody who does not ask for it.

To add a backend: subclass :class:`~riemannopt.nn.backends.base.Backend` in a module of this
package, implement every abstract method, taking the activations and the loss from their
classes' compiled forms rather than naming any (``tests/nn/test_backend_conformance.py`` then
checks it against the numpy backend for every activation and loss), and add its
``"name": "module:Class"`` entry to :data:`BACKENDS`.
"""

import importlib

from riemannopt.errors import BackendUnavailableError, MethodError
from riemannopt.nn.backends.base import Backend

__all__ = ["Backend", "BACKENDS", "get_backend", "available_backends"]

#: Every backend riemannopt knows: ``{name: "module:Class"}`` (imported on first use).
BACKENDS = {
    "numpy": "riemannopt.nn.backends.numpy_backend:NumpyBackend",
    "cuda": "riemannopt.nn.backends.cuda:CudaBackend",
}


def get_backend(name):
    """The :class:`Backend` subclass called ``name``, checked to be usable here.

    Raises
    ------
    MethodError
        For an unknown name.
    BackendUnavailableError
        When the backend cannot run on this machine (its message names what is missing).
    """
    if not isinstance(name, str) or name not in BACKENDS:
        raise MethodError(f"unknown nn backend {name!r}; expected one of {list(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    try:
        backend = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise BackendUnavailableError(f"the {name!r} backend of riemannopt.nn cannot be imported: {exc}") from exc
    backend.check_available()
    return backend


def available_backends():
    """Names of the backends that can run on this machine."""
    names = []
    for name in BACKENDS:
        try:
            get_backend(name)
        except BackendUnavailableError:
            continue
        names.append(name)
    return names
